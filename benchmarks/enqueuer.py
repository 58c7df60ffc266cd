"""The second process of the punctuality item: enqueues posts due one second later.

`python benchmarks/enqueuer.py CONFIG TRIES SPACING OUT.json`: TRIES times, through the library
(`service.enqueue_text`, what `postbot enqueue --at` calls), a post due one second after the
call; then waits SPACING seconds so the daemon is idle again. OUT.json: [[post_id, due], ...].
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(config: str, tries: int, spacing: float, out_path: str) -> None:
    from benchmarks.common import open_app
    from postbot import service

    app = open_app(Path(config))
    posted = []
    for i in range(tries):
        due = app.now() + timedelta(seconds=1)
        queued = service.enqueue_text(
            app, f"Eilmeldung {i}: Lesen Sie hier", link="https://example.org/a",
            at=due.isoformat(),
        )  # fmt: skip
        posted.append((queued.post_id, due.timestamp()))
        time.sleep(max(0.0, due.timestamp() - time.time()) + spacing)
    app.store.dispose()
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(posted, out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
