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
from campaigns.generation.parts import parts_for
from campaigns.generation.repair import repair_copy
from campaigns.generation.writing import MAX_RETRIES
from campaigns.guardrails import CHECKS
from campaigns.models import Campaign, CampaignTransition, Variant
from campaigns.prompts import ANGLES, PromptInput, part_prompt
from catalog.models import ModelRole, ModelVersion, Product
from customers.models import Customer, EventType
from inference import registry
from inference.generation import OpenAICompatibleGenerator
from jobs.models import Job, JobStatus
from jobs.runner import start_job
from tests.catalog.builders import product, product_insight, review
from tests.customers.builders import customer, event, profile, segment

from .builders import campaign, subscriber

UNSUB = "Unsubscribe any time in your account."
GOOD = {
    "subject": "Grip for every trail",
    "preheader": "The Trail Runner X, loved for its grip.",
    "paragraph": "Runners keep telling us about the grip of the Trail Runner X on wet rock and loose gravel. "
                 "Lace up and take it for a run on your favourite route.",
    "cta": "See the Trail Runner X",
    "line": "The Trail Runner X grips on wet rock.",
    "title": "Grip for every trail",
}
FREE_SHIPPING = GOOD["paragraph"].replace("favourite route.", "favourite route, with free shipping on every order.")
PHONE = "Call 0800 123 4567 to order it. Write to help@shop.example about the grip of the Trail Runner X."
FIX_MARKER = "Your previous attempt broke these rules"
# The task line of each part's prompt (campaigns.generation.parts), which the server answers by.
TASKS = {"email subject line": "subject", "email preview text": "preheader", "body of the email": "paragraph",
         "email's button": "cta", "SMS text": "line", "notification text": "line", "notification title": "title"}


def part_of(user: str) -> str:
    return next(part for task, part in TASKS.items() if task in user.splitlines()[-2])


@dataclass
class ChatServer:
    """Replies to each request with `n` choices, choice i from `answer(part, user message, i)`, each with
    token log-probabilities; records every request body."""

    url: str = ""
    answer: Callable[[str, str, int], str] = lambda part, user, index: GOOD[part]
    requests: list[dict[str, Any]] = field(default_factory=list)

    def users(self, part: str | None = None) -> list[str]:
        users = [str(r["messages"][1]["content"]) for r in self.requests]
        return [user for user in users if part is None or part_of(user) == part]


@pytest.fixture
def server() -> Iterator[ChatServer]:
    state = ChatServer()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                state.requests.append(body)
            user = body["messages"][1]["content"]
            choices = [
                {"index": i, "message": {"role": "assistant", "content": state.answer(part_of(user), user, i)},
                 "logprobs": {"content": [{"token": "x", "logprob": -0.4 - 0.1 * i}]},
                 "finish_reason": "length" if state.answer(part_of(user), user, i).endswith("…") else "stop"}
                for i in range(int(body.get("n", 1)))
            ]
            raw = json.dumps({"choices": choices})
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


@pytest.fixture(autouse=True)
def three_candidates(settings: Any) -> None:
    settings.GENERATION_CANDIDATES = 3


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
    return campaign_for(shoe, **fields)


