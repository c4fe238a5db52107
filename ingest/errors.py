"""Why an import cannot start or cannot go on. Rows that fail validation are reported, not raised."""

from __future__ import annotations


class DataImportError(Exception):
    """The import cannot start or cannot go on; nothing of the current batch was written."""


class ImportConfigError(DataImportError):
    """Bad options: unknown kind, field, format, encoding or preset."""


class ImportFileError(DataImportError):
    """The file cannot be used: unreadable, empty, wrongly encoded, or without a mapped column."""
