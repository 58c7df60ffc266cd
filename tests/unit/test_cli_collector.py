"""The CLI turns Python's cycle collector off (a command runs once and exits), and the commands
that stay up turn it back on: a daemon without it would keep every cycle it ever made."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from postbot.cli.base import staying_up
from tests.support import make_project

# main() as `postbot` runs it, then whether the collector is on once the command is done.
AFTER_MAIN = """
import gc, sys
from postbot.cli import main
sys.argv = ["postbot", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("collector", "on" if gc.isenabled() else "off")
"""


def _collector_after(project: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", AFTER_MAIN, *args], cwd=project, text=True,
                          capture_output=True, timeout=120, check=True)  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def test_staying_up_turns_the_collector_on_with_start_up_frozen() -> None:
    gc.disable()
    try:
        staying_up()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_command_that_runs_once_leaves_it_off_and_run_turns_it_on(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    assert _collector_after(project, "list") == "collector off"
    assert _collector_after(project, "run", "--dry-run", "--once") == "collector on"
