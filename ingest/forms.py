"""The admin's upload form: a file and how to read it; saving it starts an `import_data` job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings

from core.actors import Actor
from jobs.models import Job
from jobs.runner import JobParamsError, start_job

from .errors import DataImportError
from .importing import check_file
from .models import IMPORT_JOB_KIND
from .options import KINDS, PRESETS, ImportOptions, build_options, parse_pairs
from .reading import FORMATS, detect_format
from .uploads import errors_path_for, save_upload

FORMAT_LABELS = {"csv": "CSV (comma-separated, header line)", "tsv": "TSV (tab-separated)", "jsonl": "JSON Lines"}


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(choices=[(k, k.capitalize()) for k in KINDS], help_text="What the file holds.")
    file = forms.FileField(
        help_text="CSV or TSV with a header line, or JSON Lines (one object per line); .gz files work too. "
        "Rows are matched on their key (SKU, external id), so uploading the same file twice stores nothing twice."
    )
    preset = forms.ChoiceField(
        choices=[("", "None")] + [(p, p) for p in sorted(PRESETS)],
        required=False,
        help_text="The mapping of a known export, for each kind. online-retail: the UCI Online Retail export "
        "(InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country).",
    )
    mapping = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 4, "cols": 60, "placeholder": "sku=StockCode\nattributes.country=Country"}
        ),
        required=False,
        help_text="One field=Column per line. Columns named like a field are taken without a mapping; "
        "attributes.KEY=Column sets a key of the attributes object.",
    )
    constants = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60, "placeholder": "currency=GBP"}),
        required=False,
        help_text="One field=value per line, the same for every row, e.g. type=purchase.",
    )
    date_format = forms.CharField(
        required=False,
        help_text="How the date columns are written, as a strptime format such as %d/%m/%Y %H:%M. "
        f"Empty: ISO 8601. Times without a zone are in {settings.TIME_ZONE}.",
    )
    file_format = forms.ChoiceField(
        label="Format",
        choices=[("", "From the file name")] + [(f, FORMAT_LABELS[f]) for f in FORMATS],
        required=False,
    )
    encoding = forms.CharField(initial="utf-8", help_text="e.g. utf-8, latin-1, cp1252.")
    create_missing = forms.BooleanField(
        label="Create missing customers",
        required=False,
        help_text="Events only: an event naming an unknown customer id creates that customer (the "
        "online-retail preset does this).",
    )

    required_css_class = "required"
    options: ImportOptions

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.options = build_options(
                data["kind"],
                preset=data.get("preset") or None,
                mapping=parse_pairs(data.get("mapping"), "mapping"),
                constants=parse_pairs(data.get("constants"), "constant"),
                date_format=data.get("date_format") or None,
                file_format=data.get("file_format") or None,
                encoding=data.get("encoding"),
                create_missing=data.get("create_missing") or None,
            )
            detect_format(Path(data["file"].name), self.options.file_format)
        except DataImportError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data

    def start(self, user: Actor) -> Job | None:
        """Save the upload, check its header, and start the job; None (with a form error) when the file
        cannot be imported, in which case the saved copy is removed."""
        data = self.cleaned_data
        path = save_upload(data["file"])
        try:
            check_file(path, self.options)
        except DataImportError as exc:
            path.unlink(missing_ok=True)
            self.add_error("file", str(exc))
            return None
        params = {
            "kind": data["kind"],
            "path": str(path),
            "file_name": Path(data["file"].name).name,
            "preset": data.get("preset") or None,
            "mapping": parse_pairs(data.get("mapping"), "mapping"),
            "constants": parse_pairs(data.get("constants"), "constant"),
            "date_format": data.get("date_format") or None,
            "file_format": data.get("file_format") or None,
            "encoding": data.get("encoding") or "utf-8",
            "create_missing": data.get("create_missing") or None,
            "errors_path": str(errors_path_for(path)),
        }
        try:
            return start_job(IMPORT_JOB_KIND, params, user=user)
        except JobParamsError as exc:
            path.unlink(missing_ok=True)
            self.add_error(None, str(exc))
            return None
