"""The benchmark script stays runnable: `python -m benchmarks.run --quick` with tiny sizes.

No timing is asserted here (figures on a shared machine are noise); only that every item runs
and the JSON table it writes is complete and well formed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROW_IDS = {
    "1a", "1b", "2", "3a-p50", "3a-p99", "3a-max", "3b", "4a", "4b", "5", "6a", "6b", "6c", "6d",
    "7-1", "7-2", "7-4", "8", "9a", "9b", "10", "11a", "11b", "12a", "12b", "12c", "12d",
    "13a", "13b", "13c", "14a", "14b", "14c",
}  # fmt: skip
ROW_KEYS = {"id", "item", "what", "value", "unit", "baseline_what", "baseline", "ratio",
            "target", "met", "note"}  # fmt: skip


@pytest.mark.slow
def test_quick_benchmark_runs_and_writes_a_complete_table(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--quick", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=280, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["quick"] is True
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["memory_gib"] > 0
    rows = doc["rows"]
    assert {r["id"] for r in rows} == ROW_IDS
    assert len(rows) == len(ROW_IDS)
    for row in rows:
        assert set(row) >= ROW_KEYS, row
        assert row["item"] in range(1, 15)
        assert row["met"] in (True, False, None)
        if row["value"] is None:  # only PostgreSQL rows may be missing, and they say why
            assert row["item"] == 7 and row["note"].startswith("not measured"), row
            continue
        assert isinstance(row["value"], (int, float)) and row["value"] >= 0, row
        assert row["baseline"] is None or isinstance(row["baseline"], (int, float)), row
        assert row["baseline_what"], row
    # Every measured figure that has a baseline also has its ratio.
    for row in rows:
        if row["value"] is not None and row["baseline"]:
            assert row["ratio"] == pytest.approx(row["value"] / row["baseline"])
    assert out.with_suffix(".md").read_text(encoding="utf-8").count("\n| ") >= len(ROW_IDS)
    for row_id in ("1a", "5", "6a"):
        assert row_id in done.stdout  # the table is printed too
