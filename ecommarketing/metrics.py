"""`/metrics`: Prometheus's scrape, for the monitoring network only.

Allowed when the client address (REMOTE_ADDR: the socket's peer, never a forwarded header a client can
write) is in METRICS_ALLOWED_IPS (addresses or networks; default loopback only), or when the request
carries `Authorization: Bearer <METRICS_TOKEN>` (for a Prometheus that reaches the app through a proxy).
Anything else gets 403, so route names, job kinds and queue sizes stay private.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.metrics import CONTENT_TYPE, QueueDepthCollector, render

from .celery import app as celery_app


def _queues() -> list[str]:
    return [queue.name for queue in celery_app.conf.task_queues or ()]


QUEUE_DEPTH = QueueDepthCollector(lambda: str(settings.CELERY_BROKER_URL), _queues)


def allowed(request: HttpRequest) -> bool:
    token = str(settings.METRICS_TOKEN)
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # a dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d
    return any(address in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_IPS)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        return HttpResponse("metrics are served to the monitoring network only\n", status=403,
                            content_type="text/plain")
    return HttpResponse(render([QUEUE_DEPTH]), content_type=CONTENT_TYPE)
