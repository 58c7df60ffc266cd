"""Benchmark platforms, registered at run time (never in the product registry).

- `bench-instant`: publish returns at once.
- `bench-slow`: publish takes `BENCH_LATENCY` seconds (default 0.05), like a network call.

Both put the moment the publish call started (`time.time()`) and the process id into
`Published.detail`, which the daemon stores in the attempt row: lateness and "published exactly
once" are read back from the database the daemon wrote. With `BENCH_CALLS_DIR` set, every
call is also appended to `calls-<pid>.txt` there, a record kept by the adapter itself.
"""

from __future__ import annotations

import os
import threading
import time
from typing import ClassVar

from postbot.platforms.base import Outgoing, Platform, Published

PLATFORMS = {
    "bench-instant": "benchmarks.adapters:InstantPlatform",
    "bench-slow": "benchmarks.adapters:SlowPlatform",
}


def register() -> None:
    """Add the benchmark platforms to postbot's registry (this process only)."""
    from postbot.platforms import PLATFORMS as REGISTRY

    for name, target in PLATFORMS.items():
        REGISTRY.register(name, target)


class _CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._file: object | None = None
        self._folder = os.environ.get("BENCH_CALLS_DIR")

    def add(self, delivery_id: int, called: float) -> None:
        if not self._folder:
            return
        with self._lock:
            if self._file is None:
                path = os.path.join(self._folder, f"calls-{os.getpid()}.txt")
                self._file = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
            self._file.write(f"{delivery_id} {called:.6f}\n")  # type: ignore[attr-defined]


_CALLS = _CallLog()


class InstantPlatform(Platform):
    name = "bench-instant"
    default_limit = 500
    safe_to_resend: ClassVar[bool] = True
    latency: ClassVar[float] = 0.0

    def count(self, text: str) -> int:
        return len(text)

    def publish(self, outgoing: Outgoing) -> Published:
        called = time.time()
        _CALLS.add(outgoing.delivery_id, called)
        if self.latency:
            time.sleep(self.latency)
        return Published(
            remote_id=f"bench-{outgoing.delivery_id}",
            url=f"https://bench.invalid/{outgoing.delivery_id}",
            http_status=200,
            detail={"called": called, "pid": os.getpid()},
        )

    def check(self) -> str:
        return "benchmark"

    def lookup(self, outgoing: Outgoing) -> Published | None:
        return None


class SlowPlatform(InstantPlatform):
    name = "bench-slow"
    latency: ClassVar[float] = float(os.environ.get("BENCH_LATENCY", "0.05"))
