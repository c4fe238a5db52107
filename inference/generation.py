"""Text generation backends behind one small interface: a local transformers model, or any
OpenAI-compatible server (vLLM, TGI, Ollama) for generation at scale.

Two calls, both batched, both on both backends:
- `generate(prompts)`: one string per prompt, in order; greedy by default, so the same prompt gives the same
  text and callers can cache by prompt (product summaries).
- `sample(prompts, n=...)`: n sampled `Candidate`s per prompt, each with the model's own mean token
  log-probability (fluency) and cut at the first stop string (one line, one paragraph): what best-of-n
  generation of copy parts chooses from. The local model samples a prompt's n candidates in one batch
  (`num_return_sequences`); a server gets one request with `n` (vLLM shares the prompt prefix's KV cache
  between them, and across requests with `--enable-prefix-caching`).
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

from .batching import map_batched
from .device import Device, select_device
from .loading import unmap_weights
from .metrics import record_generation
from .progress import OnBatch

logger = logging.getLogger(__name__)

DEFAULT_MAX_NEW_TOKENS = 128
SAMPLE_BATCH_FACTOR = 12  # sequences in one sampling batch: the device's generate batch size times this
MIN_SHARED_PREFIX = 32  # tokens the prompts of a sampling batch must share before they are read once for all
# Tokens that end an assistant turn in common chat templates, besides the tokenizer's own EOS.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end|>", "<end_of_turn>")


@dataclass(frozen=True)
class ChatPrompt:
    """One request: the task (system) and the material (user). Customer text belongs, fenced, in `user`."""

    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": self.user}]


@dataclass(frozen=True)
class Candidate:
    """One sampled continuation: its text (stop string and surrounding space removed), the mean
    log-probability of its tokens under the model (raw logits, before temperature; None when a server
    does not say), how many tokens it took and whether the token limit cut it off."""

    text: str
    mean_logprob: float | None = None
    tokens: int = 0
    cut_off: bool = False  # stopped by the token limit, not by an end of turn or a stop string

    @property
    def fluency(self) -> float:
        """exp(mean log-probability): the geometric mean token probability, in [0, 1]; 0.5 when unknown."""
        return math.exp(self.mean_logprob) if self.mean_logprob is not None else 0.5


class Generator(Protocol):
    """Anything that turns chat prompts into texts. `name` identifies the model for caches and records."""

    name: str

    def generate(
        self,
        prompts: Sequence[ChatPrompt],
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 0.0,
        seed: int = 0,
        on_batch: OnBatch | None = None,
    ) -> list[str]: ...

    def sample(
        self,
        prompts: Sequence[ChatPrompt],
        *,
        n: int = 1,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 0.8,
        seed: int = 0,
        stop: Sequence[str] = (),
        on_batch: OnBatch | None = None,
    ) -> list[list[Candidate]]: ...


class GenerationError(RuntimeError):
    """A generation request failed; the message names the backend, URL and status where there is one."""


@dataclass(frozen=True)
class Sampling:
    """How to continue a prompt: greedy (temperature 0), or sampled with a fixed seed."""

    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    temperature: float = 0.0
    seed: int = 0


@dataclass
class GenerationStats:
    """Throughput of the last `generate` call (for logs, benchmarks and the closing note)."""

    prompts: int = 0
    new_tokens: int = 0
    seconds: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0


class BatchedGenerator(ABC):
    """The one `generate` of both backends: prompts in, one text per prompt out in input order, `on_batch`
    after each batch, throughput kept in `stats` and logged. A backend only says how it runs a set of
    prompts (`_generate_all`)."""

    name: str
    stats: GenerationStats

    def generate(
        self,
        prompts: Sequence[ChatPrompt],
        *,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 0.0,
        seed: int = 0,
        on_batch: OnBatch | None = None,
        batch_size: int | None = None,
    ) -> list[str]:
        """`batch_size`: prompts handled at once (one forward pass of a local model, requests in flight
        to a server); the backend's own default when None."""
        if not prompts:
            return []
        stats = GenerationStats(prompts=len(prompts))
        started = time.perf_counter()
        texts, stats.new_tokens = self._generate_all(
            list(prompts), Sampling(max_new_tokens, temperature, seed), batch_size, on_batch
        )
        stats.seconds = time.perf_counter() - started
        self.stats = stats
        record_generation(type(self).__name__, stats.prompts, stats.new_tokens, stats.seconds)
        logger.info(
            "%s: %d prompts, %d new tokens in %.1f s (%.1f tokens/s)",
            self.name, stats.prompts, stats.new_tokens, stats.seconds, stats.tokens_per_second,
        )
        return texts

    def sample(
        self,
        prompts: Sequence[ChatPrompt],
        *,
        n: int = 1,
        max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
        temperature: float = 0.8,
        seed: int = 0,
        stop: Sequence[str] = (),
        on_batch: OnBatch | None = None,
        batch_size: int | None = None,
    ) -> list[list[Candidate]]:
        """`n` candidates per prompt, in input order, each ended at the first of `stop` (or end of turn, or
        `max_new_tokens`). n > 1 needs a temperature above 0 (greedy candidates would all be the same)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if n > 1 and temperature <= 0:
            raise ValueError("sampling several candidates needs a temperature above 0")
        if not prompts:
            return []
        stats = GenerationStats(prompts=len(prompts))
        started = time.perf_counter()
        results, stats.new_tokens = self._sample_all(
            list(prompts), Sampling(max_new_tokens, temperature, seed), n, tuple(stop), batch_size, on_batch
        )
        stats.seconds = time.perf_counter() - started
        self.stats = stats
        record_generation(type(self).__name__, stats.prompts, stats.new_tokens, stats.seconds)
        logger.info(
            "%s: %d prompts x %d candidates, %d new tokens in %.1f s (%.1f tokens/s)",
            self.name, stats.prompts, n, stats.new_tokens, stats.seconds, stats.tokens_per_second,
        )
        return results

    @abstractmethod
    def _sample_all(
        self, prompts: list[ChatPrompt], sampling: Sampling, n: int, stop: tuple[str, ...], batch_size: int | None,
        on_batch: OnBatch | None,
    ) -> tuple[list[list[Candidate]], int]:
        """(n candidates per prompt in input order, new tokens generated in all)."""

    @abstractmethod
    def _generate_all(
        self, prompts: list[ChatPrompt], sampling: Sampling, batch_size: int | None, on_batch: OnBatch | None
    ) -> tuple[list[str], int]:
        """(one text per prompt in input order, new tokens generated in all)."""


# --- Local transformers model ---------------------------------------------------------------------------


class LocalGenerator(BatchedGenerator):
    """A causal LM from a local folder (e.g. the one `prepare_models` converts), batched with left padding.

    Left padding keeps every prompt's last token at the right edge, where generation continues; prompts
    are grouped by length so little compute is spent on padding. On CPU float32 is used: on these
    machines (AVX2, no AVX-512 BF16 or AMX) the 0.5B model generated 7.7 tokens/s in float32 against
    3.7 in bf16 (4 summary prompts in one batch, 2 cores); bf16 only loads faster (1.5 s against 6 s).
    """

    def __init__(
        self,
        path: Path | str,
        device: Device | None = None,
        *,
        name: str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise FileNotFoundError(f"{self.path} holds no model (config.json is missing)")
        self.name = name or self.path.name
        self.device = device or select_device()
        self.dtype = dtype or (self.device.dtype if self.device.is_cuda else torch.float32)
        self.tokenizer = AutoTokenizer.from_pretrained(self.path, padding_side="left")
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(self.path, dtype=self.dtype)
        # Any: transformers' stubs type submodules loosely (generate, generation_config)
        self.model: Any = unmap_weights(model).to(self.device.torch).eval()
        self.eos_token_ids = self._eos_token_ids()
        self.stats = GenerationStats()
        self._lock = threading.Lock()  # one generate at a time per loaded model (threads in a worker)

    def _eos_token_ids(self) -> list[int]:
        ids: list[int] = []
        configured = self.model.generation_config.eos_token_id
        for value in [*(configured if isinstance(configured, list) else [configured]), self.tokenizer.eos_token_id]:
            if isinstance(value, int) and value not in ids:
                ids.append(value)
        vocab = self.tokenizer.get_vocab()
        ids += [vocab[token] for token in END_OF_TURN_TOKENS if token in vocab and vocab[token] not in ids]
        return ids

    def render(self, prompt: ChatPrompt) -> str:
        """The prompt as the model sees it (chat template with the assistant turn opened)."""
        text = self.tokenizer.apply_chat_template(prompt.messages(), tokenize=False, add_generation_prompt=True)
        return str(text)

    def _generate_all(
        self, prompts: list[ChatPrompt], sampling: Sampling, batch_size: int | None, on_batch: OnBatch | None
    ) -> tuple[list[str], int]:
        texts = [self.render(prompt) for prompt in prompts]
        new_tokens = 0

        def run(batch: list[str]) -> list[str]:
            nonlocal new_tokens
            outputs, generated = self._generate_batch(batch, sampling)
            new_tokens += generated
            return outputs

        with self._lock:
            results = map_batched(texts, batch_size or self.device.generate_batch_size, run, on_batch)
        return results, new_tokens

    def _sample_all(
        self, prompts: list[ChatPrompt], sampling: Sampling, n: int, stop: tuple[str, ...], batch_size: int | None,
        on_batch: OnBatch | None,
    ) -> tuple[list[list[Candidate]], int]:
        texts = [self.render(prompt) for prompt in prompts]
        new_tokens = 0
        # A batch holds prompts x n sequences. Decoding is bound by reading the weights, so a step costs
        # little more for 36 sequences than for 15 (0.42 s against 0.30 s on 2 cores): batch wide.
        per_batch = max(1, (batch_size or self.device.generate_batch_size * SAMPLE_BATCH_FACTOR) // n)

        def run(batch: list[str]) -> list[list[Candidate]]:
            nonlocal new_tokens
            outputs = self._sample_batch(batch, sampling, n, stop)
            new_tokens += sum(c.tokens for group in outputs for c in group)
            return outputs

        with self._lock:
            results = map_batched(texts, per_batch, run, on_batch)
        return results, new_tokens

    @torch.inference_mode()
    def _sample_batch(
        self, texts: list[str], sampling: Sampling, n: int, stop: tuple[str, ...]
    ) -> list[list[Candidate]]:
        """One `generate` for the whole batch: every prompt's n candidates decode together, one forward
        per step. The log-probability of each chosen token is read from the raw logits step by step (not
        kept for all steps: at 150k vocabulary that would be hundreds of MB)."""
        options: dict[str, Any] = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        if sampling.temperature > 0:
            options = {"do_sample": True, "temperature": sampling.temperature, "top_p": 0.95, "top_k": 50}
        if stop:
            options.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        input_ids, mask, cache = self._read_prompts(texts, n)
        if cache is not None:
            options["past_key_values"] = cache
        if sampling.temperature > 0:
            torch.manual_seed(sampling.seed)
        output = self.model.generate(
            input_ids=input_ids,
            attention_mask=mask,
            max_new_tokens=sampling.max_new_tokens,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            num_return_sequences=1 if cache is not None else n,
            output_logits=True,
            return_dict_in_generate=True,
            **options,
        )
        generated = output.sequences[:, input_ids.shape[1] :]
        steps = generated.shape[1]
        logprobs = torch.zeros(generated.shape, dtype=torch.float32, device=generated.device)
        for step, logits in enumerate(output.logits[:steps]):
            logprobs[:, step] = torch.log_softmax(logits.float(), dim=-1).gather(1, generated[:, step : step + 1])[:, 0]
        is_end = torch.isin(generated, torch.tensor(self.eos_token_ids, device=generated.device))
        lengths = torch.where(is_end.any(dim=1), is_end.int().argmax(dim=1) + 1, steps)
        decoded = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        ended = is_end.any(dim=1)
        candidates: list[Candidate] = []
        for row, text in enumerate(decoded):
            length = max(1, int(lengths[row]))
            mean = float(logprobs[row, :length].mean())
            cut_off = not bool(ended[row]) and not any(marker in text.lstrip() for marker in stop if marker)
            candidates.append(Candidate(cut_at_stop(text, stop), round(mean, 4), length, cut_off))
        return [candidates[i * n : (i + 1) * n] for i in range(len(texts))]

    def _read_prompts(self, texts: list[str], n: int) -> tuple[torch.Tensor, torch.Tensor, Any]:
        """(input ids, attention mask, key/value cache or None) for sampling n candidates of each prompt.

        Each prompt is read once, not n times (generate's num_return_sequences would read it n times, and on
        CPU reading a 350-token prompt costs as much as ~15 decoding steps): its cache is repeated for its
        candidates. The prompts of one call (one part of a group's variants) share most of their text, so
        the tokens they all start with (at least MIN_SHARED_PREFIX) are read once for the whole batch too:
        the rows are then the shared prefix, left padding, and each prompt's own tail, and the positions
        count real tokens only, as generate counts them. All but the last token are cached; generate reads
        that one. Returns no cache when there is nothing to share (one prompt, one candidate)."""
        rows = [list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) for text in texts]
        shared = 0
        if len(rows) > 1:
            limit = min(len(row) for row in rows) - 1  # every row keeps at least one token of its own
            while shared < limit and all(row[shared] == rows[0][shared] for row in rows):
                shared += 1
            shared = shared if shared >= MIN_SHARED_PREFIX else 0
        prefix, tails = rows[0][:shared], [row[shared:] for row in rows]
        width = max(len(tail) for tail in tails)
        pad = int(self.tokenizer.pad_token_id)
        device = self.device.torch
        tail_ids = torch.tensor([[pad] * (width - len(t)) + t for t in tails], device=device)
        tail_mask = torch.tensor([[0] * (width - len(t)) + [1] * len(t) for t in tails], device=device)
        batch = len(rows)
        ids = torch.cat([torch.tensor([prefix] * batch, dtype=torch.long, device=device).view(batch, -1), tail_ids], 1)
        mask = torch.cat([torch.ones(batch, len(prefix), dtype=torch.long, device=device), tail_mask], 1)
        if (n == 1 and not prefix) or ids.shape[1] < 2:
            return ids, mask, None
        cache = DynamicCache()
        if prefix:
            self.model(input_ids=torch.tensor([prefix], device=device), past_key_values=cache, use_cache=True)
            cache.batch_repeat_interleave(batch)
        if width > 1:
            positions = len(prefix) + (tail_mask[:, :-1].cumsum(-1) - 1).clamp(min=0)
            self.model(input_ids=tail_ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions,
                       past_key_values=cache, use_cache=True)
        if n > 1:
            cache.batch_repeat_interleave(n)
            ids, mask = ids.repeat_interleave(n, dim=0), mask.repeat_interleave(n, dim=0)
        return ids, mask, cache

    @torch.inference_mode()
    def _generate_batch(self, texts: list[str], sampling: Sampling) -> tuple[list[str], int]:
        encoded = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(
            self.device.torch
        )
        options: dict[str, Any] = {"do_sample": False}
        if sampling.temperature > 0:
            torch.manual_seed(sampling.seed)
            options = {"do_sample": True, "temperature": sampling.temperature}
        else:  # neutralise sampling defaults a model's generation_config may carry
            options.update(temperature=None, top_p=None, top_k=None)
        output = self.model.generate(
            **encoded,
            max_new_tokens=sampling.max_new_tokens,
            eos_token_id=self.eos_token_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            **options,
        )
        generated = output[:, encoded["input_ids"].shape[1] :]
        # Tokens up to and including the first end-of-turn count as generated; padding after it does not.
        is_end = torch.isin(generated, torch.tensor(self.eos_token_ids, device=generated.device))
        lengths = torch.where(is_end.any(dim=1), is_end.int().argmax(dim=1) + 1, generated.shape[1])
        texts_out = self.tokenizer.batch_decode(generated, skip_special_tokens=True)
        return [text.strip() for text in texts_out], int(lengths.sum())


# --- OpenAI-compatible server ---------------------------------------------------------------------------

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


@dataclass
class OpenAICompatibleGenerator(BatchedGenerator):
    """POSTs each prompt to `{base_url}/chat/completions` (vLLM, TGI, Ollama, ...), a few at a time.

    Transient failures (429, 5xx, timeouts, refused connections) are retried with exponential backoff
    (honouring Retry-After); anything else fails at once with the URL, status and the server's message.
    Only the standard library is used, so no HTTP client becomes a dependency.
    """

    base_url: str
    model: str
    api_key: str | None = None
    timeout: float = 120.0
    max_retries: int = 4
    concurrency: int = 4
    backoff: float = 1.0  # seconds before the first retry, doubled each time (capped at 30 s)
    name: str = field(init=False)
    stats: GenerationStats = field(init=False, default_factory=GenerationStats)

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url {self.base_url!r} must start with http:// or https://")
        if not self.model:
            raise ValueError(f"a model name is required for the server at {self.base_url}")
        self.base_url = self.base_url.rstrip("/")
        self.name = self.model

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def _generate_all(
        self, prompts: list[ChatPrompt], sampling: Sampling, batch_size: int | None, on_batch: OnBatch | None
    ) -> tuple[list[str], int]:
        def one(prompt: ChatPrompt) -> tuple[str, int]:
            answer = self._complete(prompt, sampling)
            if on_batch is not None:
                on_batch(1)
            return answer

        concurrency = batch_size or self.concurrency
        if len(prompts) <= 1 or concurrency <= 1:
            answers = [one(prompt) for prompt in prompts]
        else:
            with ThreadPoolExecutor(max_workers=min(concurrency, len(prompts))) as pool:
                answers = list(pool.map(one, prompts))  # map keeps the input order
        return [text for text, _ in answers], sum(tokens for _, tokens in answers)

    def _sample_all(
        self, prompts: list[ChatPrompt], sampling: Sampling, n: int, stop: tuple[str, ...], batch_size: int | None,
        on_batch: OnBatch | None,
    ) -> tuple[list[list[Candidate]], int]:
        def one(prompt: ChatPrompt) -> tuple[list[Candidate], int]:
            extra: dict[str, Any] = {"n": n, "logprobs": True, **({"stop": list(stop)} if stop else {})}
            data = self._post(prompt, sampling, extra)
            candidates = [_candidate(choice, stop) for choice in _choices(data, self.url)]
            tokens = _completion_tokens(data)
            attempt = 0
            while len(candidates) < n and attempt < n:  # a server that ignores `n` (Ollama): ask again
                attempt += 1
                again = Sampling(sampling.max_new_tokens, sampling.temperature, sampling.seed + attempt)
                data = self._post(prompt, again, {**extra, "n": 1})
                candidates += [_candidate(choice, stop) for choice in _choices(data, self.url)]
                tokens += _completion_tokens(data)
            if on_batch is not None:
                on_batch(1)
            return candidates[:n], tokens or sum(c.tokens for c in candidates)

        concurrency = batch_size or self.concurrency
        if len(prompts) <= 1 or concurrency <= 1:
            answers = [one(prompt) for prompt in prompts]
        else:
            with ThreadPoolExecutor(max_workers=min(concurrency, len(prompts))) as pool:
                answers = list(pool.map(one, prompts))  # map keeps the input order
        return [candidates for candidates, _ in answers], sum(tokens for _, tokens in answers)

    def _complete(self, prompt: ChatPrompt, sampling: Sampling) -> tuple[str, int]:
        """(the answer, its tokens as the server counts them, 0 when it does not say)."""
        data = self._post(prompt, sampling, {})
        return str(_choices(data, self.url)[0]["message"].get("content") or "").strip(), _completion_tokens(data)

    def _post(self, prompt: ChatPrompt, sampling: Sampling, extra: dict[str, Any]) -> dict[str, Any]:
        """The server's JSON reply to one chat completion request, with retries (see the class docstring)."""
        body = json.dumps(
            {
                "model": self.model,
                "messages": prompt.messages(),
                "temperature": sampling.temperature,
                "max_tokens": sampling.max_new_tokens,
                "seed": sampling.seed,
                **extra,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        for attempt in range(self.max_retries + 1):
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return _json_reply(response.read(), self.url)
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code not in RETRY_STATUSES or attempt == self.max_retries:
                    raise GenerationError(
                        f"POST {self.url} failed with HTTP {exc.code}"
                        f"{' after ' + str(attempt + 1) + ' attempts' if attempt else ''}: {detail}"
                    ) from None
                delay = _retry_after(exc) or self._delay(attempt)
                problem = f"HTTP {exc.code}"
            except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
                reason = getattr(exc, "reason", exc)
                if attempt == self.max_retries:
                    raise GenerationError(
                        f"POST {self.url} failed after {attempt + 1} attempts: {type(reason).__name__}: {reason} "
                        f"(timeout {self.timeout:g} s)"
                    ) from None
                delay, problem = self._delay(attempt), f"{type(reason).__name__}: {reason}"
            logger.warning(
                "POST %s: %s; retry %d of %d in %.1f s", self.url, problem, attempt + 1, self.max_retries, delay
            )
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _delay(self, attempt: int) -> float:
        return min(30.0, self.backoff * 2**attempt) * (1 + random.random() * 0.1)  # jitter: retries spread out

def _json_reply(raw: bytes, url: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise GenerationError(f"POST {url} returned no JSON: {raw[:200]!r}") from None
    if not isinstance(data, dict):
        raise GenerationError(f"POST {url} returned no JSON object: {raw[:200]!r}")
    _choices(data, url)
    return data


def _choices(data: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """The reply's choices, each with a message; a reply without any is an error naming the URL."""
    choices = data.get("choices")
    if (
        not isinstance(choices, list) or not choices
        or not all(isinstance(c, dict) and isinstance(c.get("message"), dict) for c in choices)
    ):
        raise GenerationError(f"POST {url} returned no choices[0].message.content: {json.dumps(data)[:200]}")
    return choices


def _completion_tokens(data: dict[str, Any]) -> int:
    usage = data.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    return tokens if isinstance(tokens, int) else 0


def _candidate(choice: dict[str, Any], stop: Sequence[str]) -> Candidate:
    """A chat completion choice as a Candidate: OpenAI-style `logprobs.content[].logprob` give fluency."""
    text = cut_at_stop(str(choice["message"].get("content") or ""), stop)
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    values = [
        row["logprob"] for row in content or [] if isinstance(row, dict) and isinstance(row.get("logprob"), int | float)
    ]
    mean = round(sum(values) / len(values), 4) if values else None
    return Candidate(text, mean, len(values), choice.get("finish_reason") == "length")


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """`text` up to the first stop string (servers and stop-string criteria may leave it in), stripped."""
    for marker in stop:
        if marker and marker in text.lstrip():
            text = text.lstrip().split(marker, 1)[0]
    return text.strip()


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """The server's own message (OpenAI servers put it in error.message), short."""
    try:
        raw = exc.read()
    except OSError:
        raw = b""
    try:
        data = json.loads(raw)
        message = data.get("error", {}).get("message") if isinstance(data.get("error"), dict) else data.get("error")
        text = str(message or data.get("detail") or raw.decode(errors="replace"))
    except (ValueError, AttributeError):
        text = raw.decode(errors="replace") or str(exc.reason)
    return text.strip()[:300]


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return min(30.0, max(0.0, float(value))) if value else None
    except ValueError:
        return None
