"""CLI acceptance helpers: a refusal checked as a user sees it, and `postbot` on a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import termios
from pathlib import Path

from tests.support import POSTBOT, clean_env, run_postbot, snapshot

# What a terminal would otherwise have told Rich (sizes, colour wishes): each test says its own.
TERMINAL_VARIABLES = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TERM")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def plain_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in clean_env().items() if k not in TERMINAL_VARIABLES}
    env.update(extra)
    return env


def database(project: Path) -> Path:
    return project / "var" / "postbot.db"


def refused(project: Path, *args: str, code: int = 2) -> str:
    """Run a command that must be refused: the exit code, one line on stderr, nothing written.

    Returns the line, without its `postbot: error: ` prefix.
    """
    before = snapshot(database(project))
    done = run_postbot(project, *args, env=plain_env())
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("postbot: error: "), done.stderr
    assert snapshot(database(project)) == before
    return lines[0].removeprefix("postbot: error: ")


def on_terminal(
    project: Path, *args: str, env: dict[str, str], columns: int = 80, timeout: float = 60
) -> tuple[int, str]:
    """Run `postbot` with stdin, stdout and stderr on a pseudo-terminal `columns` wide.

    Returns the exit code and everything the terminal showed (escape codes included).
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen(
        [*POSTBOT, *args], cwd=project, env=env, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    shown = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the process has closed the terminal
                    break
                if not data:
                    break
                shown += data
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=timeout)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return code, shown.decode("utf-8", "replace").replace("\r\n", "\n")


def visible(text: str) -> str:
    """What a person reads: the text without escape codes."""
    return ANSI.sub("", text)
