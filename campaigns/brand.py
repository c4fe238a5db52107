"""The shop's brand as emails show it: the one `Brand` row, its rules, and the logo's public address.

Rules (`brand_problems`, run by the model's `clean`, so the admin form refuses with the reason):
- colours are `#rrggbb`; the primary colour is the buttons' background under white text, the accent colour
  is text on white (prices, the offer): each needs a WCAG contrast of at least 4.5:1 against white, the
  level for normal-size text, or customers cannot read the button;
- the logo is a PNG, JPEG or GIF (what Gmail and Outlook show; SVG is not shown by either) of at most
  `LOGO_MAX_BYTES`, read by Pillow to check it is what its name says; or an https address;
- the reply-to is an email address (the field checks it).

An uploaded logo is served at `PUBLIC_BASE_URL/brand/logo/<file name>` (`campaigns.views.brand_logo`), the
only file of MEDIA_ROOT served: mail clients fetch it from there.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from PIL import Image, UnidentifiedImageError

from .models import Brand

HEX = re.compile(r"#[0-9a-fA-F]{6}")
MIN_CONTRAST = 4.5  # WCAG 2 AA for normal text
LOGO_MAX_BYTES = 1024 * 1024
LOGO_MAX_PIXELS = 2000  # wider or taller than this is a photo, not a logo (and heavy in a mail)
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpeg", "GIF": "gif"}
WHITE = "#ffffff"


def current_brand() -> Brand:
    """The shop's brand row (created with the defaults the first time it is asked for)."""
    brand, _ = Brand.objects.get_or_create(pk=Brand.SINGLETON_ID)
    return brand


def _linear(channel: int) -> float:
    value = channel / 255
    return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """Relative luminance of `#rrggbb` (WCAG 2)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _linear(r) + 0.7152 * _linear(g) + 0.0722 * _linear(b)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two `#rrggbb` colours, from 1 (same) to 21 (black on white)."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colour_problem(field: str, colour: str, use: str) -> str:
    """Why `colour` cannot be used for `use`, or "" when it can."""
    if not HEX.fullmatch(colour or ""):
        return f"{field}: {colour!r} is not a colour written as #rrggbb (e.g. #1f5f8b)"
    ratio = contrast(colour, WHITE)
    if ratio < MIN_CONTRAST:
        return (f"{field}: {colour} gives {use} a contrast of {ratio:.1f}:1 against white; at least "
                f"{MIN_CONTRAST}:1 is needed to read it (WCAG AA): choose a darker colour")
    return ""


def logo_problem(logo: FieldFile | UploadedFile | None) -> str:
    """Why the uploaded logo file cannot be used, or "" when it can (or there is none)."""
    if not logo:
        return ""
    size = logo.size or 0
    if size > LOGO_MAX_BYTES:
        return f"logo: the file has {size / 1024:,.0f} KB; at most {LOGO_MAX_BYTES // 1024:,} KB fit in an email"
    try:
        logo.seek(0)
        with Image.open(logo) as image:
            kind, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return f"logo: the file is not an image Pillow can read ({exc})"
    finally:
        logo.seek(0)
    if kind not in LOGO_FORMATS:
        return f"logo: {kind} images are not shown by every mail client; upload a PNG, JPEG or GIF"
    if max(width, height) > LOGO_MAX_PIXELS:
        return f"logo: {width}x{height} pixels; at most {LOGO_MAX_PIXELS} on each side"
    return ""


def brand_problems(brand: Brand) -> dict[str, str]:
    """Field -> why its value is refused (empty when the brand can be used)."""
    problems = {
        "primary_colour": colour_problem("primary colour", brand.primary_colour, "white button text"),
        "accent_colour": colour_problem("accent colour", brand.accent_colour, "prices and the offer"),
        "logo": logo_problem(brand.logo),
        "logo_url": "" if not brand.logo_url or brand.logo_url.startswith("https://") else (
            f"logo address: {brand.logo_url!r} must start with https:// (mail clients block plain http images)"
        ),
        "name": "" if brand.name.strip() else "name: the brand needs a name (the header and the logo's alt text)",
    }
    return {field: why for field, why in problems.items() if why}


def logo_address(brand: Brand) -> str:
    """Where mail clients fetch the logo: the uploaded file's public route, else the https address, else ""."""
    if brand.logo:
        name = brand.logo.name.rsplit("/", 1)[-1]
        return settings.PUBLIC_BASE_URL + reverse("brand-logo", args=[name])
    return brand.logo_url


def fingerprint_fields(brand: Brand) -> tuple[str, ...]:
    """What of the brand an email shows (a change means the last test no longer shows the real email)."""
    return (brand.name, brand.primary_colour.lower(), brand.accent_colour.lower(), logo_address(brand),
            brand.address, brand.reply_to)
