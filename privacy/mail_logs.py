"""Scrubbing an erased person's addresses out of the files this install wrote: the file email backend's
logs (EMAIL_FILE_PATH, var/mail by default) and the JSONL exports of SMS and push (CAMPAIGN_EXPORT_DIR).

Each file that holds an address is rewritten with the address replaced (case-insensitively) by
"[erased]", through a temporary file and an atomic rename, so a crash leaves either the old or the new
file. What left the machine (an SMTP relay, the webhook provider, a mailbox) is out of reach: the erasure
report says so.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

REPLACEMENT = b"[erased]"
MAX_FILE_BYTES = 64 * 1024 * 1024  # a bigger file is reported, not read into memory


@dataclass
class ScrubResult:
    files: int = 0  # files rewritten
    occurrences: int = 0
    skipped: int = 0  # files too big to scrub here


def scrub(folders: Iterable[Path], needles: Iterable[str]) -> ScrubResult:
    """Replace every needle in every file under the folders; folders that do not exist are skipped."""
    result = ScrubResult()
    wanted = sorted({n.strip() for n in needles if n and n.strip()}, key=len, reverse=True)
    if not wanted:
        return result
    pattern = re.compile(b"|".join(re.escape(n.encode()) for n in wanted), re.IGNORECASE)
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.stat().st_size > MAX_FILE_BYTES:
                result.skipped += 1
                continue
            content = path.read_bytes()
            cleaned, found = pattern.subn(REPLACEMENT, content)
            if found:
                _replace(path, cleaned)
                result.files += 1
                result.occurrences += found
    return result


def _replace(path: Path, content: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".scrub-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
