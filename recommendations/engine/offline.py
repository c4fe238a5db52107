"""Offline evaluation of every source and the hybrid on an interactions file (the engine of
`manage.py evaluate_recommendations` and `python -m evaluation.recommendations`).

Reading is forgiving where real exports differ and strict where a silent guess would mislead:
- ids are strings; rows with an empty user or item are skipped and counted;
- dates: ISO (`2010-12-01T08:26`, `2010-12-01 08:26:00`), epoch seconds (MovieLens `timestamp`), or
  `dd/mm/YYYY HH:MM` as in the UCI Online Retail export (day-first unless a value proves month-first);
  `date_format` (strptime) overrides the detection; an unreadable date names its line and value;
- an optional weight column (rows with weight <= 0, such as cancellations, are dropped and counted),
  basket column (co-purchase within an order), and excluded item codes. In Online Retail, `POST`, `D`,
  `M`, `DOT`, `BANK CHARGES`, `C2`, `PADS`, `CRUK` and `AMAZONFEE` are postage, discounts, manual
  adjustments and fees, not products: pass them to `exclude_items`;
- `.gz` files are read transparently.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .data import DAY, Dataset, build_dataset
from .fusion import shrink_weights
from .hybrid import HybridRecommender, default_sources, split_queries, tune_weights
from .metrics import evaluate
from .splits import Split, cutoff_split, cutoff_windows, holdout_split, holdout_windows

ONLINE_RETAIL_NON_PRODUCTS = ("POST", "D", "M", "DOT", "BANK CHARGES", "C2", "PADS", "CRUK", "AMAZONFEE")
METHOD_ORDER = ("popularity", "trending", "als", "item_item", "co_purchase", "content", "hybrid")


class InteractionFileError(ValueError):
    """A file the evaluation cannot read as asked; the message says where and why."""


@dataclass
class Interactions:
    users: list[str]
    items: list[str]
    times: np.ndarray  # epoch seconds
    weights: np.ndarray | None
    baskets: list[str] | None
    texts: dict[str, str]  # item id -> text (empty without a text column)
    skipped: Counter[str] = field(default_factory=Counter)

    def dataset(self) -> Dataset:
        return build_dataset(self.users, self.items, self.times, self.weights, self.baskets)


def _open(path: Path) -> TextIO:
    if not path.is_file():
        raise InteractionFileError(f"{path}: no such file")
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def detect_date_format(values: Iterable[str]) -> str:
    """'epoch', 'iso', 'dmy' or 'mdy' from sample values (slashed dates are day-first unless proved otherwise)."""
    sample = [v for v in values if v][:5000]
    if not sample:
        return "iso"
    if all(_NUMBER.match(v) for v in sample[:200]):
        return "epoch"
    slashed = [m for m in (_SLASHED.match(v) for v in sample) if m]
    if slashed and len(slashed) >= len(sample) // 2:
        if any(int(m.group(1)) > 12 for m in slashed):
            return "dmy"
        if any(int(m.group(2)) > 12 for m in slashed):
            return "mdy"
        return "dmy"
    return "iso"


def parse_date(value: str, kind: str) -> float:
    """Epoch seconds (naive times are read as UTC) for one value; ValueError when it does not fit `kind`."""
    value = value.strip()
    if kind == "epoch":
        return float(value)
    if kind in ("dmy", "mdy"):
        m = _SLASHED.match(value)
        if not m:
            raise ValueError(value)
        a, b, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        day, month = (a, b) if kind == "dmy" else (b, a)
        moment = datetime(year, month, day, int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0))
        return moment.replace(tzinfo=UTC).timestamp()
    iso = kind == "iso"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if iso else datetime.strptime(value, kind)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def parse_cutoff(value: str) -> float:
    """The --cutoff value: ISO date or datetime, or epoch seconds."""
    try:
        return parse_date(value, "epoch" if _NUMBER.match(value.strip()) else "iso")
    except ValueError as error:
        raise InteractionFileError(f"cutoff {value!r} is not a date (use YYYY-MM-DD or epoch seconds)") from error


def _require(header: Sequence[str], columns: dict[str, str | None], path: Path) -> None:
    for role, column in columns.items():
        if column and column not in header:
            raise InteractionFileError(
                f"{path}: no column {column!r} (given as {role}); the header has: {', '.join(header)}"
            )


def read_item_texts(path: Path, key: str, text_columns: Sequence[str]) -> dict[str, str]:
    """Item id -> text from an item file (e.g. MovieLens movies.csv: key movieId, text title and genres)."""
    with _open(path) as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        _require(header, {"--items-key": key}, path)
        for column in text_columns:
            _require(header, {"--item-text-column": column}, path)
        out = {}
        for row in reader:
            item = (row.get(key) or "").strip()
            text = ". ".join((row.get(c) or "").strip() for c in text_columns if (row.get(c) or "").strip())
            if item and text:
                out[item] = text.replace("|", ", ")
        return out


def read_interactions(
    path: Path,
    user_column: str,
    item_column: str,
    time_column: str,
    *,
    date_format: str | None = None,
    weight_column: str | None = None,
    basket_column: str | None = None,
    item_text_column: str | None = None,
    exclude_items: Iterable[str] = (),
    items_file: Path | None = None,
    items_key: str | None = None,
) -> Interactions:
    """Read an interactions CSV (see the module docstring for what is accepted and what is refused)."""
    excluded = {e.strip() for e in exclude_items if e.strip()}
    users: list[str] = []
    items: list[str] = []
    raw_times: list[str] = []
    lines: list[int] = []
    weights: list[float] = []
    baskets: list[str] = []
    texts: dict[str, str] = {}
    skipped: Counter[str] = Counter()
    text_from_rows = item_text_column if items_file is None else None
    with _open(path) as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if not header:
            raise InteractionFileError(f"{path}: empty file (no header row)")
        _require(
            header,
            {
                "--user-column": user_column,
                "--item-column": item_column,
                "--time-column": time_column,
                "--weight-column": weight_column,
                "--basket-column": basket_column,
                "--item-text-column": text_from_rows,
            },
            path,
        )
        for row in reader:
            user = (row.get(user_column) or "").strip()
            item = (row.get(item_column) or "").strip()
            if not user:
                skipped["empty user"] += 1
                continue
            if not item:
                skipped["empty item"] += 1
                continue
            if item in excluded:
                skipped["excluded item"] += 1
                continue
            if weight_column:
                value = (row.get(weight_column) or "").strip()
                try:
                    weight = float(value)
                except ValueError as error:
                    raise InteractionFileError(
                        f"{path}, line {reader.line_num}: {weight_column}={value!r} is not a number"
                    ) from error
                if not math.isfinite(weight) or weight <= 0:
                    skipped["weight <= 0"] += 1
                    continue
                weights.append(weight)
            users.append(user)
            items.append(item)
            raw_times.append((row.get(time_column) or "").strip())
            lines.append(reader.line_num)
            if basket_column:
                baskets.append((row.get(basket_column) or "").strip())
            if text_from_rows and item not in texts:
                text = (row.get(text_from_rows) or "").strip()
                if text:
                    texts[item] = text
    kind = date_format or detect_date_format(raw_times)
    times = np.empty(len(raw_times), dtype=np.float64)
    for n, value in enumerate(raw_times):
        try:
            times[n] = parse_date(value, kind)
        except (ValueError, OverflowError) as error:
            expected = {"epoch": "epoch seconds", "iso": "an ISO date", "dmy": "dd/mm/YYYY HH:MM",
                        "mdy": "mm/dd/YYYY HH:MM"}.get(kind, kind)
            raise InteractionFileError(
                f"{path}, line {lines[n]}: {time_column}={value!r} is not a date (expected {expected}; "
                "--date-format takes a strptime pattern)"
            ) from error
    if items_file is not None and item_text_column:
        texts = read_item_texts(items_file, items_key or item_column, [c.strip() for c in item_text_column.split(",")])
    return Interactions(
        users, items, times, np.asarray(weights, dtype=np.float32) if weight_column else None,
        baskets if basket_column else None, texts, skipped,
    )


@dataclass
class Report:
    methods: dict[str, dict[str, float]]
    k: int
    protocol: str
    counts: dict[str, Any]
    tuning: dict[str, Any] | None
    seconds: dict[str, float]


def _rankings(model: HybridRecommender, split: Split, k: int) -> dict[str, dict[str, list[str]]]:
    """Per method, each evaluated user's top k item ids (single sources and the fused hybrid)."""
    out: dict[str, dict[str, list[str]]] = {name: {} for name in model.sources}
    out["hybrid"] = {}
    for user, query in split_queries(split).items():
        lists = {name: s.candidates(query, model.depth) for name, s in model.sources.items()}
        for name, pairs in lists.items():
            out[name][user] = [model.items[i] for i, _ in pairs[:k]]
        active = {name: pairs for name, pairs in lists.items() if model.weights.get(name, 0) > 0}
        out["hybrid"][user] = [model.items[i] for i, _, _ in model.recommend(query, k, active)]
    return out


