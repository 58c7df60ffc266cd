"""Post files through the CLI: strict front matter, fixed times only, and a posts folder whose
READMEs, drafts and notes never become posts. Refusals are one line; the database unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import assert_refused, make_project, postbot_json, run_postbot

# file name -> (content, a part of the one-line message)
BROKEN = {
    "unclosed.md": ("---\nid: offen\nat: 2027-12-01 08:00\nText ohne Ende\n", "never closed"),
    "unclosed-short.md": ("---\nid: kurz\n", "never closed"),
    "unclosed-crlf.md": ("---\r\nid: crlf\r\nText\r\n", "never closed"),
    "list.md": ("---\n- id: liste\n- to: [x]\n---\nText\n", "it is a list"),
    "flow-list.md": ("---\n[mastodon, x]\n---\nText\n", "it is a list"),
    "scalar.md": ("---\nnur ein Satz\n---\nText\n", "it is a single value"),
    "twice.md": ("---\nat: 2027-12-01 08:00\nat: 2027-12-02 08:00\n---\nText\n", "given twice"),
    "toml.md": ('+++\nid = "toml"\n+++\nText\n', "TOML front matter"),
    "misspelt.md": ("---\nhashtag: [Gipfel]\n---\nText\n", "did you mean hashtags?"),
    # a post file takes fixed times only: these would move at every import
    "from-now.md": ('---\nat: "10 minutes from now"\n---\nText\n', "cannot understand the time"),
    "tomorrow.md": ("---\nat: tomorrow 9:00\n---\nText\n", "relative time 'tomorrow 9:00'"),
    "morgen.md": ("---\nat: morgen um 8\n---\nText\n", "not allowed in a post file"),
    "weekday.md": ("---\nat: Montag 7:30\n---\nText\n", "not allowed in a post file"),
    "plus.md": ('---\nat: "+2h"\n---\nText\n', "not allowed in a post file"),
    "in-german.md": ('---\nat: "in 2 Stunden"\n---\nText\n', "not allowed in a post file"),
    # a date without a time: refused as on the command line, naming the missing time
    "date-only.md": ("---\nat: 2027-12-24\n---\nText\n", "'2027-12-24' has no time of day"),
    "date-only-quoted.md": ('---\nat: "2027-12-24"\n---\nText\n', "has no time of day"),
    # an empty `to:` never means "every account": leaving the key out does
    "to-empty-list.md": ("---\nat: 2027-12-24 08:00\nto: []\n---\nText\n", "names no account"),
    "to-empty-string.md": ('---\nat: 2027-12-24 08:00\nto: ""\n---\nText\n', "names no account"),
    "to-blank.md": ("---\nat: 2027-12-24 08:00\nto:\n---\nText\n", "names no account"),
    "language-word.md": (
        "---\nat: 2027-12-24 08:00\nlanguage: deutsch\n---\nText\n",
        "language 'deutsch' must be a language tag",
    ),
    "language-twice.md": (
        "---\nat: 2027-12-24 08:00\nlanguage: de\nlang: en\n---\nText\n",
        "language and lang are the same key",
    ),
}
LINES = {"unclosed.md": 1, "unclosed-short.md": 1, "unclosed-crlf.md": 1, "list.md": 2,
         "flow-list.md": 2, "scalar.md": 2, "twice.md": 3, "toml.md": 1}  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_project(tmp_path_factory.mktemp("bad-post-files"))
    assert postbot_json(root, "enqueue", "Schon da", "--at", "+1d")["id"] == 1
    broken = root / "broken"
    broken.mkdir()
    for name, (content, _message) in BROKEN.items():
        (broken / name).write_bytes(content.encode("utf-8"))
    return root


@pytest.mark.parametrize("name", BROKEN)
def test_broken_post_files_are_refused(project: Path, name: str) -> None:
    message = assert_refused(project, "enqueue", "--file", f"broken/{name}")
    line = LINES.get(name)
    assert message.startswith(f"broken/{name}:{line}: " if line else f"broken/{name}: ")
    assert BROKEN[name][1] in message


def test_a_past_time_in_a_file_is_shown_in_the_zone_to_the_second(project: Path) -> None:
    past = project / "broken" / "past.md"
    past.write_text("---\nat: 2020-01-01T10:00:00.5+01:00\n---\nText\n", encoding="utf-8")
    message = assert_refused(project, "enqueue", "--file", "broken/past.md")
    assert "2020-01-01 10:00:00 CET" in message and "in the past" in message


def _folder(project: Path, name: str, files: dict[str, str]) -> Path:
    folder = project / name
    folder.mkdir()
    for file_name, content in files.items():
        (folder / file_name).write_text(content, encoding="utf-8")
    return folder


POST = "---\nid: {key}\nat: 2030-06-01 08:00:00\nto: [mastodon]\n---\nEin Teaser für {key}\n"
NOT_POSTS = {
    "README.md": "# Wie dieser Ordner funktioniert\n\nJede Datei ist ein Post.\n",
    "readme.txt": "Überschrift\n\nText mit #Hashtag, der sonst ein Teaser wäre\n",
    "ReadMe.de.markdown": "Lies mich\n",
    "_entwurf.md": POST.format(key="entwurf"),
    "_vorlage.txt": "Überschrift\n\nVorlage #Tag\n",
    ".versteckt.md": POST.format(key="versteckt"),
    "notizen.rst": "Notizen\n",
    "bild.jpg": "not really a jpeg",
}


def test_readmes_drafts_and_hidden_files_in_a_folder_are_not_posts(project: Path) -> None:
    _folder(project, "folder", {**NOT_POSTS, "teaser.md": POST.format(key="echt")})
    results = postbot_json(project, "enqueue", "--file", "folder")
    assert [(r["key"], r["action"]) for r in results] == [("echt", "created")]
    posts = postbot_json(project, "list")
    assert [p["key"] for p in posts if not p["key"].startswith("cli:")] == ["echt"]


@pytest.mark.parametrize("name", ["README.md", "readme.txt", "_entwurf.md", ".versteckt.md"])
def test_naming_a_file_that_is_never_a_post_is_refused(project: Path, name: str) -> None:
    folder = project / "named"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(NOT_POSTS[name], encoding="utf-8")
    message = assert_refused(project, "enqueue", "--file", f"named/{name}")
    assert message.startswith(f"named/{name}: not a post file: ")


def test_markdown_without_front_matter_in_a_folder_is_refused(project: Path) -> None:
    folder = _folder(
        project,
        "with-notes",
        {"notizen.md": "Ideen für nächste Woche\n", "ok.md": POST.format(key="ok")},
    )
    message = assert_refused(project, "enqueue", "--file", str(folder.relative_to(project)))
    assert message.startswith("with-notes/notizen.md: no front matter")


def test_a_folder_import_through_the_daemon_leaves_readmes_alone(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    (root / "config" / "postbot.toml").write_text(
        (root / "config" / "postbot.toml").read_text(encoding="utf-8")
        + '\n[posts]\ndir = "posts"\n',
        encoding="utf-8",
    )
    for name, content in {**NOT_POSTS, "teaser.md": POST.format(key="echt")}.items():
        (root / "posts" / name).write_text(content, encoding="utf-8")
    done = run_postbot(root, "run", "--once", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert [p["key"] for p in postbot_json(root, "list")] == ["echt"]
