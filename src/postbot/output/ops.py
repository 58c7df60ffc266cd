"""How doctor, backup and restore look, to people and to scripts (`--json`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from postbot.ops.backup import Copied
from postbot.ops.doctor import DoctorReport


def doctor_lines(report: DoctorReport) -> list[str]:
    lines = [check.line() for check in report.checks]
    if report.alerts_sent is not None:
        lines.append(f"alerts: {report.alerts_sent} incident(s) told of by this run")
    return lines


def doctor_json(report: DoctorReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in report.checks],
        "alerts_sent": report.alerts_sent,
    }


def copied_line(verb: str, copied: Copied, source: Path | None = None) -> str:
    rows = ", ".join(f"{n} {table}" for table, n in copied.rows.items() if n)
    where = f"{copied.path} {verb} {source}" if source else f"{verb} {copied.path}"
    line = f"{where}: schema {copied.schema}, {rows or 'no rows'}; integrity ok"
    if copied.saved:
        line += f"; the database it replaced is kept as {copied.saved}"
    return line


def copied_json(copied: Copied) -> dict[str, Any]:
    return {
        "path": str(copied.path), "schema": copied.schema, "rows": dict(copied.rows),
        "saved": str(copied.saved) if copied.saved else None,
    }  # fmt: skip
