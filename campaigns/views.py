"""Public views of campaigns: the brand's logo, which mail clients fetch from this server."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from .models import Brand

LOGO_CACHE_SECONDS = 24 * 3600


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
    response = FileResponse(handle, content_type=mimetypes.guess_type(name)[0] or "application/octet-stream")
    response["Cache-Control"] = f"public, max-age={LOGO_CACHE_SECONDS}"
    return response
