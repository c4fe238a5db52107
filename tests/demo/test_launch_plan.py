"""`make demo`'s plan (pure): web and one worker per queue start before any model step, and the model
steps run behind, each after the steps it needs."""

from __future__ import annotations

import pytest

from demo.launcher import MODEL_STEPS, SEED, WORKERS, Step, WorkerSpec, launch_plan, steps_to_start
from ecommarketing.celery import QUEUE_ROLES
from jobs.runner import registered_kinds


def test_web_and_every_worker_start_before_any_model_step() -> None:
    plan = launch_plan()
    first_model_step = min(plan.index(f"job {step.kind}") for step in MODEL_STEPS)
    assert plan[:2] == ["migrate", "web"]  # the login page answers while the rest starts
    for queue in QUEUE_ROLES:
        assert plan.index(f"worker {queue}") < plan.index(f"job {SEED.kind}") < first_model_step
    assert len(plan) == 3 + len(WORKERS) + len(MODEL_STEPS)


def test_each_queue_has_its_own_worker_so_an_import_never_waits_behind_generation() -> None:
    assert sorted(w.queue for w in WORKERS) == sorted(QUEUE_ROLES)
    kinds = registered_kinds()
    by_queue = {w.queue: w for w in WORKERS}
    worker_of = {kind: by_queue[kinds[kind].queue] for kind in ("import_data", "generate_campaign", "analyze_reviews")}
    assert len({id(w) for w in worker_of.values()}) == 3
    for worker in WORKERS:
        command = worker.command()
        assert command[command.index("-Q") + 1] == worker.queue  # one queue each, never "default,inference"
    assert by_queue["inference"].pool == by_queue["generation"].pool == "threads"  # models loaded once


def test_model_steps_run_after_the_steps_they_need() -> None:
    plan = launch_plan()
    kinds = registered_kinds()
    for step in MODEL_STEPS:
        assert step.kind in kinds
        for needed in step.after:
            assert plan.index(f"job {needed}") < plan.index(f"job {step.kind}"), (step.kind, needed)
    assert plan.index("job analyze_reviews") < plan.index("job product_insights")
    assert plan.index("job rebuild_profiles") < plan.index("job train_recommender") < plan.index(
        "job precompute_recommendations")


def test_steps_start_when_what_they_need_has_finished() -> None:
    steps = [Step("a"), Step("b", after=("a",)), Step("c", after=("a", "b"))]
    assert [s.kind for s in steps_to_start(steps, set(), set())] == ["a"]
    assert steps_to_start(steps, {"a"}, set()) == []
    assert [s.kind for s in steps_to_start(steps, {"a"}, {"a"})] == ["b"]
    assert [s.kind for s in steps_to_start(steps, {"a", "b"}, {"a", "b"})] == ["c"]


def test_a_step_waiting_for_a_step_that_never_runs_is_refused() -> None:
    with pytest.raises(ValueError, match="never run"):
        launch_plan(steps=[Step("analyze_reviews", after=("missing",))])
    with pytest.raises(ValueError, match="never run"):
        launch_plan([WorkerSpec("default", "prefork", 1)], [Step("a", after=("b",)), Step("b", after=("a",))])