def campaign_for(shoe: Product, **fields: Any) -> Campaign:
    """A trail campaign about `shoe` (see `trail_campaign`)."""
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
def test_each_part_is_the_best_of_n_and_the_template_joins_them(server: ChatServer) -> None:
    campaign = trail_campaign(offer="10% off with code TRAIL10", sign_off="Happy running,\nThe Stride team")

    def answer(part: str, user: str, index: int) -> str:  # the first paragraph candidate claims free shipping
        if part == "subject" and index == 0:
            return "Grip for every trail, wet rock and loose gr…"  # the token limit cut it: never chosen
        return FREE_SHIPPING if part == "paragraph" and index == 0 else GOOD[part]

    server.answer = answer
    counts = generate_variants(campaign, generator=client(server))
    assert len(server.requests) == 2 * 4 and all(r["n"] == 3 and r["stop"] == ["\n"] for r in server.requests)
    assert counts["generated"] == 2 and counts["passed_first_try_unrepaired"] == 2 and counts["attempts"] == 2
    assert counts["candidates"] == 2 * 4 * 3 and counts["parts"] == 8 and counts["chosen_not_first"] == 4
    a = by_label(campaign)["A"]
    assert a.status == Variant.Status.IN_REVIEW and a.attempts == 1
    assert a.body.split("\n\n") == [
        "Hi {first_name},", GOOD["paragraph"], "10% off with code TRAIL10.",
        "See the Trail Runner X: https://shop.example/trail", "Happy running,\nThe Stride team", UNSUB,
    ]
    assert (a.subject, a.preheader) == (GOOD["subject"], GOOD["preheader"])
    paragraph = a.parts["paragraph"]
    assert paragraph["chosen"] == 1 and paragraph["text"] == GOOD["paragraph"]
    assert any("unsupported_claims" in reason for reason in paragraph["candidates"][0]["failed"])
    assert paragraph["candidates"][1]["failed"] == [] and 0 < paragraph["candidates"][1]["fluency"] < 1
    assert a.parts["subject"]["candidates"][0]["failed"][0] == "format: the subject was cut off by the token limit"
    assert all(row["passed"] for row in a.guardrails) and [r["check"] for r in a.guardrails] == list(CHECKS)
    assert a.model_name == "copy-test-model" and a.model_version is not None
    assert a.model_version.role == ModelRole.GENERATION and a.generated_body == a.body
    assert a.relevance is not None and 0.2 < a.relevance <= 1.0
    assert "=== paragraph ===" in a.prompt and "=== subject ===" in a.prompt


@pytest.mark.django_db
def test_a_part_without_a_passing_candidate_is_sampled_again_with_the_reason(server: ChatServer) -> None:
    campaign = trail_campaign()

    def answer(part: str, user: str, index: int) -> str:  # variant A's first paragraphs all claim free shipping
        if part == "paragraph" and "praise most" in user and FIX_MARKER not in user:
            return FREE_SHIPPING
        return GOOD[part]

    server.answer = answer
    counts = generate_variants(campaign, generator=client(server))
    assert counts["passed_first_try_unrepaired"] == 1 and counts["passed_after_retry"] == 1
    assert counts["first_try_failed_unsupported_claims"] == 1 and counts["attempts"] == 3
    retries = [user for user in server.users() if FIX_MARKER in user]
    assert len(retries) == 1 and part_of(retries[0]) == "paragraph"
    assert "free shipping" in retries[0] and "not in the brief, offer or product facts" in retries[0]
    variants = by_label(campaign)
    a, b = variants["A"], variants["B"]
    assert (a.status, a.attempts, b.status, b.attempts) == ("in_review", 2, "in_review", 1)
    assert a.parts["paragraph"]["round"] == 1 and len(a.parts["paragraph"]["candidates"]) == 6
    assert "free shipping" not in a.body and a.body.endswith(UNSUB)


@pytest.mark.django_db
def test_a_variant_that_keeps_failing_is_flagged_with_its_reasons(server: ChatServer) -> None:
    campaign = trail_campaign(variants_per_group=1)
    server.answer = lambda part, user, index: PHONE if part == "paragraph" else GOOD[part]
    counts = generate_variants(campaign, generator=client(server))
    assert counts["flagged"] == 1 and counts["attempts"] == 1 + MAX_RETRIES
    variant = Variant.objects.get(campaign=campaign)
    assert variant.status == Variant.Status.FLAGGED and variant.attempts == 1 + MAX_RETRIES
    failed = [row for row in variant.guardrails if not row["passed"]]
    assert [row["check"] for row in failed] == ["contact_details"] and "phone number" in failed[0]["detail"]
    assert "0800 123 4567" in variant.body  # stored as written, with its reasons, never looking clean


