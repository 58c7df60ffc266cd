"""Account checks, and the secret values that logs and messages must never show."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from postbot.config import Settings
from postbot.domain import Account
from postbot.errors import PostbotError
from postbot.platforms import platform_for
from postbot.platforms.base import PublishError
from postbot.redact import Redactor


def check_account(account: Account, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "account": account.name, "platform": account.platform, "identity": None,
        "ok": False, "error": None,
    }  # fmt: skip
    platform = platform_for(account, environ)
    try:
        row["identity"] = platform.check()
        row["ok"] = True
    except (PublishError, PostbotError) as exc:
        row["error"] = getattr(exc, "message", None) or str(exc)
    except Exception as exc:  # an unsorted library error: say what kind, keep going
        from postbot.platforms._http import describe_failure

        row["error"] = describe_failure(exc)
    finally:
        platform.close()
    if row["error"]:
        row["error"] = redactor_of([account], environ)(row["error"])
    return row


def check_accounts(settings: Settings) -> list[dict[str, Any]]:
    """Check every account, in parallel (each is a network round trip or two)."""
    accounts = list(settings.accounts.values())
    with ThreadPoolExecutor(max(1, min(8, len(accounts)))) as pool:
        return list(pool.map(check_account, accounts))


def configured_secrets(settings: Settings) -> list[str]:
    return configured_secrets_of(settings.accounts.values())


def redactor(settings: Settings) -> Redactor:
    """The Redactor for every configured account's secrets (for the daemon's logs)."""
    return redactor_of(settings.accounts.values())


# Credential roles that say who we are rather than prove it: not secret, never masked (a
# Bluesky handle is part of every post URL; masked, the log showed ".../profile/***/post/...").
PUBLIC_ROLES = frozenset({"handle"})


def configured_secrets_of(
    accounts: Iterable[Account], environ: Mapping[str, str] | None = None
) -> list[str]:
    env = os.environ if environ is None else environ
    return [
        env[var]
        for a in accounts
        for role, var in a.credential_vars.items()
        if role not in PUBLIC_ROLES and env.get(var)
    ]


def redactor_of(accounts: Iterable[Account], environ: Mapping[str, str] | None = None) -> Redactor:
    return Redactor(configured_secrets_of(accounts, environ))
