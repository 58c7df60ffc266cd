"""Platforms for the unit tests of the dispatcher and the daemon, registered at run time the way
any plugin is (`PLATFORMS.register`), never in the product registry.

Each account's publishes answer what its `Script` says, in turn (a `Published`, or an error to
raise), and may be held at a gate to stand for a slow network; every call is kept. They are
real `Platform` implementations behind the real registry, like the benchmark adapters: the
dispatcher and the daemon under test are not changed or patched in any way.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from postbot.platforms.base import Outgoing, Platform, Published

NAMES = {
    "scripted": "tests.platforms:ScriptedPlatform",
    "scripted-x": "tests.platforms:ScriptedXPlatform",
}


@dataclass
class Script:
    answers: deque[Published | BaseException] = field(default_factory=deque)
    calls: list[Outgoing] = field(default_factory=list)
    lookups: list[Outgoing] = field(default_factory=list)
    # What lookups answer, in turn (a Published, None: not found, or an error to raise).
    found: deque[Published | BaseException | None] = field(default_factory=deque)
    gate: threading.Event | None = None  # publishes wait here until it is set
    started: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(0))
    on_publish: Callable[[Outgoing], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self) -> threading.Event:
        self.gate = threading.Event()
        return self.gate

    def wait_started(self, n: int = 1, timeout: float = 10) -> None:
        for _ in range(n):
            assert self.started.acquire(timeout=timeout), "publish did not start"


SCRIPTS: dict[str, Script] = {}


class ScriptedPlatform(Platform):
    name = "scripted"
    default_limit = 500
    safe_to_resend: ClassVar[bool] = True

    def count(self, text: str) -> int:
        return len(text)

    def publish(self, outgoing: Outgoing) -> Published:
        script = SCRIPTS.setdefault(self.account.name, Script())
        with script.lock:
            script.calls.append(outgoing)
            answer = script.answers.popleft() if script.answers else None
        if script.on_publish is not None:
            script.on_publish(outgoing)
        script.started.release()
        if script.gate is not None:
            assert script.gate.wait(timeout=30), "the test never opened the gate"
        if isinstance(answer, BaseException):
            raise answer
        return answer or Published(
            f"r{outgoing.delivery_id}", f"https://p.example/{outgoing.delivery_id}", 200
        )

    def lookup(self, outgoing: Outgoing) -> Published | None:
        script = SCRIPTS.setdefault(self.account.name, Script())
        with script.lock:
            script.lookups.append(outgoing)
            answer = script.found.popleft() if script.found else None
        if isinstance(answer, BaseException):
            raise answer
        return answer


class ScriptedXPlatform(ScriptedPlatform):
    """Like X: no duplicate protection, so claimed only into free slots."""

    name = "scripted-x"
    safe_to_resend: ClassVar[bool] = False
