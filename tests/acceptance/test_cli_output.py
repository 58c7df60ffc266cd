"""What people read: `enqueue` says what it queued, `list` fits 80 columns and colours statuses
on a terminal only, `log` says when there is nothing, and times are local, to the second."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.acceptance.cli_helpers import on_terminal, plain_env, visible
from tests.support import make_project, run_postbot

BERLIN = ZoneInfo("Europe/Berlin")
# An SGR sequence that sets a foreground or background colour (30-38, 40-48, 90-97, 100-107).
COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])(?:;\d+)*m")
LOCAL = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (?:CET|CEST)"
LONG = (
    "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel teilnimmt und über die Zukunft der "
    "Shanghaier Organisation für Zusammenarbeit spricht, und was das für Europa heißt."
)


def postbot(project: Path, *args: str) -> str:
    done = run_postbot(project, *args, env=plain_env())
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("cli-output"))
    postbot(root, "enqueue", LONG, "--tag", "SOZGipfel", "--at", "+3h")  # 1
    postbot(root, "enqueue", "Abgesagt", "--at", "+1d", "--to", "x")  # 2
    postbot(root, "cancel", "2")
    return root


def local_of(iso_utc: str) -> str:
    when = datetime.fromisoformat(iso_utc.replace("Z", "+00:00")).astimezone(BERLIN)
    return when.strftime("%Y-%m-%d %H:%M:%S %Z")


def test_enqueue_prints_the_id_then_the_local_due_time_and_the_accounts(project: Path) -> None:
    done = run_postbot(project, "enqueue", "Neuer Artikel", "--at", "+2h", env=plain_env())
    assert done.returncode == 0, done.stderr
    post_id = int(done.stdout)  # the id alone on stdout: `id=$(postbot enqueue ...)`
    [line] = done.stderr.splitlines()
    match = re.fullmatch(rf"post {post_id}: due ({LOCAL}) to mastodon, x, bluesky", line)
    assert match, line
    shown = json.loads(postbot(project, "show", str(post_id), "--json"))
    assert match.group(1) == local_of(shown["deliveries"][0]["due_at"])

    done = run_postbot(project, "enqueue", "Eilmeldung", "--now", "--to", "x", env=plain_env())
    assert re.fullmatch(rf"post {int(done.stdout)}: due {LOCAL} to x", done.stderr.strip())


def test_enqueue_json_is_the_documented_post_shape(project: Path) -> None:
    post = json.loads(postbot(project, "enqueue", "Mit JSON", "--to", "bluesky", "--json"))
    assert set(post) == {
        "id",
        "key",
        "headline",
        "text",
        "hashtags",
        "link",
        "language",
        "media",
        "source",
        "created_at",
        "deliveries",
        "parts",  # issue 10: a thread's further parts, and the post's variants
        "variants",
        "recurrence",  # issue 10: a recurring post's series (null for others)
    }
    [delivery] = post["deliveries"]
    assert set(delivery) == {
        "id",
        "account",
        "platform",
        "status",
        "due_at",
        "next_attempt_at",
        "text",
        "attempts",
        "remote_id",
        "remote_url",
        "last_error",
        "dry_run",
        "waiting",
        "parts",  # issue 10: every part with its remote id and URL
        "scheduled_id",  # issue 10: the server's scheduled status (Mastodon server_side)
        "slot_at",  # issue 10: the posting slot it holds (--next-slot)
    }
    assert (delivery["dry_run"], delivery["waiting"]["reason"]) == (False, "due")
    assert (post["recurrence"], delivery["slot_at"]) == (None, None)
    assert (post["text"], delivery["account"], delivery["status"]) == (
        "Mit JSON",
        "bluesky",
        "queued",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", delivery["due_at"])


def test_list_on_an_80_column_terminal_fits_and_colours_the_statuses(project: Path) -> None:
    code, shown = on_terminal(project, "list", env=plain_env(TERM="xterm-256color"))
    assert code == 0, shown
    lines = visible(shown).splitlines()
    assert max(len(line) for line in lines) <= 80, visible(shown)
    assert any(line.strip().startswith("1 ") and "…" in line for line in lines), visible(shown)
    assert "\x1b[36mqueued" in shown  # cyan
    assert "\x1b[2mcancelled" in shown  # dim
    assert "Traceback" not in shown


def test_list_without_a_terminal_or_with_no_color_has_no_colour(project: Path) -> None:
    piped = postbot(project, "list")
    assert "\x1b" not in piped
    assert max(len(line) for line in piped.splitlines()) <= 80
    assert re.search(rf"\b1\s+mastodon\s+queued\s+{LOCAL}\s+Lesen Sie hier", piped), piped

    code, shown = on_terminal(project, "list", env=plain_env(TERM="xterm-256color", NO_COLOR="1"))
    assert code == 0, shown
    assert not COLOUR.search(shown), shown  # bold headers and dim text are not colours
    assert "queued" in shown and "cancelled" in shown


def test_list_says_when_there_is_nothing(project: Path) -> None:
    assert postbot(project, "list", "--status", "failed") == "no posts\n"


def test_a_teaser_with_brackets_is_shown_as_written(project: Path) -> None:
    post_id = postbot(project, "enqueue", "Termine [bold]heute[/bold]", "--at", "+5h").strip()
    assert "Termine [bold]heute[/bold]" in postbot(project, "show", post_id)
    assert "Termine [bold]heute[/bold]" in postbot(project, "list")


def test_log_of_a_post_without_attempts_says_so(project: Path) -> None:
    assert postbot(project, "log", "1").strip() == (
        "post 1 has no attempts yet (mastodon queued, x queued, bluesky queued)"
    )
    assert postbot(project, "log", "2").strip() == "post 2 has no attempts yet (x cancelled)"
    assert postbot(project, "log").strip() == "no attempts yet"


def test_times_people_read_are_local_to_the_second(project: Path) -> None:
    shown = postbot(project, "show", "1")
    assert re.search(rf"mastodon \(mastodon\): queued, due {LOCAL}, 0 attempt\(s\)", shown), shown
    status = postbot(project, "status")
    assert re.search(rf"^next due: {LOCAL}$", status, re.MULTILINE), status
    moved = postbot(project, "reschedule", "1", "--at", "2099-06-01 09:30")
    assert moved.strip() == "rescheduled 3 deliveries of post 1, due 2099-06-01 09:30:00 CEST"
    for text in (shown, status, moved):
        assert "+00:00" not in text and not re.search(r"\d\d:\d\d:\d\d\.\d", text)


def test_preview_and_enqueue_warn_about_markdown_without_refusing(project: Path) -> None:
    done = run_postbot(project, "preview", "Heute **SOZ-Gipfel**", "--to", "x", env=plain_env())
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == (
        "postbot: warning: command line: Markdown formatting **SOZ-Gipfel** is sent as typed"
        " to x (they show plain text: no bold or italics)"
    )
    assert "Heute **SOZ-Gipfel**" in done.stdout

    done = run_postbot(
        project, "enqueue", "Der _Gipfel_", "--to", "x", "--at", "+1h", env=plain_env()
    )
    assert done.returncode == 0, done.stderr
    assert "postbot: warning: command line: Markdown formatting _Gipfel_" in done.stderr
