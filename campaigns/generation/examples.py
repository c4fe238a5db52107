"""The brand's voice, learnt from what its people approved: the approved (and edited) variants most like the
one being written (same product and segment first) go into the paragraph prompt as examples."""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, Value, When

from ..models import Campaign, Variant
from .parts import template_texts
from .planning import Group

EXAMPLES = 2
EXAMPLE_MAX_CHARS = 240


def model_text(variant: Variant) -> str:
    """The part of an approved variant the model (or the person editing it) wrote: its paragraph as chosen,
    or, for an edited or older variant, the longest paragraph of its body that is not the template's."""
    chosen = (variant.parts or {}).get("paragraph", {})
    if variant.edited_by_id is None and isinstance(chosen, dict) and chosen.get("text"):
        return str(chosen["text"])
    fixed = set(template_texts(variant.campaign))
    paragraphs = [p.strip() for p in variant.body.split("\n\n") if p.strip() and p.strip() not in fixed]
    paragraphs = [p for p in paragraphs if len(p.split()) >= 6 and not p.rstrip().endswith(",")]
    return max(paragraphs, key=len, default="")


def voice_examples(campaign: Campaign, group: Group, k: int = EXAMPLES) -> list[str]:
    """Up to `k` approved texts of the same language and channel kind, most similar first: same product and
    segment, then same product, then same segment, then the newest."""
    approved = Variant.objects.filter(status=Variant.Status.APPROVED, language=campaign.language).select_related(
        "campaign"
    )
    product_id = group.product.pk if group.product else None
    segment_id = group.segment.pk if group.segment else None
    rank = Case(
        When(Q(product_id=product_id) & Q(segment_id=segment_id), then=Value(0)),
        When(product_id=product_id, then=Value(1)),
        When(segment_id=segment_id, then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    texts: list[str] = []
    for variant in approved.annotate(rank=rank).order_by("rank", "-reviewed_at", "-pk")[: k * 5]:
        text = model_text(variant)
        if text and text not in texts and len(text) <= EXAMPLE_MAX_CHARS * 2:
            texts.append(text)
        if len(texts) == k:
            break
    return texts
