"""Generation backends: the OpenAI-compatible client against a real local HTTP server, and the local
transformers backend on a tiny random model built here (plus one slow test on the prepared 0.5B model)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import torch

from inference import registry
from inference.device import select_device
from inference.generation import ChatPrompt, GenerationError, LocalGenerator, OpenAICompatibleGenerator
from inference.loading import ModelNotAvailable
from inference.prepare import generation_folder

from .http_server import serving

PROMPT = ChatPrompt(system="You summarise.", user="Facts: sound (3 reviews).")


# --- A scripted OpenAI-compatible server on 127.0.0.1 --------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON; None -> a completion echoing the user message
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class FakeServer:
    url: str
    replies: list[Reply]
    requests: list[dict[str, Any]]
    default: Callable[[dict[str, Any]], Reply] = lambda body: Reply()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    state = FakeServer(url="", replies=[], requests=[])
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                state.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                reply = state.replies.pop(0) if state.replies else state.default(body)
            time.sleep(reply.delay)
            payload = reply.body
            if payload is None:
                content = f"echo: {body['messages'][1]['content']}"
                payload = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
            raw = json.dumps(payload).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        state.url = url
        yield state


def client(server: FakeServer, **kwargs: Any) -> OpenAICompatibleGenerator:
    options: dict[str, Any] = {"timeout": 5.0, "max_retries": 2, "backoff": 0.01, **kwargs}
    return OpenAICompatibleGenerator(server.url, "qwen-test", **options)


def test_request_shape_and_bearer_key(server: FakeServer) -> None:
    out = client(server, api_key="sk-test").generate([PROMPT], max_new_tokens=33, temperature=0.0, seed=7)
    assert out == ["echo: Facts: sound (3 reviews)."]
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == {
        "model": "qwen-test",
        "messages": [
            {"role": "system", "content": "You summarise."},
            {"role": "user", "content": "Facts: sound (3 reviews)."},
        ],
        "temperature": 0.0,
        "max_tokens": 33,
        "seed": 7,
    }


def test_no_key_sends_no_authorization(server: FakeServer) -> None:
    client(server).generate([PROMPT])
    assert "Authorization" not in server.requests[0]["headers"]


def test_retries_503_then_succeeds(server: FakeServer) -> None:
    server.replies += [Reply(503, {"error": {"message": "loading"}}), Reply(429, {}, {"Retry-After": "0"})]
    assert client(server).generate([PROMPT]) == ["echo: Facts: sound (3 reviews)."]
    assert len(server.requests) == 3


def test_gives_up_after_max_retries_naming_url_and_status(server: FakeServer) -> None:
    server.default = lambda body: Reply(503, {"error": {"message": "overloaded"}})
    with pytest.raises(GenerationError) as error:
        client(server, max_retries=1).generate([PROMPT])
    assert f"POST {server.url}/chat/completions failed with HTTP 503 after 2 attempts: overloaded" == str(error.value)
    assert len(server.requests) == 2


@pytest.mark.parametrize(("status", "message"), [(400, "max_tokens is too large"), (401, "invalid api key")])
def test_client_errors_fail_at_once_with_the_servers_message(server: FakeServer, status: int, message: str) -> None:
    server.replies.append(Reply(status, {"error": {"message": message, "type": "invalid_request_error"}}))
    with pytest.raises(GenerationError, match=f"chat/completions failed with HTTP {status}: {message}"):
        client(server).generate([PROMPT])
    assert len(server.requests) == 1  # not retried


def test_timeout_is_a_clear_error(server: FakeServer) -> None:
    server.default = lambda body: Reply(delay=1.0)
    started = time.perf_counter()
    with pytest.raises(GenerationError, match=r"failed after 2 attempts: .*timed out.*\(timeout 0.2 s\)"):
        client(server, timeout=0.2, max_retries=1).generate([PROMPT])
    assert time.perf_counter() - started < 2.0


def test_malformed_response_is_a_clear_error(server: FakeServer) -> None:
    server.replies.append(Reply(200, {"unexpected": True}))
    with pytest.raises(GenerationError, match=r"returned no choices\[0\].message.content"):
        client(server).generate([PROMPT])


def test_concurrent_requests_keep_input_order(server: FakeServer) -> None:
    # later prompts answer sooner, so completion order is the reverse of input order
    server.default = lambda body: Reply(delay=0.05 * (6 - int(body["messages"][1]["content"])))
    prompts = [ChatPrompt("s", str(i)) for i in range(6)]
    done: list[int] = []
    out = client(server, concurrency=3).generate(prompts, on_batch=done.append)
    assert out == [f"echo: {i}" for i in range(6)]
    assert sum(done) == 6


def test_refuses_bad_configuration() -> None:
    with pytest.raises(ValueError, match="must start with http"):
        OpenAICompatibleGenerator("localhost:8000/v1", "m")
    with pytest.raises(ValueError, match="a model name is required"):
        OpenAICompatibleGenerator("http://localhost:8000/v1", "")


# --- The registry ----------------------------------------------------------------------------------------


@pytest.fixture
def clean_registry() -> Iterator[None]:
    registry.clear()
    yield
    registry.clear()


def test_registry_uses_the_server_when_a_base_url_is_set(settings: Any, clean_registry: None) -> None:
    settings.GENERATION_BASE_URL = "http://127.0.0.1:9/v1"
    settings.GENERATION_MODEL_NAME = "served-model"
    settings.GENERATION_API_KEY = "k"
    backend = registry.generator()
    assert isinstance(backend, OpenAICompatibleGenerator)
    assert backend.url == "http://127.0.0.1:9/v1/chat/completions"
    assert (backend.name, backend.api_key) == ("served-model", "k")
    assert registry.generator() is backend  # one per process

    settings.GENERATION_MODEL_NAME = ""
    registry.clear()
    with pytest.raises(ModelNotAvailable, match="needs GENERATION_MODEL_NAME"):
        registry.generator()


def test_registry_says_how_to_prepare_a_missing_model(settings: Any, tmp_path: Path, clean_registry: None) -> None:
    settings.GENERATION_BASE_URL = ""
    settings.GENERATION_MODEL = ""
    settings.VAR_DIR = tmp_path
    with pytest.raises(ModelNotAvailable, match=r"run `manage\.py prepare_models`"):
        registry.generator()


# --- The local backend on a tiny random model ------------------------------------------------------------

SPECIAL = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]  # <|im_end|> is id 0 (see `always_end`)
WORDS = [*SPECIAL, "system", "user", "assistant", "the", "sound", "is", "good", "bad", "battery", "strap", "fit"]
TEMPLATE = (
    "{% for m in messages %}<|im_start|> {{ m['role'] }} {{ m['content'] }} <|im_end|> {% endfor %}"
    "{% if add_generation_prompt %}<|im_start|> assistant {% endif %}"
)


def tiny_model(folder: Path, *, always_end: bool = False) -> Path:
    """A 2-layer Qwen2 with a word-level tokenizer and a chat template: real code paths, milliseconds.
    `always_end`: zero final norm, so every logit ties and argmax picks id 0, which is <|im_end|>."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    vocab = {word: i for i, word in enumerate(WORDS)}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="the"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>", chat_template=TEMPLATE
    )
    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=len(WORDS), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=256, eos_token_id=0, pad_token_id=1, bos_token_id=2,
        tie_word_embeddings=False,
    )
    model = Qwen2ForCausalLM(config)
    if always_end:
        with torch.no_grad():
            model.model.norm.weight.zero_()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> LocalGenerator:
    return LocalGenerator(tiny_model(tmp_path_factory.mktemp("tiny")), select_device("cpu"))


