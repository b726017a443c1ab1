"""The FAQ bot right after start-up and under a flood of questions: a question waits (bounded) for the meaning-based
index being built and for the sentence encoder's CPU share, instead of being answered by words alone, and
/healthz tells a deployment when the bot is ready."""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bots.config import BotConfig
from bots.matcher import Matcher
from hub.assistant import Assistant
from nlp.encoder import Budget
from tests.test_bot_flow import QUESTIONS, bot_hub, no_frame


@pytest.fixture
def slow_index(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The meaning-based index is built only once the returned event is set (a large knowledge base, first seen)."""
    gate = threading.Event()
    build = Matcher.ensure_semantic

    def ensure(self: Matcher, stop: threading.Event | None = None) -> bool:
        gate.wait(30)
        return build(self, stop)

    monkeypatch.setattr(Matcher, "ensure_semantic", ensure)
    yield gate
    gate.set()


async def health(h: Any) -> dict[str, Any]:
    status, body = await h.api("GET", "/healthz")
    assert status == 200
    return body


async def test_a_question_waits_for_the_index_and_health_says_when_the_bot_is_ready(
        sqlite_url: str, slow_index: threading.Event) -> None:
    text, entry = QUESTIONS["en"]
    async with bot_hub(sqlite_url) as h:
        assert (await health(h))["bot"] == "warming"
        chat = await h.chat(lang="en")
        await chat.say(text)
        await no_frame(chat, wait=0.5)  # held back, not answered by words alone
        slow_index.set()
        frame = await chat.expect("message", timeout=10)
        assert frame["author"] == "bot" and frame["text"].startswith(h.hub.assistant.holder.kb.get(entry).answer("en"))
        assert (await health(h))["bot"] == "ready"


async def test_the_wait_for_the_index_is_bounded(sqlite_url: str, slow_index: threading.Event) -> None:
    text, entry = QUESTIONS["th"]
    async with bot_hub(sqlite_url, warmup_wait="300ms") as h:
        chat = await h.chat(lang="th")
        started = time.monotonic()
        await chat.say(text)
        frame = await chat.expect("message", timeout=10)
        assert frame["author"] == "bot" and time.monotonic() - started >= 0.3
        assert (await health(h))["bot"] == "warming"  # still building; the word-based index answered meanwhile
        slow_index.set()  # the build runs in a worker thread, which the hub's shutdown waits for


async def test_health_reports_the_bot_off(sqlite_url: str) -> None:
    async with bot_hub(sqlite_url, enabled=False) as h:
        assert (await health(h))["bot"] == "off"


async def test_the_hub_stopping_tells_the_index_build_to_stop(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[threading.Event | None] = []
    build = Matcher.ensure_semantic

    def ensure(self: Matcher, stop: threading.Event | None = None) -> bool:
        asked.append(stop)
        return build(self, stop)

    monkeypatch.setattr(Matcher, "ensure_semantic", ensure)
    async with bot_hub(sqlite_url) as h:
        await h.hub.assistant.reloader.until_ready(10)
        assert asked and asked[0] is not None and not asked[0].is_set()
    assert asked[0].is_set()


async def test_the_hub_stopping_stops_a_reloads_build_and_keeps_the_version_in_use(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A changed knowledge base is built before the swap, in a thread; a new version's first build can take a
    minute.  Stopping the hub tells that build to stop too, and the version in use stays."""
    asked: list[threading.Event | None] = []
    build = Matcher.ensure_semantic

    def ensure(self: Matcher, stop: threading.Event | None = None) -> bool:
        asked.append(stop)
        if len(asked) == 1:
            return build(self, stop)  # the first build at start-up, as it is
        assert stop is not None and stop.wait(30)  # a long build: it ends only when told to stop
        return False

    monkeypatch.setattr(Matcher, "ensure_semantic", ensure)
    async with bot_hub(sqlite_url) as h:
        reloader, holder = h.hub.assistant.reloader, h.hub.assistant.holder
        await reloader.until_ready(10)
        in_use = holder.index
        reload = asyncio.create_task(reloader.reload(force=True))
        for _ in range(500):
            if len(asked) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(asked) == 2 and asked[1] is not None and not asked[1].is_set()
        started = time.monotonic()
        await reloader.stop()
        assert await asyncio.wait_for(reload, 5) is False
        assert time.monotonic() - started < 5
        assert holder.index is in_use


def test_a_stop_ends_a_first_build_between_chunks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A first build of a large knowledge base runs in a thread, which the process's exit waits for: asked to stop,
    it ends after the chunk it is embedding (nlp.cache keeps that chunk for the next start)."""
    import numpy as np

    from bots.kb import load
    from nlp import cache
    from nlp import encoder as encoder_module

    monkeypatch.setenv("HUB_CACHE_DIR", str(tmp_path))
    stop = threading.Event()
    calls: list[int] = []

    class Fake:
        name, dim = "fake-stop-test", 384

        def embed(self, texts: Any) -> Any:
            calls.append(len(texts))
            if len(calls) == 1:
                stop.set()  # the hub stops while the first chunk is being embedded
            v = np.random.default_rng(len(calls)).normal(size=(len(texts), 384)).astype(np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    monkeypatch.setattr(encoder_module, "load_encoder", lambda *a, **k: Fake())
    m = Matcher(load(Path(__file__).resolve().parents[1] / "faq.yaml"))
    assert m.ensure_semantic(stop) is False and m.semantic is None
    assert calls == [cache.CHUNK]  # one chunk of the shipped knowledge base's 1,186 examples
    assert m.ensure_semantic() is True  # the next start carries on from the cache and finishes
    assert sum(calls) > cache.CHUNK


def test_budget_room_in() -> None:
    b = Budget(share=0.5, window=1.0)
    assert b.room_in() == 0.0 and not b.exhausted()
    b.spend(1.0)  # twice the share of the window
    wait = b.room_in()
    assert b.exhausted() and 0.6 < wait <= 0.7  # ln(2) of the window, less the time since spending
    time.sleep(wait + 0.02)
    assert not b.exhausted() and b.room_in() == 0.0


def _turns(wait: float) -> tuple[Any, Any]:
    encoder = SimpleNamespace(budget=Budget(share=0.1, window=0.2))
    owner = SimpleNamespace(cfg=BotConfig(encoder_wait=wait), _turn=asyncio.Lock())
    return owner, SimpleNamespace(encoder=encoder)


async def test_questions_take_turns_for_the_encoder_share() -> None:
    owner, matcher = _turns(5.0)
    budget = matcher.encoder.budget
    async with Assistant._encoder_turn(owner, matcher):  # within its share: straight through
        pass
    budget.spend(0.1)  # five times the share of the window: room again in 0.2 * ln 5 = 0.32 s
    order: list[tuple[int, float]] = []
    started = time.monotonic()

    async def question(n: int) -> None:
        async with Assistant._encoder_turn(owner, matcher):
            order.append((n, time.monotonic() - started))
            budget.spend(0.03)  # each matched question spends the share again

    await asyncio.gather(*(question(n) for n in range(3)))
    assert [n for n, _ in order] == [0, 1, 2]  # in the order they came
    assert order[0][1] >= 0.3  # the first waited for room
    assert order[2][1] > order[1][1] > order[0][1]  # and each after it for the room the one before had used
    assert not owner._turn.locked()


async def test_the_turn_is_bounded_by_encoder_wait() -> None:
    owner, matcher = _turns(0.1)
    matcher.encoder.budget.spend(100.0)  # a flood: no room for minutes
    started = time.monotonic()
    async with Assistant._encoder_turn(owner, matcher):
        pass
    assert 0.09 <= time.monotonic() - started < 1.0  # then the word-based index answers
    assert not owner._turn.locked()


def test_bulk_embedding_threads_are_per_thread(encoder: Any) -> None:
    from nlp.encoder import _openmp, omp_threads

    lib = _openmp()
    if lib is None:
        pytest.skip("the engine's OpenMP runtime is not visible in /proc/self/maps")
    before = lib.omp_get_max_threads()
    seen: list[int] = []
    inside = threading.Event()
    done = threading.Event()

    def other() -> None:
        with omp_threads(before + 1):
            seen.append(lib.omp_get_max_threads())
            inside.set()
            done.wait(5)

    t = threading.Thread(target=other)
    t.start()
    assert inside.wait(5)
    assert seen == [before + 1] and lib.omp_get_max_threads() == before  # this thread keeps its own setting
    done.set()
    t.join()
    encoder.embed_bulk(["hello", "สวัสดี", "سلام"])
    assert lib.omp_get_max_threads() == before  # restored after a bulk build
