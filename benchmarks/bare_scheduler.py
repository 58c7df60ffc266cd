"""Baseline for punctuality: how late a bare APScheduler fires date jobs on this machine.

`python benchmarks/bare_scheduler.py DUE.json OUT.json`: DUE.json is a list of UNIX times; one
date job per time in a BlockingScheduler set up as the daemon sets up its own (UTC, a 4-thread
pool, coalesce, no misfire grace). Each job notes `time.time() - due`; OUT.json gets the list.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import UTC, datetime


def main(due_path: str, out_path: str) -> None:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    with open(due_path, encoding="utf-8") as source:
        due_times = json.load(source)
    lateness: list[float] = []
    lock = threading.Lock()
    scheduler = BlockingScheduler(
        timezone=UTC, executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )  # fmt: skip

    def job(due: float) -> None:
        late = time.time() - due
        with lock:
            lateness.append(late)
            if len(lateness) == len(due_times):
                scheduler.shutdown(wait=False)

    for i, due in enumerate(due_times):
        scheduler.add_job(job, "date", run_date=datetime.fromtimestamp(due, UTC), args=[due],
                          id=f"job-{i}")  # fmt: skip
    scheduler.start()
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(lateness, out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