def test_local_batches_give_the_same_text_as_one_by_one_in_input_order(tiny: LocalGenerator) -> None:
    prompts = [
        ChatPrompt("system", "the sound is good"),
        ChatPrompt("system", "bad"),
        ChatPrompt("system", "the battery is bad the strap is bad the fit is good"),
        ChatPrompt("system", "strap fit"),
        ChatPrompt("system", "battery"),
    ]
    alone = [tiny.generate([p], max_new_tokens=6)[0] for p in prompts]
    done: list[int] = []
    batched = tiny.generate(prompts, max_new_tokens=6, batch_size=2, on_batch=done.append)
    assert batched == alone  # left padding and order restoration change nothing
    assert done == [2, 2, 1]
    assert tiny.generate(prompts, max_new_tokens=6, batch_size=2) == batched  # greedy: deterministic
    assert tiny.tokenizer.padding_side == "left"
    assert tiny.stats.prompts == 5 and tiny.stats.new_tokens <= 5 * 6


def test_local_renders_the_chat_template(tiny: LocalGenerator) -> None:
    assert tiny.render(ChatPrompt("system", "good")) == (
        "<|im_start|> system system <|im_end|> <|im_start|> user good <|im_end|> <|im_start|> assistant "
    )


def test_local_stops_at_the_end_of_turn(tmp_path: Path) -> None:
    generator = LocalGenerator(tiny_model(tmp_path, always_end=True), select_device("cpu"))
    assert generator.generate([PROMPT, ChatPrompt("s", "u")], max_new_tokens=20) == ["", ""]
    assert generator.stats.new_tokens == 2  # one end-of-turn token each, nothing after it