@pytest.mark.django_db
def test_a_paragraph_with_one_bad_sentence_is_repaired_as_a_last_resort(server: ChatServer) -> None:
    campaign = trail_campaign(variants_per_group=1)
    bad = GOOD["paragraph"].replace("gravel. ", "gravel. It is our best-selling trail shoe. ")
    server.answer = lambda part, user, index: bad if part == "paragraph" else GOOD[part]
    counts = generate_variants(campaign, generator=client(server))
    assert counts["passed_with_repair"] == 1 and counts["passed_after_retry"] == 1
    variant = Variant.objects.get(campaign=campaign)
    assert variant.status == Variant.Status.IN_REVIEW and "best-selling" not in variant.body
    assert variant.guardrails[-1]["check"] == "repair" and "best-selling" in variant.guardrails[-1]["detail"]
    assert variant.parts["paragraph"]["candidates"][-1].get("repaired") is True
    assert len(check_variant(variant)) == len(CHECKS)  # a person's edit later gets the plain checks again


@pytest.mark.django_db
def test_an_approved_variant_teaches_the_voice(server: ChatServer) -> None:
    earlier = trail_campaign(variants_per_group=1, name="Earlier")
    generate_variants(earlier, generator=client(server))
    Variant.objects.filter(campaign=earlier).update(status=Variant.Status.APPROVED)
    campaign = campaign_for(earlier.products.get(), name="Later")
    server.requests.clear()
    generate_variants(campaign, generator=client(server))
    paragraph_prompt = server.users("paragraph")[0]
    assert "Approved copy in our voice" in paragraph_prompt and GOOD["paragraph"][:60] in paragraph_prompt
    assert all("Approved copy" not in user for user in server.users("subject"))


@pytest.mark.django_db
def test_sms_and_push_are_one_line_plus_the_template(server: ChatServer) -> None:
    sms = trail_campaign(channel=Campaign.Channel.SMS, variants_per_group=1, offer="10% off: TRAIL10",
                         required_text="Reply STOP to opt out.")
    generate_variants(sms, generator=client(server))
    variant = Variant.objects.get(campaign=sms)
    assert variant.body == f"{GOOD['line']} 10% off: TRAIL10. Reply STOP to opt out."
    assert variant.status == Variant.Status.IN_REVIEW and variant.subject == ""
    shoe = sms.products.get()
    push = campaign_for(shoe, channel=Campaign.Channel.PUSH, variants_per_group=1, required_text="", name="Push")
    generate_variants(push, generator=client(server))
    variant = Variant.objects.get(campaign=push)
    assert (variant.subject, variant.body) == (GOOD["title"], GOOD["line"])
    long = campaign_for(shoe, channel=Campaign.Channel.SMS, offer="x" * 100, required_text="y" * 50, name="Long")
    with pytest.raises(GenerationRefused, match="leave 7 of the sms limit"):
        generate_variants(long, generator=client(server))


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
def test_no_prompt_quotes_a_forbidden_example() -> None:
    campaign = trail_campaign(offer="")
    for part in parts_for(campaign):
        prompt = part_prompt(PromptInput(campaign, None, campaign.products.get(), angle=ANGLES[0]), part)
        for text in ("best-selling", "best selling", "[Name]", "{{", "guarantee", "placeholder", "discount, sale"):
            assert text not in prompt.system and text not in prompt.user, text
        assert len(prompt.system) < 400


@pytest.mark.django_db
def test_rerun_fills_only_what_is_missing_and_force_rewrites(server: ChatServer) -> None:
    campaign = trail_campaign()
    generate_variants(campaign, generator=client(server))
    assert len(server.requests) == 2 * 4  # two variants of four parts
    assert generate_variants(campaign, generator=client(server)) == {"groups": 1, "skipped_existing": 2}
    assert len(server.requests) == 2 * 4
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
    named = GOOD["paragraph"].replace("Runners keep", "John Carter and other runners keep")
    server.answer = lambda part, user, index: named if part == "paragraph" else GOOD[part]
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
    assert job.queue == "generation" and job.progress_total == 2 and job.progress_done == 2
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
