"""Concurrent readers of one page share one render ("single flight"), and never a stale one.

A request that arrives while a render of the same page is running does not start its own,
and does not take the running one either (it began before the request came, so it may miss
a write the reader just made): it waits for the next render, which starts as soon as the
running one ends and serves everyone who arrived in between. Each answer is therefore a render
that began after its request arrived, and twenty readers cost two renders, not twenty.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Flight(Generic[T]):
    result: Future[T] = field(default_factory=Future)
    turn: threading.Event = field(default_factory=threading.Event)  # set: may start


@dataclass
class _Lane(Generic[T]):
    running: _Flight[T] | None = None
    waiting: _Flight[T] | None = None  # the next render, for those who came during `running`


class Coalescer(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lanes: dict[Hashable, _Lane[T]] = {}

    def get(self, key: Hashable, render: Callable[[], T]) -> T:
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            if lane.running is None:
                flight, leads = _Flight[T](), True
                flight.turn.set()
                lane.running = flight
            elif lane.waiting is None:
                flight, leads = _Flight[T](), True
                lane.waiting = flight
            else:
                flight, leads = lane.waiting, False
        if not leads:
            return flight.result.result()
        flight.turn.wait()
        try:
            flight.result.set_result(render())
        except BaseException as exc:
            flight.result.set_exception(exc)
        finally:
            with self._lock:
                lane.running, lane.waiting = lane.waiting, None
                if lane.running is not None:
                    lane.running.turn.set()
                elif self._lanes.get(key) is lane:
                    del self._lanes[key]
        return flight.result.result()
