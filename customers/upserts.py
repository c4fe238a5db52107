"""How customers and events are upserted by their key, and what follows a write: new events are folded
into their customers' profiles by a background job (when a worker runs); an edited event is not, and a
customer's own fields change no profile. The API (single objects and bulk) and the importer both write
through these specs."""

from __future__ import annotations

from catalog.models import Product
from core.actors import Actor
from core.upsert import UpsertReport, UpsertSpec

from .models import Customer, Event
from .serializers import CustomerSerializer, EventSerializer
from .tasks import request_profile_update


def _update_profiles(written: UpsertReport, actor: Actor) -> None:
    if written.created:
        request_profile_update(actor)


CUSTOMER_UPSERT = UpsertSpec(model=Customer, serializer_class=CustomerSerializer, key="external_id")
EVENT_UPSERT = UpsertSpec(
    model=Event,
    serializer_class=EventSerializer,
    key="external_id",
    references={"customer": (Customer, "external_id"), "product": (Product, "sku")},
    create_missing={"customer": lambda external_id: Customer(external_id=external_id)},
    after_write=_update_profiles,
)
