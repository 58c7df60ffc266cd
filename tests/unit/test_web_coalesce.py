"""Concurrent readers of one page share renders, and each gets one that began after it asked."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from postbot.web.coalesce import Coalescer


def test_one_reader_renders_each_time() -> None:
    coalescer: Coalescer[int] = Coalescer()
    calls = iter(range(10))
    assert [coalescer.get("k", lambda: next(calls)) for _ in range(3)] == [0, 1, 2]


def test_readers_who_arrive_during_a_render_share_the_next_one_never_the_running_one() -> None:
    coalescer: Coalescer[tuple[int, float]] = Coalescer()
    first_started = threading.Event()
    release_first = threading.Event()
    renders: list[float] = []

    def render() -> tuple[int, float]:
        started = time.monotonic()
        renders.append(started)
        if len(renders) == 1:
            first_started.set()
            release_first.wait(5)
        return len(renders), started

    with ThreadPoolExecutor(max_workers=21) as pool:
        first = pool.submit(coalescer.get, "week", render)
        assert first_started.wait(5)
        arrived = time.monotonic()
        later = [pool.submit(coalescer.get, "week", render) for _ in range(20)]
        time.sleep(0.1)  # all twenty are waiting
        release_first.set()
        results = [f.result(5) for f in later]
    assert first.result()[0] == 1
    assert len(renders) == 2  # twenty readers, one more render
    assert {r[0] for r in results} == {2}
    assert all(started >= arrived for _, started in results)


def test_pages_apart_render_apart_and_a_failure_reaches_its_readers_only() -> None:
    coalescer: Coalescer[str] = Coalescer()
    assert coalescer.get("a", lambda: "A") == "A"

    def broken() -> str:
        raise RuntimeError("database gone")

    with pytest.raises(RuntimeError, match="database gone"):
        coalescer.get("b", broken)
    assert coalescer.get("b", lambda: "B") == "B"
    assert coalescer._lanes == {}  # nothing kept between requests
