"""`prepare_models` on tiny fake part files: join order, checksum, mismatch, idempotency, the command's
ModelVersion. The real 490 MB join and the one-minute conversion are not repeated here."""

from __future__ import annotations

import hashlib
import sys
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from catalog.models import ModelRole, ModelVersion
from inference import prepare
from inference.loading import ModelNotAvailable
from tests.catalog.builders import model_version

PARTS = [b"GGUF-head:", b"middle-part:", b"tail" * 1000]


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Three small part files behind fake distribution names, their joined checksum, and a fake
    conversion that records its calls (writes what a converted folder holds, atomically like the real one)."""
    source = tmp_path / "site-packages"
    files = {}
    for n, data in enumerate(PARTS, start=1):
        path = source / f"fake_part{n}" / "data" / f"part0{n}.bin"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        files[(f"fake-part{n}", f"fake_part{n}/data/part0{n}.bin")] = path
    calls: list[Path] = []
    real_package_file = prepare.loading.package_file

    def package_file(distribution: str, relative: str) -> Path:
        if (distribution, relative) in files:
            return files[(distribution, relative)]
        return real_package_file(distribution, relative)  # the embedding model, or a clear "not installed"

    def convert(gguf: Path, folder: Path) -> None:
        calls.append(gguf)
        assert gguf.read_bytes() == b"".join(PARTS)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text('{"model_type": "qwen2"}')
        (folder / "model.safetensors").write_bytes(b"\0" * 4096)

    monkeypatch.setattr(prepare.loading, "package_file", package_file)
    monkeypatch.setattr(prepare, "GGUF_PARTS", tuple(files))
    monkeypatch.setattr(prepare, "GGUF_SHA256", hashlib.sha256(b"".join(PARTS)).hexdigest())
    monkeypatch.setattr(prepare, "convert_gguf", convert)
    return {"var": tmp_path / "var", "calls": calls, "files": files}


def test_joins_in_order_checks_converts_and_deletes_the_gguf(fake_parts: dict[str, Any]) -> None:
    result = prepare.prepare_generation(fake_parts["var"], progress=False, keep_gguf=True)
    gguf = prepare.gguf_path(fake_parts["var"])
    assert result.action == "prepared"
    assert gguf.read_bytes() == b"".join(PARTS)  # checked inside the fake conversion too
    assert set(result.timings) >= {"join_and_checksum", "convert", "manifest"}
    manifest = prepare.read_manifest(result.path)
    assert manifest is not None and manifest["source_sha256"] == prepare.GGUF_SHA256
    assert manifest["files"]["model.safetensors"] == {
        "size": 4096,
        "sha256": hashlib.sha256(b"\0" * 4096).hexdigest(),
    }

    gguf.unlink()
    prepare.prepare_generation(fake_parts["var"], progress=False, force=True)
    assert not gguf.exists()  # deleted by default: it can always be joined again


def test_second_run_skips_in_well_under_a_second(fake_parts: dict[str, Any]) -> None:
    prepare.prepare_generation(fake_parts["var"], progress=False)
    started = time.perf_counter()
    again = prepare.prepare_generation(fake_parts["var"], progress=False)
    assert again.action == "ready"
    assert time.perf_counter() - started < 0.5
    assert len(fake_parts["calls"]) == 1


def test_a_damaged_folder_is_prepared_again(fake_parts: dict[str, Any]) -> None:
    folder = prepare.prepare_generation(fake_parts["var"], progress=False).path
    (folder / "model.safetensors").write_bytes(b"\0" * 10)  # truncated: the quick size check sees it
    assert prepare.manifest_problems(folder) == ["model.safetensors has 10 bytes, the manifest says 4096"]
    assert prepare.prepare_generation(fake_parts["var"], progress=False).action == "prepared"

    (folder / "model.safetensors").write_bytes(b"\1" * 4096)  # same size, other bytes: only --verify sees it
    assert prepare.prepare_generation(fake_parts["var"], progress=False).action == "ready"
    assert prepare.prepare_generation(fake_parts["var"], progress=False, verify=True).action == "prepared"
    assert len(fake_parts["calls"]) == 3


def test_a_kept_gguf_is_reused_instead_of_joined(fake_parts: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    folder = prepare.prepare_generation(fake_parts["var"], progress=False, keep_gguf=True).path
    (folder / "config.json").unlink()
    monkeypatch.setattr(prepare, "join_parts", lambda *a, **k: pytest.fail("joined again"))
    result = prepare.prepare_generation(fake_parts["var"], progress=False)
    assert result.action == "prepared"
    assert "reuse_gguf" in result.timings
    assert not prepare.gguf_path(fake_parts["var"]).exists()


def test_checksum_mismatch_is_a_clear_error_and_leaves_nothing(
    fake_parts: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepare, "GGUF_SHA256", "0" * 64)
    with pytest.raises(prepare.PrepareError, match=r"has sha256 [0-9a-f]{64}, expected 0{64}.*damaged.*deleted"):
        prepare.prepare_generation(fake_parts["var"], progress=False)
    root = prepare.generation_root(fake_parts["var"])
    assert sorted(p.name for p in root.iterdir()) == []  # no joined file, no .partial, no folder
    assert fake_parts["calls"] == []


def test_a_missing_part_package_names_it(fake_parts: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prepare, "GGUF_PARTS", (*prepare.GGUF_PARTS, ("fake-part9", "x/part09.bin")))
    with pytest.raises(ModelNotAvailable, match="'fake-part9' is not installed: run `make install`"):
        prepare.prepare_generation(fake_parts["var"], progress=False)


def test_the_real_parts_are_found_without_importing_them() -> None:
    paths = prepare.part_paths()
    assert [p.name for p in paths] == [f"part0{n}.bin" for n in range(1, 7)]
    assert all(p.is_file() for p in paths)
    assert not any(name.startswith("pandas_sns") for name in sys.modules)


def test_the_packaged_embedding_model_is_checked() -> None:
    result = prepare.prepare_embedding()
    assert result.action == "checked"
    assert (result.path / "config.json").is_file()


# --- The command -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_prepares_records_an_active_version_then_skips(
    fake_parts: dict[str, Any], settings: Any
) -> None:
    settings.VAR_DIR = fake_parts["var"]
    out = StringIO()
    call_command("prepare_models", "--only", "generation", stdout=out, verbosity=0)
    assert "generation: prepared" in out.getvalue()
    version = ModelVersion.objects.get(role=ModelRole.GENERATION)
    assert version.name == "qwen2.5-coder-0.5b-instruct-bf16"
    assert version.path == str(prepare.generation_folder(fake_parts["var"]).resolve())
    assert version.is_active
    assert version.params["source_sha256"] == prepare.GGUF_SHA256

    out = StringIO()
    call_command("prepare_models", stdout=out, verbosity=0)
    assert "embedding: checked" in out.getvalue()
    assert "generation: ready" in out.getvalue()
    assert ModelVersion.objects.filter(role=ModelRole.GENERATION).count() == 1
    assert len(fake_parts["calls"]) == 1


@pytest.mark.django_db
def test_command_does_not_take_over_another_active_version(fake_parts: dict[str, Any], settings: Any) -> None:
    settings.VAR_DIR = fake_parts["var"]
    other = model_version(role=ModelRole.GENERATION, name="bigger-model", is_active=True)
    call_command("prepare_models", "--only", "generation", stdout=StringIO(), verbosity=0)
    other.refresh_from_db()
    assert other.is_active
    assert not ModelVersion.objects.get(name="qwen2.5-coder-0.5b-instruct-bf16").is_active


@pytest.mark.django_db
def test_command_reports_a_checksum_mismatch(
    fake_parts: dict[str, Any], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.VAR_DIR = fake_parts["var"]
    monkeypatch.setattr(prepare, "GGUF_SHA256", "f" * 64)
    with pytest.raises(CommandError, match=r"expected f{64}"):
        call_command("prepare_models", "--only", "generation", stdout=StringIO(), verbosity=0)
    assert not ModelVersion.objects.exists()
