"""Generation end to end against a local HTTP server that speaks the OpenAI chat API with scripted replies
(the only fake: a remote LLM server), with the real database and the real embedding model; plus one slow
test with the real local generation model."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from campaigns import guardrails
from campaigns.channels import Copy
from campaigns.generation import GenerationRefused, check_variant, generate_variants, planning
from campaigns.generation.repair import repair_copy
from campaigns.generation.writing import MAX_RETRIES
from campaigns.models import Campaign, CampaignTransition, Variant
from campaigns.prompts import ANGLES, PromptInput, build_prompt
from catalog.models import ModelRole, ModelVersion
from customers.models import Customer, EventType
from inference import registry
from inference.generation import OpenAICompatibleGenerator
from jobs.models import Job, JobStatus
from jobs.runner import start_job
from tests.catalog.builders import product, product_insight, review
from tests.customers.builders import customer, event, profile, segment

from .builders import campaign, subscriber

UNSUB = "Unsubscribe any time in your account."
GOOD = (
    "SUBJECT: Grip for every trail\n"
    "PREHEADER: The Trail Runner X, loved for its grip.\n"
    "BODY:\nRunners keep telling us about the grip of the Trail Runner X on wet rock and loose gravel. "
    "Lace up and take it for a run on your favourite route."
)
BAD_CLAIM = GOOD.replace("favourite route.", "favourite route, with free shipping on every order.")
BAD_PHONE = GOOD.replace("favourite route.", "favourite route. Questions? Call 0800 123 4567.")
# mostly violations: two of its three sentences break a rule, so a repair would leave too little
MOSTLY_BAD = (
    "SUBJECT: Grip for every trail\nPREHEADER: The Trail Runner X, loved for its grip.\nBODY:\n"
    "Call 0800 123 4567 to order. Write to help@shop.example about the grip of the Trail Runner X. "
    "Lace up and take it for a run on your favourite route."
)
# one offending sentence among three: repaired (dropped) and passed on the first try
ONE_BAD_SENTENCE = (
    "SUBJECT: Grip for every trail\nPREHEADER: The Trail Runner X, loved for its grip.\nBODY:\n"
    "Runners keep telling us about the grip of the Trail Runner X on wet rock and loose gravel. "
    "It is our best-selling trail shoe. Lace up and take it for a run on your favourite route."
)
FIX_MARKER = "Your previous attempt broke these rules"


@dataclass
class ChatServer:
    """Replies through `answer(user_message) -> text`; records every request body."""

    url: str = ""
    answer: Callable[[str], str] = lambda user: GOOD
    requests: list[dict[str, Any]] = field(default_factory=list)

    def users(self) -> list[str]:
        return [str(r["messages"][1]["content"]) for r in self.requests]


@pytest.fixture
def server() -> Iterator[ChatServer]:
    state = ChatServer()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                state.requests.append(body)
            content = state.answer(body["messages"][1]["content"])
            raw = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]})
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw.encode())))
            self.end_headers()
            self.wfile.write(raw.encode())

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield state
    httpd.shutdown()
    httpd.server_close()


def client(server: ChatServer) -> OpenAICompatibleGenerator:
    return OpenAICompatibleGenerator(server.url, "copy-test-model", timeout=10, max_retries=0)


def trail_campaign(**fields: Any) -> Campaign:
    """A trail-shoe campaign with no offer: one product whose insight praises its grip, reviewed by John Carter."""
    shoe = product(sku="TR-X", title="Trail Runner X", category="Shoes > Trail", brand="Stride", price=Decimal("89.99"))
    product_insight(
        shoe, review_count=4, rating_average=4.5,
        praised_aspects=[{"aspect": "grip", "count": 3, "quotes": [{"text": "Grips on wet rock.", "review_id": 1}]}],
        pain_points=[{"aspect": "laces", "count": 1, "quotes": []}],
    )
    review(external_id="rv1", product=shoe, customer=customer(external_id="r1", name="John Carter"), rating=5,
           text="The grip is unreal on wet rock and loose gravel, I never slipped once.")
    defaults: dict[str, Any] = {
        "name": "Trail", "brief": "Show trail runners the grip of our trail shoe.", "required_text": UNSUB,
        "offer": "", "variants_per_group": 2, "landing_url": "https://shop.example/trail",
    }
    made = campaign(**{**defaults, **fields})
    made.products.add(shoe)
    return made


def by_label(campaign: Campaign) -> dict[str, Variant]:
    return {v.label: v for v in Variant.objects.filter(campaign=campaign, customer=None)}


@pytest.mark.django_db
def test_a_failed_variant_is_regenerated_with_the_reason_and_the_other_passes_first(server: ChatServer) -> None:
    campaign = trail_campaign()

    def answer(user: str) -> str:  # variant A's first try claims free shipping; everything else is clean
        return BAD_CLAIM if "praise most" in user and FIX_MARKER not in user else GOOD

    server.answer = answer
    counts = generate_variants(campaign, generator=client(server))
    # A's body has two sentences: dropping the offending one would leave too little, so it is regenerated
    assert counts == {"groups": 1, "generated": 2, "passed_first_try": 1, "passed_first_try_unrepaired": 1,
                      "passed_after_retry": 1, "attempts": 3, "skipped_existing": 0,
                      "first_try_failed_unsupported_claims": 1}
    variants = by_label(campaign)
    a, b = variants["A"], variants["B"]
    assert (a.status, a.attempts, b.status, b.attempts) == ("in_review", 2, "in_review", 1)
    retry = next(user for user in server.users() if FIX_MARKER in user)
    assert "free shipping" in retry and "not in the brief, offer or product facts" in retry
    assert FIX_MARKER in a.prompt and FIX_MARKER not in b.prompt
    assert a.body.endswith(UNSUB) and "free shipping" not in a.body  # required text appended, stored copy clean
    assert a.subject == "Grip for every trail" and a.preheader.startswith("The Trail Runner X")
    assert all(row["passed"] for row in a.guardrails) and len(a.guardrails) == len(guardrails.CHECKS)
    assert a.model_name == "copy-test-model" and a.model_version is not None
    assert a.model_version.role == ModelRole.GENERATION and a.generated_body == a.body
    assert a.relevance is not None and 0.2 < a.relevance <= 1.0
    assert a.language == "en" and a.product is not None and a.segment is None


@pytest.mark.django_db
def test_a_variant_that_is_mostly_violations_is_regenerated_then_flagged(server: ChatServer) -> None:
    campaign = trail_campaign(variants_per_group=1)
    server.answer = lambda user: MOSTLY_BAD
    counts = generate_variants(campaign, generator=client(server))
    assert counts["flagged"] == 1 and counts["attempts"] == 1 + MAX_RETRIES
    assert "passed_with_repair" not in counts and counts["first_try_failed_contact_details"] == 1
    variant = Variant.objects.get(campaign=campaign)
    assert variant.status == Variant.Status.FLAGGED and variant.attempts == 3
    failed = [row for row in variant.guardrails if not row["passed"]]
    assert [row["check"] for row in failed] == ["contact_details"] and "phone number" in failed[0]["detail"]
    assert "help@shop.example" in failed[0]["detail"]
    assert all(row["check"] != "repair" for row in variant.guardrails)  # stored unrepaired, as the model wrote it
    assert "0800 123 4567" in variant.body
    assert len(server.requests) == 3
    assert all(FIX_MARKER in user for user in server.users()[1:])


@pytest.mark.django_db
def test_one_offending_sentence_is_dropped_and_the_repair_recorded(server: ChatServer) -> None:
    campaign = trail_campaign(variants_per_group=1)
    server.answer = lambda user: ONE_BAD_SENTENCE
    counts = generate_variants(campaign, generator=client(server))
    assert counts == {"groups": 1, "generated": 1, "passed_first_try": 1, "passed_with_repair": 1, "attempts": 1,
                      "skipped_existing": 0, "first_try_failed_unsupported_claims": 1}
    assert len(server.requests) == 1
    variant = Variant.objects.get(campaign=campaign)
    assert variant.status == Variant.Status.IN_REVIEW and variant.attempts == 1
    assert "best-selling" not in variant.body and variant.body.endswith(UNSUB)
    assert variant.body.startswith("Runners keep telling us") and "Lace up and take it" in variant.body
    assert [row["check"] for row in variant.guardrails] == [*guardrails.CHECKS, "repair"]
    assert all(row["passed"] for row in variant.guardrails)
    repair = variant.guardrails[-1]["detail"]
    assert repair.startswith("dropped 1 item:") and "best-selling" in repair and "unsupported claims" in repair
    # a person editing the variant later gets the plain checks again
    assert len(check_variant(variant)) == len(guardrails.CHECKS)


def _context(**fields: Any) -> guardrails.GuardrailContext:
    defaults: dict[str, Any] = {"channel": "email", "allowed_text": "Trail Runner X grip", "required_text": UNSUB,
                                "landing_url": "https://shop.example/trail"}
    return guardrails.GuardrailContext(**{**defaults, **fields})


def test_repair_clears_a_bad_subject_drops_a_cut_off_sentence_and_keeps_the_required_text() -> None:
    copy = Copy(subject="Hi [Name], grip awaits", preheader="Loved for its grip.",
                body="Runners love the grip. It holds on wet rock. Take it out on the trail. "
                     f"{UNSUB}")
    outcome = repair_copy(copy, _context())
    assert outcome is not None
    repaired, dropped = outcome
    assert repaired.subject == "" and "SUBJECT" in repaired.missing  # the format check then fails: regenerated
    assert len(dropped) == 1 and dropped[0].startswith("subject sentence 'Hi [Name], grip awaits' (placeholders")
    assert repaired.body.endswith(UNSUB) and repaired.body.startswith("Runners love the grip.")
    cut = repair_copy(Copy("Grip", "Grip.", "Runners love the grip. It holds on wet rock. And on the"), _context())
    assert cut is not None and cut[0].body == "Runners love the grip. It holds on wet rock."
    assert "cut off" in cut[1][0]
    clean = repair_copy(Copy("Grip", "Grip.", "Runners love the grip. It holds on wet rock."), _context())
    assert clean is not None and clean[1] == []
    # a preheader left empty previews the body's first kept sentence
    fixed = repair_copy(Copy("Grip", "Call 0800 123 4567.", "Runners love the grip. It holds on wet rock."),
                        _context())
    assert fixed is not None and fixed[0].preheader == "Runners love the grip." and not fixed[0].missing
    assert fixed[1][-1] == "preheader replaced by the body's first sentence"
    long = "Runners love the grip of the Trail Runner X on wet rock. " * 2
    cut_preheader = repair_copy(Copy("Grip", long.strip(), "Runners love the grip. It holds on wet rock."), _context())
    assert cut_preheader is not None and cut_preheader[0].preheader == long.split(". ")[0] + "."
    assert cut_preheader[1] == ["preheader cut to its leading sentences (too long)"]
    # too little left: no repair
    assert repair_copy(Copy("Grip", "Grip.", "Call 0800 123 4567 now. Runners love the grip."), _context()) is None
    assert repair_copy(Copy("Grip", "Grip.", ""), _context()) is not None


@pytest.mark.django_db
def test_the_prompt_quotes_no_forbidden_example() -> None:
    campaign = trail_campaign(offer="")
    prompt = build_prompt(PromptInput(campaign, None, campaign.products.get(), angle=ANGLES[0]))
    for text in ("best-selling", "best selling", "[Name]", "{{", "guarantee", "placeholder", "discount, sale"):
        assert text not in prompt.system and text not in prompt.user, text
    assert len(prompt.system) < 700


@pytest.mark.django_db
def test_rerun_fills_only_what_is_missing_and_force_rewrites(server: ChatServer) -> None:
    campaign = trail_campaign()
    generate_variants(campaign, generator=client(server))
    assert len(server.requests) == 2
    assert generate_variants(campaign, generator=client(server)) == {"groups": 1, "skipped_existing": 2}
    assert len(server.requests) == 2
    Variant.objects.filter(campaign=campaign, label="B").delete()
    counts = generate_variants(campaign, generator=client(server))
    assert counts["generated"] == 1 and counts["skipped_existing"] == 1
    approved = by_label(campaign)["A"]
    Variant.objects.filter(pk=approved.pk).update(status=Variant.Status.APPROVED)
    counts = generate_variants(campaign, generator=client(server), force=True)
    assert counts["deleted"] == 1 and counts["generated"] == 1 and counts["skipped_existing"] == 1
    assert Variant.objects.filter(campaign=campaign).count() == 2
    assert Variant.objects.filter(pk=approved.pk, status=Variant.Status.APPROVED).exists()


@pytest.mark.django_db
def test_segments_recommended_products_and_per_customer_copy(server: ChatServer, monkeypatch: Any) -> None:
    campaign = trail_campaign(variants_per_group=1, recommend_products=True, personalise_per_customer=True)
    shoe = campaign.products.get()
    campaign.products.clear()
    fans = segment(key="behaviour-trail", name="Trail fans", top_keywords=[["trail", 0.4]])
    campaign.segments.add(fans)
    other = product(sku="RD-1", title="Road Racer", category="Shoes > Road")
    now = timezone.now()
    for n, external in enumerate(("c1", "c2", "c3")):
        fan = subscriber(external_id=external, name=f"Ana Silva{n}", email=f"{external}@x.example")
        profile(fan, behaviour_segment=fans)
        event(fan, EventType.PURCHASE, product=shoe, now=now)
        event(fan, EventType.SEARCH, query=f"waterproof trail {n}", now=now)
    event(Customer.objects.get(external_id="r1"), EventType.VIEW, product=other, now=now)
    monkeypatch.setattr(planning, "PER_CUSTOMER_CAP", 2)
    counts = generate_variants(campaign, generator=client(server))
    assert counts["groups"] == 3 and counts["generated"] == 3
    group = Variant.objects.get(campaign=campaign, customer=None)
    assert (group.segment, group.product) == (fans, shoe)  # the segment's popular product, not Road Racer
    personal = list(Variant.objects.filter(campaign=campaign, customer__isnull=False).order_by("customer_id"))
    assert [v.customer.external_id for v in personal if v.customer] == ["c1", "c2"]
    assert '"Ana"' in personal[0].prompt and '"waterproof trail 0"' in personal[0].prompt
    assert "Trail fans" in personal[0].prompt


@pytest.mark.django_db
def test_copy_naming_another_customer_is_flagged(server: ChatServer) -> None:
    campaign = trail_campaign(variants_per_group=1)
    server.answer = lambda user: GOOD.replace("Runners keep", "John Carter and other runners keep")
    generate_variants(campaign, generator=client(server))
    variant = Variant.objects.get(campaign=campaign)
    assert variant.status == Variant.Status.FLAGGED
    assert any(r["check"] == "personal_data" and not r["passed"] for r in variant.guardrails)
    # the retry prompt says what to fix without repeating the name
    assert all("John Carter" not in user for user in server.users())


@pytest.mark.django_db
def test_generation_refuses_a_running_campaign_and_bad_settings(server: ChatServer) -> None:
    campaign = trail_campaign(status=Campaign.Status.RUNNING)
    with pytest.raises(GenerationRefused, match="is running"):
        generate_variants(campaign, generator=client(server))
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DRAFT, variants_per_group=9)
    campaign.refresh_from_db()
    with pytest.raises(GenerationRefused, match="variants_per_group is 9"):
        generate_variants(campaign, generator=client(server))
    assert not server.requests


@pytest.fixture
def served_settings(settings: Any, server: ChatServer) -> Iterator[ChatServer]:
    settings.GENERATION_BASE_URL = server.url
    settings.GENERATION_MODEL_NAME = "copy-job-model"
    registry.clear()
    yield server
    registry.clear()


@pytest.mark.django_db
def test_job_moves_the_campaign_through_generating_to_in_review(run_on_commit: Any, served_settings: Any) -> None:
    campaign = trail_campaign()
    job = start_job("generate_campaign", {"campaign_id": campaign.pk})
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.queue == "inference" and job.progress_total == 2 and job.progress_done == 2
    assert job.counts["generated"] == 2 and job.result["generated"] == 2
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.IN_REVIEW
    moves = list(CampaignTransition.objects.filter(campaign=campaign).order_by("at", "id")
                 .values_list("from_status", "to_status"))
    assert moves == [("draft", "generating"), ("generating", "in_review")]
    assert ModelVersion.objects.filter(role=ModelRole.GENERATION, name="copy-job-model").exists()


@pytest.mark.django_db
def test_a_failing_job_returns_the_campaign_to_draft(run_on_commit: Any, settings: Any) -> None:
    settings.GENERATION_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens on the discard port
    settings.GENERATION_MODEL_NAME = "down"
    registry.clear()
    try:
        campaign = trail_campaign()
        job = start_job("generate_campaign", {"campaign_id": campaign.pk})
    finally:
        registry.clear()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "127.0.0.1:9" in job.error
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert CampaignTransition.objects.filter(campaign=campaign, to_status="draft", note__contains="failed").exists()
    missing = start_job("generate_campaign", {"campaign_id": 999_999})
    missing.refresh_from_db()
    assert missing.status == JobStatus.FAILED and "campaign 999999 does not exist" in missing.error
    assert Job.objects.filter(kind="generate_campaign").count() == 2


@pytest.mark.slow
@pytest.mark.django_db
def test_the_real_local_model_writes_one_variant(settings: Any) -> None:
    """One SMS variant from the prepared default model (a few tokens/s on CPU: about a minute)."""
    from inference.prepare import generation_folder

    folder = generation_folder(Path(settings.VAR_DIR))
    if not (folder / "config.json").is_file():
        pytest.skip(f"{folder} is not prepared: run `manage.py prepare_models`")
    campaign = trail_campaign(
        channel=Campaign.Channel.SMS, variants_per_group=1, required_text="Reply STOP to opt out."
    )
    settings.GENERATION_BASE_URL = ""
    settings.GENERATION_MODEL = str(folder)
    registry.clear()
    try:
        counts = generate_variants(campaign)
    finally:
        registry.clear()
    variant = Variant.objects.get(campaign=campaign)
    assert counts["generated"] == 1 and 1 <= variant.attempts <= 1 + MAX_RETRIES
    assert variant.body.endswith("Reply STOP to opt out.") and len(variant.body) > len("Reply STOP to opt out.")
    assert variant.model_version is not None and variant.model_name
    assert variant.status in (Variant.Status.IN_REVIEW, Variant.Status.FLAGGED)
    # every guardrail ran; a repaired variant also carries the "repair" row
    assert {row["check"] for row in variant.guardrails} - {"repair"} == set(guardrails.CHECKS)
