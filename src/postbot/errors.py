"""The errors a user can cause, and the exit codes the CLI maps them to.

Everything here carries a one-line message that says what is wrong and where.
The CLI prints that line and exits; it never shows a traceback for these.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_RUNTIME = 1
EXIT_BAD_INPUT = 2


class PostbotError(Exception):
    """Base class: a failure with a message meant for a person."""

    exit_code = EXIT_RUNTIME


class UserError(PostbotError):
    """Bad input: a wrong time, an over-long text, a broken post file."""

    exit_code = EXIT_BAD_INPUT


class ConfigError(UserError):
    """A missing or broken configuration, an unknown account, a missing credential."""


class NotFound(UserError):
    """A post or delivery id that does not exist."""


class StateError(UserError):
    """An action that the current state does not allow (cancel a published post...)."""