def run_evaluation(
    interactions: Interactions,
    k: int = 10,
    cutoff: float | None = None,
    holdout_fraction: float | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    tune: bool = True,
    windows: int = 3,
    seed: int = 42,
    log: Callable[[str], None] | None = None,
) -> Report:
    """Train every source before the split, score each and the hybrid on the users' new items."""
    say = log or (lambda message: None)
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    full = interactions.dataset()
    if not full.row_time.size:
        raise InteractionFileError("no usable rows (all were empty, excluded or had weight <= 0)")
    if cutoff is not None:
        split = cutoff_split(full, cutoff, label="test")
        protocol = f"cutoff {datetime.fromtimestamp(cutoff, UTC).isoformat()}"
        horizon_days = max((full.max_time - cutoff) / DAY, 1.0)
    elif holdout_fraction is not None:
        if not 0 < holdout_fraction < 1:
            raise InteractionFileError(f"holdout fraction {holdout_fraction} must be between 0 and 1")
        split = holdout_split(full, holdout_fraction, label="test")
        protocol = f"per-user holdout of the last {holdout_fraction:.0%} of each user's rows"
        horizon_days = 0.0
    else:
        raise InteractionFileError("give a cutoff date or a holdout fraction")
    if not split.train.n_users:
        raise InteractionFileError(f"no rows before the split ({protocol})")
    if not split.targets:
        raise InteractionFileError(
            f"no user has rows on both sides of the split ({protocol}) with an item new to them after it"
        )
    counts: dict[str, Any] = {
        "rows": int(full.row_time.size),
        "skipped": dict(interactions.skipped),
        "train_rows": int(split.train.row_time.size),
        "train_users": split.train.n_users,
        "train_items": split.train.n_items,
        "evaluated_users": len(split.targets),
        "test_items_per_user": round(float(np.mean([len(t) for t in split.targets.values()])), 2),
    }
    vectors: tuple[np.ndarray, list[str]] | None = None
    if embed is not None and interactions.texts:
        t0 = time.perf_counter()
        ids = [item for item in split.train.items if item in interactions.texts]
        if ids:
            vectors = (np.asarray(embed([interactions.texts[i] for i in ids]), dtype=np.float32), ids)
        seconds["embed"] = time.perf_counter() - t0
        counts["items_with_text"] = len(ids)
        say(f"embedded {len(ids)} item texts in {seconds['embed']:.1f} s")

    def make() -> HybridRecommender:
        return HybridRecommender(default_sources(with_content=vectors is not None, seed=seed))

    tuning = None
    model = make()
    if tune:
        t0 = time.perf_counter()
        if cutoff is not None:
            val = cutoff_windows(split.train, horizon_days, windows)
        else:
            val = holdout_windows(split.train, holdout_fraction or 0.2, max(windows - 1, 2))
        if val:
            # the coarse search, in the model's fusion from equal weights, then shrunk towards equal weights by the
            # validation sample size: a search on a few dozen users is mostly noise (`python -m evaluation.fusion`)
            result = tune_weights(val, make, vectors, k=k, method=model.fusion, start=dict(model.weights))
            users = sum(len(s.targets) for s in val)
            model.weights.update(shrink_weights(result.weights, users))
            tuning = result.as_dict()
            tuning["searched"] = result.weights
            tuning["weights"] = {name: round(w, 4) for name, w in model.weights.items()}
            tuning["window_users"] = [len(s.targets) for s in val]
            say(f"searched weights {result.weights}, shrunk by {users} validation users to {tuning['weights']}: "
                f"{result.metric} per window {result.default_scores} -> {result.chosen_scores}")
        seconds["tune"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    aligned = split.train.align_item_vectors(*vectors) if vectors else None
    model.fit(split.train, aligned)
    seconds["fit"] = time.perf_counter() - t0
    seconds.update({f"fit_{name}": round(s, 3) for name, s in model.fit_seconds.items()})
    t0 = time.perf_counter()
    rankings = _rankings(model, split, k)
    seconds["rank"] = time.perf_counter() - t0
    seconds["rank_ms_per_user"] = 1000 * seconds["rank"] / max(len(split.targets), 1)
    methods = {
        name: evaluate(rankings[name], split.targets, k, split.train.n_items)
        for name in METHOD_ORDER
        if name in rankings
    }
    seconds["total"] = time.perf_counter() - started
    return Report(methods, k, protocol, counts, tuning, {key: round(v, 3) for key, v in seconds.items()})


def table(report: Report) -> str:
    k = report.k
    lines = [
        f"{report.protocol}; {report.counts['evaluated_users']} users evaluated, k={k}",
        f"{'method':<12} {'recall@' + str(k):>10} {'ndcg@' + str(k):>10} {'hit@' + str(k):>10} {'coverage':>10}",
    ]
    for name, m in report.methods.items():
        lines.append(
            f"{name:<12} {m[f'recall@{k}']:>10.4f} {m[f'ndcg@{k}']:>10.4f} {m[f'hit_rate@{k}']:>10.4f} "
            f"{m['coverage']:>10.4f}"
        )
    return "\n".join(lines)
