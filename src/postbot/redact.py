"""Secrets out of everything people and machines read: one `Redactor`, used by the platform
adapters (their error messages), `accounts` (the `accounts check` table) and `logs` (every log
line).

A Redactor masks, with `***`:
- every known secret value (a token, an app password) of at least 4 characters, longest first
  so a secret that contains another is masked whole;
- the same value as Python's repr() spells it (`\\n` for a line break): the messages of
  requests and urllib3 quote header values that way;
- each line of a secret that spans lines, in case a message shows only one of them;
- anything shaped like a JSON Web Token (`eyJ….….…`: Bluesky's session tokens), known or not.

It is a last line of defence: the code never puts a credential into a message on purpose.
Immutable, so threads share one freely; `with_secrets` returns a new one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
MIN_LENGTH = 4  # shorter values would mask ordinary words
_JWT = r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"


class Redactor:
    __slots__ = ("_pattern", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = frozenset(s for s in secrets if s and len(s) >= MIN_LENGTH)
        forms: set[str] = set()
        for secret in self._secrets:
            forms.add(secret)
            forms.add(repr(secret)[1:-1])
            forms.update(part for part in secret.split() if len(part) >= MIN_LENGTH)
        alternatives = [re.escape(form) for form in sorted(forms, key=len, reverse=True)]
        self._pattern = re.compile("|".join([*alternatives, _JWT]))

    @property
    def secrets(self) -> frozenset[str]:
        return self._secrets

    def with_secrets(self, *secrets: str) -> Redactor:
        """This redactor, also masking `secrets` (self when there is nothing new)."""
        new = {s for s in secrets if s and len(s) >= MIN_LENGTH} - self._secrets
        return Redactor(self._secrets | new) if new else self

    def __call__(self, text: str) -> str:
        return self._pattern.sub(MASK, text)

    def __repr__(self) -> str:  # never the secrets themselves
        return f"Redactor({len(self._secrets)} secrets)"
