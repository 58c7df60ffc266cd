"""Item 5: start-up. Wall time of `postbot enqueue` (a new process, the installed console
script) against `python -c "import sqlmodel"`, alternating, median of each.

The config has the three real platforms (Mastodon, X, Bluesky), so enqueue renders and counts
the text for each, as a user's would; the database is at schema head (no migration).
Both sides run from bytecode: pip compiled sqlmodel's when it installed it, and postbot's is
compiled here first (`compileall`), as pip does for an installed package; without that, an
editable install under PYTHONDONTWRITEBYTECODE (this machine's setting) would compile every
postbot module from source on every run.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import (
    LINK,
    PYTHON,
    ROOT,
    TAGS,
    TEASER,
    clean_env,
    config_text,
    make_project,
    median,
)

ACCOUNTS = {"mastodon": "mastodon", "x": "x", "bluesky": "bluesky"}


def postbot_command() -> list[str]:
    script = Path(sys.executable).parent / "postbot"
    return [str(script)] if script.exists() else [PYTHON, "-m", "postbot"]


def _time(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=clean_env(), check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)  # fmt: skip
    return time.perf_counter() - started


def startup(workdir: Path, runs: int) -> dict[str, Any]:
    project = workdir / "startup"
    make_project(project, config_text(f"sqlite:///{project}/var/postbot.db", ACCOUNTS))

    def enqueue(n: int) -> list[str]:
        # A text of its own each run: the duplicate guard looks it up, and lets it through.
        return [*postbot_command(), "enqueue", f"{TEASER} ({n})", "--tag", TAGS[0], "--tag",
                TAGS[1], "--link", LINK, "--at", "+2h"]  # fmt: skip

    baseline = [PYTHON, "-c", "import sqlmodel"]
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "src" / "postbot")], check=True,
                   stdout=subprocess.DEVNULL, timeout=300)  # fmt: skip
    _time(enqueue(0), project)  # creates the schema; warms the file cache
    _time(baseline, project)
    ours, theirs = [], []
    for n in range(1, runs + 1):
        ours.append(_time(enqueue(n), project))
        theirs.append(_time(baseline, project))
    return {"enqueue": median(ours), "import_sqlmodel": median(theirs),
            "enqueue_all": ours, "import_sqlmodel_all": theirs}  # fmt: skip
