"""The record of the daemon's last import of the posts folder: written beside the SQLite
database, where `postbot status` (another process) reads it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from postbot.config import Settings
from postbot.errors import UserError
from postbot.importing import BrokenFile, ImportReport


@dataclass(frozen=True)
class ImportRecord:
    """What the daemon's last import of the posts folder found."""

    at: datetime
    folder: str
    summary: dict[str, int]
    broken: tuple[BrokenFile, ...]


def record_path(settings: Settings) -> Path | None:
    """Where the record lives: beside the SQLite database; None for other databases."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if not url.drivername.startswith("sqlite") or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).parent / "import-report.json"


def save_record(path: Path, folder: Path, report: ImportReport, now: datetime) -> None:
    payload = {
        "at": now.astimezone(UTC).isoformat(),
        "folder": str(folder),
        "summary": report.summary(),
        "broken": [{"path": b.path, "message": b.message} for b in report.broken],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(partial, path)  # readers see the old record or the new one, never half of one


def load_record(path: Path) -> ImportRecord | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return ImportRecord(
            at=datetime.fromisoformat(payload["at"]),
            folder=str(payload["folder"]),
            summary={str(k): int(v) for k, v in payload["summary"].items()},
            broken=tuple(BrokenFile(str(b["path"]), str(b["message"])) for b in payload["broken"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UserError(f"{path}: unreadable import record ({exc}); delete it") from None
