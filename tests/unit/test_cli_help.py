"""Every command has help, and the help shows an example (the sqlite-utils habit)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from postbot.cli import cli


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            found.extend(commands(command, path))
        else:
            found.append(path)
    return found


ALL = commands(cli)


def test_the_documented_commands_exist() -> None:
    names = {" ".join(path) for path in ALL}
    for expected in ("enqueue", "list", "show", "cancel", "reschedule", "retry", "resolve",
                     "log", "preview", "accounts check", "status", "run"):  # fmt: skip
        assert expected in names


@pytest.mark.parametrize("path", ALL, ids=[" ".join(p) for p in ALL])
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output
    assert f"postbot {' '.join(path)}" in result.output
