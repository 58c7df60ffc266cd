"""`postbot` with the benchmark platforms registered: `python benchmarks/launcher.py run ...`.

The daemon it starts is the real one (`postbot.cli.main`, APScheduler and all); only the
platform registry knows two more names, in this process only.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.adapters import register  # noqa: E402

register()

from postbot.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
