"""Public views of campaigns: the brand's logo, which mail clients fetch from this server."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe
from PIL import Image, UnidentifiedImageError

from .models import Brand

LOGO_CACHE_SECONDS = 24 * 3600
# The type comes from what the file is (Pillow reads it), never from its uploaded name: a GIF named `x.html`
# or `x.js` is still served as a GIF, so no upload becomes a page or a script of this origin.
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}


@require_safe
def brand_logo(request: HttpRequest, name: str) -> FileResponse:
    """The uploaded logo of the brand, by its file name; nothing else of MEDIA_ROOT is served (404)."""
    brand = Brand.objects.filter(pk=Brand.SINGLETON_ID).first()
    if brand is None or not brand.logo or brand.logo.name.rsplit("/", 1)[-1] != name:
        raise Http404("no such logo")
    try:
        handle = brand.logo.open("rb")
    except FileNotFoundError as exc:
        raise Http404("the logo file is missing") from exc
    try:
        with Image.open(handle) as image:
            content_type = LOGO_TYPES.get(image.format or "")
    except (UnidentifiedImageError, OSError) as exc:
        handle.close()
        raise Http404("the logo file is not an image") from exc
    if content_type is None:
        handle.close()
        raise Http404("the logo file is not a PNG, JPEG or GIF")
    handle.seek(0)
    response = FileResponse(handle, content_type=content_type)
    response["Cache-Control"] = f"public, max-age={LOGO_CACHE_SECONDS}"
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    return response
