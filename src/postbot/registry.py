"""Plugins by name: platforms and stores are both found this way.

A registry maps a name to `"module:Class"`. postbot's own plugins are listed in the code (no
metadata scan on the hot path: `postbot enqueue` must start fast); a third-party package adds
one through an entry point in its own `pyproject.toml`, without editing postbot:

    [project.entry-points."postbot.platforms"]
    myspace = "postbot_myspace:MySpacePlatform"

Modules are imported only when their plugin is first used.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from postbot.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, group: str, builtin: Mapping[str, str]) -> None:
        self.kind = kind  # for messages: "platform", "database"
        self.group = group  # the entry-point group third-party plugins use
        self._targets = dict(builtin)
        self._loaded: dict[str, type[T]] = {}
        self._scanned = False
        self._lock = threading.Lock()

    def register(self, name: str, target: str) -> None:
        """Add a plugin at run time (benchmarks and tests register theirs this way)."""
        with self._lock:
            self._targets[name] = target
            self._loaded.pop(name, None)

    def unregister(self, name: str) -> None:
        """Take a plugin added with `register` out again (a test's platform, after the test)."""
        with self._lock:
            self._targets.pop(name, None)
            self._loaded.pop(name, None)

    def names(self) -> list[str]:
        self._scan()
        return sorted(self._targets)

    def __contains__(self, name: object) -> bool:
        if name in self._targets:
            return True
        self._scan()
        return name in self._targets

    def load(self, name: str) -> type[T]:
        cls = self._loaded.get(name)
        if cls is not None:
            return cls
        if name not in self:
            raise ConfigError(f"unknown {self.kind} '{name}' (known: {', '.join(self.names())})")
        module_name, _, attr = self._targets[name].partition(":")
        cls = getattr(importlib.import_module(module_name), attr)
        self._loaded[name] = cls
        return cls

    def _scan(self) -> None:
        """Entry points of installed packages, read once and only when a name is not ours."""
        if self._scanned:
            return
        from importlib.metadata import entry_points

        found: dict[str, Any] = {ep.name: ep.value for ep in entry_points(group=self.group)}
        with self._lock:
            for name, target in found.items():
                self._targets.setdefault(name, target)  # ours win over a namesake
            self._scanned = True