def test_local_refuses_a_folder_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"config\.json is missing"):
        LocalGenerator(tmp_path)


# --- The real default model (prepared by `manage.py prepare_models`) -------------------------------------


@pytest.mark.slow
def test_prepared_default_model_writes_a_sentence(settings: Any) -> None:
    """Uses the folder `prepare_models` converts (about a minute, 1.3 GB): `make test` prepares it first.
    Not prepared here in a temporary folder: that would double the disk and the minute for one assertion."""
    folder = generation_folder(Path(settings.VAR_DIR))
    if not (folder / "config.json").is_file():
        pytest.skip(f"{folder} is not prepared: run `manage.py prepare_models`")
    generator = LocalGenerator(folder, select_device("cpu"))
    [text] = generator.generate(
        [ChatPrompt("You write one short sentence.", "Say that customers like the sound of these headphones.")],
        max_new_tokens=16,
    )
    assert len(text.split()) >= 3
    assert generator.stats.new_tokens > 0
    # the shared prompt cache gives the candidates transformers' own num_return_sequences gives (same seed)
    prompts = [ChatPrompt("You write marketing copy.", "Write a subject line for a trail shoe loved for its grip."),
               ChatPrompt("You write marketing copy.", "Write one line about a serum.")]
    shared = generator.sample(prompts, n=2, max_new_tokens=12, temperature=0.8, seed=4, stop=["\n"])
    encoded = generator.tokenizer([generator.render(p) for p in prompts], return_tensors="pt", padding=True,
                                  add_special_tokens=False)
    torch.manual_seed(4)
    plain = generator.model.generate(
        **encoded, max_new_tokens=12, do_sample=True, temperature=0.8, top_p=0.95, top_k=50, num_return_sequences=2,
        eos_token_id=generator.eos_token_ids, pad_token_id=generator.tokenizer.pad_token_id, stop_strings=["\n"],
        tokenizer=generator.tokenizer,
    )
    texts = generator.tokenizer.batch_decode(plain[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
    assert [c.text for group in shared for c in group] == [text.strip() for text in texts]
    assert all(c.mean_logprob is not None and c.mean_logprob < 0 for group in shared for c in group)
    # prompts sharing a long start are read once for the batch: greedy text is what generate gives alone
    facts = "Product: Trail Runner X, a trail running shoe. Customers praise its grip on wet rock, its light " \
            "weight and its cushioning on long runs. Audience: trail runners. Voice: warm and plain."
    long = [ChatPrompt("You write marketing copy.", f"{facts}\nWrite the email subject line."),
            ChatPrompt("You write marketing copy.", f"{facts}\nWrite the text of the email's button.")]
    alone = [generator.generate([p], max_new_tokens=10)[0].split("\n")[0].strip() for p in long]
    together = generator.sample(long, n=1, max_new_tokens=10, temperature=0.0, stop=["\n"])
    assert [group[0].text for group in together] == alone


# --- Sampling candidates (best-of-n) ----------------------------------------------------------------------


def _choice(content: str, logprobs: list[float] | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content}}
    if logprobs is not None:
        choice["logprobs"] = {"content": [{"token": "t", "logprob": value} for value in logprobs]}
    return choice


def test_server_sampling_asks_for_n_with_logprobs_and_stop(server: FakeServer) -> None:
    server.replies = [Reply(body={"choices": [_choice("Grip on wet rock\nmore", [-0.1, -0.3]),
                                              {**_choice("Trail ready"), "finish_reason": "length"}],
                                  "usage": {"completion_tokens": 9}})]
    out = client(server).sample([PROMPT], n=2, max_new_tokens=20, temperature=0.8, seed=3, stop=["\n"])
    body = server.requests[0]["body"]
    assert (body["n"], body["logprobs"], body["stop"], body["temperature"], body["seed"]) == (2, True, ["\n"], 0.8, 3)
    assert [c.text for c in out[0]] == ["Grip on wet rock", "Trail ready"]  # cut at the stop string
    assert out[0][0].mean_logprob == pytest.approx(-0.2) and out[0][1].mean_logprob is None
    assert out[0][1].fluency == 0.5 and 0 < out[0][0].fluency < 1
    assert (out[0][0].cut_off, out[0][1].cut_off) == (False, True)  # finish_reason "length"


def test_server_that_ignores_n_is_asked_again_with_other_seeds(server: FakeServer) -> None:
    server.default = lambda body: Reply(body={"choices": [_choice(f"seed {body['seed']}")]})
    out = client(server).sample([PROMPT], n=3, temperature=0.7, seed=10)
    assert [c.text for c in out[0]] == ["seed 10", "seed 11", "seed 12"]
    assert [r["body"]["n"] for r in server.requests] == [3, 1, 1]


def test_sampling_refuses_greedy_candidates(server: FakeServer) -> None:
    with pytest.raises(ValueError, match="temperature above 0"):
        client(server).sample([PROMPT], n=2, temperature=0.0)
    with pytest.raises(ValueError, match="at least 1"):
        client(server).sample([PROMPT], n=0)


def test_local_sampling_gives_n_candidates_with_their_log_probability(tiny: LocalGenerator) -> None:
    prompts = [ChatPrompt("system", "the sound is good"), ChatPrompt("system", "bad strap")]
    out = tiny.sample(prompts, n=3, max_new_tokens=5, temperature=1.0, seed=1, batch_size=3)
    assert [len(group) for group in out] == [3, 3]
    again = tiny.sample(prompts, n=3, max_new_tokens=5, temperature=1.0, seed=1, batch_size=3)
    assert [[c.text for c in g] for g in again] == [[c.text for c in g] for g in out]  # seeded
    for group in out:
        for candidate in group:
            assert candidate.mean_logprob is not None and candidate.mean_logprob <= 0
            assert 1 <= candidate.tokens <= 5
            if candidate.tokens < 5:  # ended within the limit
                assert not candidate.cut_off
    # the mean log-probability is the model's own: recompute one greedy candidate with a plain forward pass
    greedy = tiny.sample(prompts[:1], n=1, max_new_tokens=4, temperature=0.0)[0][0]
    assert greedy.text == tiny.generate(prompts[:1], max_new_tokens=4)[0]
    rendered = tiny.tokenizer(tiny.render(prompts[0]), add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = tiny.tokenizer(greedy.text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = tiny.model(torch.cat([rendered, ids], dim=1)).logits[0]
    start = rendered.shape[1]
    expected = torch.log_softmax(logits[start - 1 : start - 1 + ids.shape[1]], dim=-1).gather(1, ids[0][:, None])
    if greedy.tokens == ids.shape[1]:  # no end-of-turn token among the counted ones
        assert greedy.mean_logprob == pytest.approx(float(expected.mean()), abs=1e-3)


def test_local_sampling_stops_at_a_stop_string(tiny: LocalGenerator) -> None:
    out = tiny.sample([ChatPrompt("system", "the sound")], n=4, max_new_tokens=8, temperature=2.0, seed=5,
                      stop=["bad"])
    for candidate in out[0]:
        assert "bad" not in candidate.text


def test_local_sampling_reads_each_prompt_once_and_matches_plain_generate(tiny: LocalGenerator) -> None:
    """The shared prompt cache (one prefill per prompt, repeated for its n candidates) changes nothing: the
    same seed gives the same candidates as transformers' own num_return_sequences (on the real model too, in
    the slow test above)."""
    # longest first: the order a batch is sorted into, so both paths draw their random numbers for the same rows
    prompts = [ChatPrompt("system", "the battery is bad the strap"), ChatPrompt("system", "the sound is good")]
    out = tiny.sample(prompts, n=3, max_new_tokens=6, temperature=1.0, seed=7)
    encoded = tiny.tokenizer([tiny.render(p) for p in prompts], return_tensors="pt", padding=True,
                             add_special_tokens=False)
    torch.manual_seed(7)
    plain = tiny.model.generate(**encoded, max_new_tokens=6, do_sample=True, temperature=1.0, top_p=0.95, top_k=50,
                                num_return_sequences=3, eos_token_id=tiny.eos_token_ids,
                                pad_token_id=tiny.tokenizer.pad_token_id)
    texts = tiny.tokenizer.batch_decode(plain[:, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
    assert [c.text for group in out for c in group] == [text.strip() for text in texts]


def test_compose_offers_an_llm_server_the_workers_can_switch_to() -> None:
    """docker-compose.yml: the optional vLLM service (profile llm, prefix caching, offline weights) serves the
    model name the workers ask for, and GENERATION_BASE_URL reaches every worker."""
    import yaml

    compose = yaml.safe_load((Path(__file__).resolve().parents[2] / "docker-compose.yml").read_text())
    llm = compose["services"]["llm"]
    assert llm["profiles"] == ["llm"] and "--enable-prefix-caching" in llm["command"]
    assert "--served-model-name=${GENERATION_MODEL_NAME:-copy}" in llm["command"]
    assert llm["environment"]["HF_HUB_OFFLINE"] == "1"
    for name in ("worker", "worker-gpu"):
        env = compose["services"][name]["environment"]
        assert env["GENERATION_BASE_URL"] == "${GENERATION_BASE_URL:-}"
        assert env["GENERATION_MODEL_NAME"] == "${GENERATION_MODEL_NAME:-copy}"
