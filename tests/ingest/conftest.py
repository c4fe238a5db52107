"""Small files written in tmp_path, shaped like the exports the importer meets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# The UCI Online Retail header and date format, with the cases that matter: an exact duplicate line
# (3), a cancellation with a negative quantity (9), an empty description and customer (10), rows with
# no customer (11, 16), a quoted comma (13), dates after the 12th (proving dd/mm), non-product codes
# (POST, D, M), and a stock code repeated with a new price (85123A: last line wins).
ONLINE_RETAIL = """\
InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,01/12/2010 08:26,2.55,17850,United Kingdom
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,01/12/2010 08:26,2.55,17850,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,01/12/2010 08:28,1.85,17850,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,01/12/2010 08:34,1.69,13047,United Kingdom
536367,22745,POPPY'S PLAYHOUSE BEDROOM ,6,01/12/2010 08:34,2.10,13047,United Kingdom
536370,22728,ALARM CLOCK BAKELIKE PINK,24,01/12/2010 08:45,3.75,12583,France
536370,POST,POSTAGE,3,01/12/2010 08:45,18,12583,France
C536379,D,Discount,-1,01/12/2010 09:41,27.50,14527,United Kingdom
536414,22139,,56,01/12/2010 11:52,0,,United Kingdom
536544,21773,DECORATIVE ROSE BATHROOM BOTTLE,1,13/12/2010 14:32,2.51,,United Kingdom
536596,21624,"VINTAGE UNION JACK DOORSTOP, RED",1,05/12/2010 10:27,5.95,17850,United Kingdom
536597,22633,HAND WARMER UNION JACK,12,13/12/2010 09:00,1.85,12431,Australia
536598,M,Manual,1,06/12/2010 11:00,0.85,12431,Australia
536599,84879,ASSORTED COLOUR BIRD ORNAMENT,8,07/12/2010 12:00,1.69,13047,United Kingdom
536592,85123A,WHITE HANGING HEART T-LIGHT HOLDER,1,12/12/2010 17:06,2.95,,United Kingdom
"""


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(name, text or bytes) -> path of a new file in tmp_path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding=encoding, newline="")
        return path

    return _write


@pytest.fixture
def online_retail(write: Callable[..., Path]) -> Path:
    return write("online_retail.csv", ONLINE_RETAIL)


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """MEDIA_ROOT in tmp_path, so uploads and job files never touch var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    uploads = settings.MEDIA_ROOT / "imports"
    uploads.mkdir(parents=True)
    return uploads
