"""postbot.postfile: post files (Markdown with front matter, newsroom plain text) -> Drafts."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from postbot.compose import render_text
from postbot.domain import MediaItem
from postbot.drafts import Draft, clean
from postbot.errors import UserError
from postbot.postfile import find_post_files, read_post_file, scan_post_files, source_key

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SEED = Path(__file__).resolve().parents[1] / "data" / "seed" / "soz-gipfel-teaser.txt"
REPO_POSTS = Path(__file__).resolve().parents[2] / "posts"

HEADLINE = "Xi Jinping übernimmt rotierende Präsidentschaft der SOZ in Astana"
TEASER = (
    "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel teilnimmt und über die Zukunft der"
    " Shanghaier Organisation für Zusammenarbeit spricht."
)


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _read(path: Path) -> Draft:
    return read_post_file(path, BERLIN, NOW)


# -- the plain-text seed -------------------------------------------------------------------


def test_seed_txt_gives_headline_teaser_and_hashtags_exactly() -> None:
    draft = read_post_file(SEED, BERLIN, NOW)
    assert draft.headline == HEADLINE
    assert draft.teaser == TEASER
    assert draft.hashtags == ("XiJinping", "SOZGipfel")
    # Nothing else comes from a .txt: no link, media, targets or time.
    assert (draft.link, draft.media, draft.to, draft.at) == (None, (), (), None)
    assert Path(draft.source).resolve() == SEED.resolve()  # the post names its file


def test_seed_txt_renders_the_expected_post() -> None:
    draft = read_post_file(SEED, BERLIN, NOW)
    assert render_text(draft.teaser, draft.link, draft.hashtags) == (
        f"{TEASER} #XiJinping #SOZGipfel"
    )


def test_seed_txt_with_crlf_line_ends_gives_the_same_draft(tmp_path: Path) -> None:
    copy = tmp_path / "seed.txt"
    copy.write_bytes(SEED.read_bytes().replace(b"\n", b"\r\n"))
    draft = read_post_file(copy, BERLIN, NOW)
    assert (draft.headline, draft.teaser, draft.hashtags) == (
        HEADLINE,
        TEASER,
        ("XiJinping", "SOZGipfel"),
    )


def test_seed_txt_with_byte_order_mark_gives_the_same_draft(tmp_path: Path) -> None:
    copy = tmp_path / "seed.txt"
    copy.write_bytes(b"\xef\xbb\xbf" + SEED.read_bytes())
    draft = read_post_file(copy, BERLIN, NOW)
    assert draft.headline == HEADLINE


def test_txt_key_is_the_file_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "posts").mkdir()
    path = _write(tmp_path / "posts" / "a.txt", "Headline\n\nTeaser #Tag\n")
    assert read_post_file(Path("posts/a.txt"), BERLIN, NOW).key == "file:posts/a.txt"
    assert read_post_file(path, BERLIN, NOW).key == "file:posts/a.txt"


def test_txt_inline_hashtags_stay_in_teaser(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt", "Headline\n\nHeute #SOZGipfel in Astana.\n\nArticle.\n")
    draft = _read(path)
    assert draft.teaser == "Heute #SOZGipfel in Astana."
    assert draft.hashtags == ("SOZGipfel",)


def test_txt_teaser_is_first_paragraph_with_a_hashtag(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.txt",
        """
        Headline
        on two lines

        A paragraph without tags.

        The teaser
        text. #One #Two

        Article #Three
        """,
    )
    draft = _read(path)
    assert draft.headline == "Headline on two lines"
    assert draft.teaser == "The teaser text."
    assert draft.hashtags == ("One", "Two")


@pytest.mark.parametrize("content", ["", "\n\n  \n", "   "])
def test_empty_txt_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match="empty") as info:
        _read(path)
    assert str(info.value).startswith(str(path))


def test_txt_without_hashtag_paragraph_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt", "Headline #NotTheTeaser\n\nTeaser without tags.\n")
    with pytest.raises(UserError, match="no teaser found") as info:
        _read(path)
    assert str(info.value).startswith(str(path))


# -- Markdown with front matter ------------------------------------------------------------


def test_markdown_with_every_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "post.md",
        """
        ---
        id: soz-2026
        at: "2026-12-01 08:00"
        to: [mastodon, x]
        hashtags: [XiJinping, SOZGipfel]
        link: https://example.org/politik/soz
        language: de
        headline: Xi Jinping in Astana
        media:
          - path: img/gipfel.jpg
            alt: Gruppenfoto beim Gipfel
          - path: second.png
            alt: Zweites Bild
        ---
        Lesen Sie hier,
        wie es war.
        """,
    )
    draft = _read(path)
    assert draft.key == "soz-2026"
    assert draft.at == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert draft.to == ("mastodon", "x")
    assert draft.hashtags == ("XiJinping", "SOZGipfel")
    assert draft.link == "https://example.org/politik/soz"
    assert draft.language == "de"
    assert draft.headline == "Xi Jinping in Astana"
    assert draft.media == (
        MediaItem((tmp_path / "img" / "gipfel.jpg").as_posix(), "Gruppenfoto beim Gipfel"),
        MediaItem((tmp_path / "second.png").as_posix(), "Zweites Bild"),
    )
    assert draft.teaser == "Lesen Sie hier, wie es war."
    assert draft.source == draft.where == str(path)


def test_markdown_without_front_matter_is_just_a_teaser(tmp_path: Path) -> None:
    draft = _read(_write(tmp_path / "plain.markdown", "Just the text.\n"))
    assert draft.teaser == "Just the text."
    assert (draft.hashtags, draft.to, draft.at, draft.link) == ((), (), None, None)
    assert draft.key is not None and draft.key.startswith("file:")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[XiJinping, SOZGipfel]", ("XiJinping", "SOZGipfel")),
        ('"XiJinping SOZGipfel"', ("XiJinping", "SOZGipfel")),
        ('"XiJinping, SOZGipfel"', ("XiJinping", "SOZGipfel")),
        ("XiJinping", ("XiJinping",)),
    ],
)
def test_markdown_hashtags_as_list_or_string(
    tmp_path: Path, value: str, expected: tuple[str, ...]
) -> None:
    draft = _read(_write(tmp_path / "p.md", f"---\nhashtags: {value}\n---\nText\n"))
    assert draft.hashtags == expected


def test_markdown_hashtags_with_hash_are_normalised_by_clean(tmp_path: Path) -> None:
    draft = _read(_write(tmp_path / "p.md", '---\nhashtags: "#XiJinping #SOZGipfel"\n---\nT\n'))
    assert clean(draft).hashtags == ("XiJinping", "SOZGipfel")


def test_markdown_to_as_string_and_lang_alias(tmp_path: Path) -> None:
    draft = _read(_write(tmp_path / "p.md", "---\nto: mastodon, x\nlang: en\n---\nText\n"))
    assert draft.to == ("mastodon", "x")
    assert draft.language == "en"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # quoted: a string, read by parse_when as local time
        ('"2026-12-01 08:00"', datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
        ('"2026-07-01 08:00"', datetime(2026, 7, 1, 6, 0, tzinfo=UTC)),
        ('"2026-12-01T08:00:00+01:00"', datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
        # unquoted: YAML makes a datetime; without an offset it is local time
        ("2026-12-01 08:00:00", datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
        ("2026-07-01 08:00:00", datetime(2026, 7, 1, 6, 0, tzinfo=UTC)),
        ("2026-12-01T08:00:00+01:00", datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
        ("2026-12-01T07:00:00Z", datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
        # unquoted without seconds: YAML keeps it a string
        ("2026-12-01 08:00", datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
    ],
)
def test_markdown_at(tmp_path: Path, value: str, expected: datetime) -> None:
    draft = _read(_write(tmp_path / "p.md", f"---\nat: {value}\n---\nText\n"))
    assert draft.at == expected
    assert draft.at is not None and draft.at.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-03-29 02:30:00", "does not exist"),
        ('"2026-03-29 02:30"', "does not exist"),
        ("2026-10-25 02:30:00", "exists twice"),
        ("2026-12-01", "has no time of day"),
        ("next blursday", "cannot understand"),
    ],
)
def test_markdown_bad_at_names_file(tmp_path: Path, value: str, message: str) -> None:
    path = _write(tmp_path / "p.md", f"---\nat: {value}\n---\nText\n")
    with pytest.raises(UserError, match=message) as info:
        _read(path)
    assert str(info.value).startswith(f"{path}: at: ")


@pytest.mark.parametrize(
    ("front", "line"),
    [
        ("id: x\nhashtags: [Foo, Bar\nlink: y\n", 4),  # unclosed list, noticed on the next line
        ("id: x\nto: a\n  b: c\n", 4),
        ("id: x\n\tlink: y\n", 3),
    ],
)
def test_malformed_front_matter_names_file_and_line(tmp_path: Path, front: str, line: int) -> None:
    path = tmp_path / "bad.md"
    path.write_text(f"---\n{front}---\nText\n", encoding="utf-8")
    with pytest.raises(UserError, match="malformed front matter") as info:
        _read(path)
    # The line is the line in the file (the opening '---' is line 1).
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_front_matter_key_that_is_not_text_is_refused(tmp_path: Path) -> None:
    # YAML reads `on:` as the boolean true: a clear error, not a traceback.
    path = _write(tmp_path / "p.md", "---\nid: x\non: push\n---\nText\n")
    with pytest.raises(UserError, match="malformed front matter") as info:
        _read(path)
    assert str(info.value).startswith(str(path))


def test_unknown_front_matter_key_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.md", "---\nid: x\nhashtag: [Foo]\ntitel: T\n---\nText\n")
    with pytest.raises(UserError, match="unknown front matter key") as info:
        _read(path)
    assert str(info.value).startswith(str(path))
    assert "hashtag" in str(info.value) and "titel" in str(info.value)


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("hashtags: {a: b}", "hashtags must be a list of strings"),
        ("to: [x, [y]]", "to must be a list of strings"),
        ("link: [a, b]", "link must be a string"),
        ("headline: true", "headline must be a string"),
        ("media: pic.jpg", "media must be a list"),
        ("media:\n  - alt: no path", "needs a path"),
    ],
)
def test_front_matter_wrong_types_are_refused(tmp_path: Path, front: str, message: str) -> None:
    path = _write(tmp_path / "p.md", f"---\n{front}\n---\nText\n")
    with pytest.raises(UserError, match=message) as info:
        _read(path)
    assert str(info.value).startswith(str(path))


def test_markdown_with_byte_order_mark_keeps_its_front_matter(tmp_path: Path) -> None:
    # Some Windows editors write a BOM: the front matter must still be front matter,
    # not part of the text sent to every account.
    path = tmp_path / "bom.md"
    path.write_bytes(b"\xef\xbb\xbf---\nid: bom\nto: [x]\n---\nBody text\n")
    draft = _read(path)
    assert (draft.key, draft.to, draft.teaser) == ("bom", ("x",), "Body text")


def test_markdown_with_crlf_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "crlf.md"
    path.write_bytes(b"---\r\nid: crlf\r\nhashtags: [Foo]\r\n---\r\nBody\r\ntext\r\n")
    draft = _read(path)
    assert (draft.key, draft.hashtags, draft.teaser) == ("crlf", ("Foo",), "Body text")


def test_markdown_with_old_mac_line_ends(tmp_path: Path) -> None:
    # CR alone ends a line too (as Python's text files read it), mixed with CR LF and LF.
    path = tmp_path / "cr.md"
    path.write_bytes(b"---\rid: cr\r\nhashtags: [Foo]\n---\rBody\rtext\r")
    draft = _read(path)
    assert (draft.key, draft.hashtags, draft.teaser) == ("cr", ("Foo",), "Body text")


@pytest.mark.parametrize(
    "data",
    [b"\xef\xbb\xbf---\r\nid: a\r\n---\r\nText\r", b"Text \xef\xbb\xbf in the middle\n",
     b"\xef\xbb\xbf\xef\xbb\xbftwo marks\n", b"\r\r\n\n\r", b"", "Grüße\u2028#Köln\r\n".encode()],
)  # fmt: skip
def test_a_post_file_reads_as_python_reads_text_with_a_byte_order_mark(
    tmp_path: Path, data: bytes
) -> None:
    # What `read_text(encoding="utf-8-sig")` gives: one leading mark dropped, CR and CR LF as
    # LF, every other character (a mark further on, U+2028) kept.
    path = tmp_path / "p.txt"
    path.write_bytes(data)
    from postbot.postfile import _read_text

    assert _read_text(path) == path.read_text(encoding="utf-8-sig")


# -- reading files -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["latin1.txt", "latin1.md"])
def test_non_utf8_file_is_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes("Überschrift\n\nGrüße #Köln\n".encode("latin-1"))
    with pytest.raises(UserError, match="not UTF-8") as info:
        _read(path)
    assert str(info.value).startswith(str(path))


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "post.rst", "Text #Tag\n")
    with pytest.raises(UserError, match="unknown post file type"):
        _read(path)


def test_find_post_files_in_folder_is_filtered_and_sorted(tmp_path: Path) -> None:
    for name in ["b.md", "a.txt", "c.markdown", "D.MD", "notes.rst", "image.jpg", ".hidden"]:
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "sub.md").mkdir()  # a folder, even with a post suffix, is not a post
    (tmp_path / "sub.md" / "inner.md").write_text("x", encoding="utf-8")
    found = find_post_files([tmp_path])
    assert [p.name for p in found] == ["D.MD", "a.txt", "b.md", "c.markdown"]


def test_find_post_files_skips_editor_droppings(tmp_path: Path) -> None:
    # While b.md is open, Emacs keeps a lock `.#b.md` (a dangling symlink) and macOS may write
    # `._b.md`: neither is a post, and either would make the whole folder's import fail.
    (tmp_path / "b.md").write_text("x", encoding="utf-8")
    (tmp_path / ".#b.md").symlink_to("user@host.1234:1700000000")
    (tmp_path / "._b.md").write_bytes(b"\x00\x05\x16\x07\xff")
    assert find_post_files([tmp_path]) == [tmp_path / "b.md"]


def test_find_post_files_follows_links_as_files_are_followed(tmp_path: Path) -> None:
    # A link to a post file is a post (a shared teaser linked into two folders); a link to
    # nothing, or to a folder, is not.
    (tmp_path / "elsewhere").mkdir()
    shared = _write(tmp_path / "elsewhere" / "teaser.txt", "x")
    folder = tmp_path / "posts"
    folder.mkdir()
    (folder / "linked.md").symlink_to(shared)
    (folder / "dangling.md").symlink_to(tmp_path / "gone.md")
    (folder / "folder.md").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    _write(folder / "plain.md", "x")
    assert find_post_files([folder]) == [folder / "linked.md", folder / "plain.md"]


def test_find_post_files_keeps_named_files_in_order(tmp_path: Path) -> None:
    first = _write(tmp_path / "z.txt", "x")
    second = _write(tmp_path / "a.md", "x")
    assert find_post_files([first, str(second)]) == [first, second]


def test_find_post_files_missing_path_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(UserError, match="no such file or folder") as info:
        find_post_files([missing])
    assert str(missing) in str(info.value)


# -- the repository's own posts ------------------------------------------------------------


def test_repository_posts_folder_has_the_example_post() -> None:
    names = {p.name for p in find_post_files([REPO_POSTS])}
    assert "soz-gipfel-teaser.md" in names
    # An example: only dry runs publish it, so it can never reach real accounts by accident.
    draft = read_post_file(REPO_POSTS / "soz-gipfel-teaser.md", BERLIN, NOW)
    assert draft.key == "example:soz-gipfel-teaser-markdown"


def test_the_plain_text_example_is_the_seed() -> None:
    shipped = REPO_POSTS.parent / "docs" / "examples" / "soz-gipfel-teaser.txt"
    assert shipped.read_bytes() == SEED.read_bytes()


def test_example_must_be_true_or_false(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\nexample: ja\n---\nText\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"a.md: example must be true or false, not 'ja'"):
        _read(path)
    path.write_text("---\nexample: false\nid: a\n---\nText\n", encoding="utf-8")
    assert _read(path).key == "a"


@pytest.mark.parametrize("path", sorted(find_post_files([REPO_POSTS])), ids=lambda p: p.name)
def test_repository_posts_parse(path: Path) -> None:
    draft = read_post_file(path, BERLIN, NOW)
    assert clean(draft).teaser  # valid hashtags, link and media; not empty


def test_repository_markdown_seed_says_what_the_txt_seed_says() -> None:
    md = read_post_file(REPO_POSTS / "soz-gipfel-teaser.md", BERLIN, NOW)
    txt = read_post_file(SEED, BERLIN, NOW)
    assert (md.headline, md.teaser, md.hashtags) == (txt.headline, txt.teaser, txt.hashtags)
    assert md.link is not None and md.link.startswith("https://")


@pytest.mark.parametrize("spec", ['"+2h"', '"in 30 minutes"'])
def test_markdown_relative_at_is_refused(tmp_path: Path, spec: str) -> None:
    # A file in git needs a fixed time: "+2h" would move the post at every import.
    path = tmp_path / "rel.md"
    path.write_text(f"---\nat: {spec}\n---\nText\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"rel\.md: at: relative time .* not allowed"):
        read_post_file(path, ZoneInfo("Europe/Berlin"))


# -- front matter, strictly ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ("---\nid: x\nat: 2026-12-01 08:00\nText\n", 1),
        ("---\nid: x\n", 1),
        ("\n\n---\nid: x\n--\nText\n", 3),
        ("---\r\nid: x\r\nText\r\n", 1),
    ],
)
def test_an_unterminated_front_matter_block_is_refused(
    tmp_path: Path, content: str, line: int
) -> None:
    path = tmp_path / "open.md"
    path.write_text(content, encoding="utf-8", newline="")
    with pytest.raises(UserError) as info:
        _read(path)
    assert str(info.value) == (
        f"{path}:{line}: the front matter opened here is never closed:"
        " add a line '---' after its last key"
    )


@pytest.mark.parametrize(
    ("front", "kind"),
    [
        ("- id: x\n- at: 2026-12-01 08:00\n", "a list"),
        ("[mastodon, x]\n", "a list"),
        ("just a sentence\n", "a single value (str)"),
        ("42\n", "a single value (int)"),
    ],
)
def test_front_matter_that_is_not_a_mapping_is_refused(
    tmp_path: Path, front: str, kind: str
) -> None:
    path = _write(tmp_path / "list.md", f"---\n{front}---\nText\n")
    with pytest.raises(UserError, match="malformed front matter") as info:
        _read(path)
    assert str(info.value).startswith(f"{path}:2: malformed front matter: it is {kind};")


def test_a_key_given_twice_is_refused_on_its_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "twice.md", "---\nat: 2026-12-01 08:00\nid: a\nat: 2026-12-02 08:00\n---\nT\n"
    )
    with pytest.raises(UserError) as info:
        _read(path)
    assert str(info.value).startswith(f"{path}:4: malformed front matter: key 'at' is given twice")


def test_toml_front_matter_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "toml.md", '+++\nid = "x"\n+++\nText\n')
    with pytest.raises(UserError, match=r"TOML front matter \(\+\+\+\) is not supported") as info:
        _read(path)
    assert str(info.value).startswith(f"{path}:1: ")


def test_empty_front_matter_is_front_matter(tmp_path: Path) -> None:
    draft = _read(_write(tmp_path / "empty-front.md", "---\n---\nNur Text\n"))
    assert (draft.teaser, draft.at, draft.to) == ("Nur Text", None, ())


def test_front_matter_after_blank_lines_is_still_front_matter(tmp_path: Path) -> None:
    # Never post the YAML as text: blank lines before the opening '---' change nothing.
    draft = _read(_write(tmp_path / "blank.md", "\n\n---\nid: blank\nto: [x]\n---\nBody\n"))
    assert (draft.key, draft.to, draft.teaser) == ("blank", ("x",), "Body")


def test_a_thematic_break_in_the_body_is_never_front_matter(tmp_path: Path) -> None:
    # Adapted for threads (issue 10): a line holding only '---' in the body used to stay in the
    # text ("Oben --- Unten"); it now starts the thread's next part. What the test guards is
    # unchanged: only the first block is front matter, and nothing of the body is lost.
    draft = _read(_write(tmp_path / "hr.md", "---\nid: hr\n---\nOben\n---\nUnten\n"))
    assert (draft.key, draft.teaser, draft.parts) == ("hr", "Oben", ("Unten",))


def test_unknown_front_matter_keys_get_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.md", "---\nhashtag: [Foo]\nlanguge: de\n---\nText\n")
    with pytest.raises(UserError) as info:
        _read(path)
    assert str(info.value) == (
        f"{path}: unknown front matter key(s): hashtag (did you mean hashtags?),"
        " languge (did you mean language?)"
    )


# -- `at` in a post file: a fixed date and time only --------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        '"10 minutes from now"',
        "tomorrow 9:00",
        "morgen um 8",
        "Montag 7:30",
        "next monday 9am",
        '"05.02. 08:00"',  # no year: the next 5 February moves on every new year
        '"+2h"',
        '"in 2 Stunden"',
    ],
)
def test_relative_or_natural_at_is_refused_in_a_post_file(tmp_path: Path, spec: str) -> None:
    path = _write(tmp_path / "drift.md", f"---\nat: {spec}\n---\nText\n")
    with pytest.raises(UserError) as info:
        read_post_file(path, BERLIN, NOW, order="DMY")
    message = str(info.value)
    assert message.startswith(f"{path}: at: ")
    assert "relative time" in message or "cannot understand" in message
    assert "not allowed in a post file" in message or "cannot understand" in message


@pytest.mark.parametrize("spec", ["tomorrow 9:00", "Montag 7:30", '"05.02. 08:00"', '"+2h"'])
def test_understood_relative_times_say_why_they_are_refused(tmp_path: Path, spec: str) -> None:
    path = _write(tmp_path / "drift.md", f"---\nat: {spec}\n---\nText\n")
    with pytest.raises(UserError, match=r"relative time .* is not allowed in a post file"):
        read_post_file(path, BERLIN, NOW, order="DMY")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ('"05.02.2027 08:00"', datetime(2027, 2, 5, 7, 0, tzinfo=UTC)),
        ("5.2.2027 8:00", datetime(2027, 2, 5, 7, 0, tzinfo=UTC)),
        ("5. Februar 2027 8:00", datetime(2027, 2, 5, 7, 0, tzinfo=UTC)),
        ("1 July 2026 08:00", datetime(2026, 7, 1, 6, 0, tzinfo=UTC)),
    ],
)
def test_fixed_dates_in_the_configured_order_are_read_in_a_post_file(
    tmp_path: Path, spec: str, expected: datetime
) -> None:
    path = _write(tmp_path / "fixed.md", f"---\nat: {spec}\n---\nText\n")
    assert read_post_file(path, BERLIN, NOW, order="DMY").at == expected


def test_a_numeric_date_without_an_order_is_refused_in_a_post_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "fixed.md", '---\nat: "05.02.2027 08:00"\n---\nText\n')
    with pytest.raises(UserError, match="could be day-first or month-first"):
        read_post_file(path, BERLIN, NOW)


@pytest.mark.parametrize("value", ["2026-12-24", '"2026-12-24"', '"24.12.2026"'])
def test_a_date_without_time_is_refused_in_a_post_file_as_on_the_command_line(
    tmp_path: Path, value: str
) -> None:
    path = _write(tmp_path / "noon.md", f"---\nat: {value}\n---\nText\n")
    with pytest.raises(UserError, match="has no time of day") as info:
        read_post_file(path, BERLIN, NOW, order="DMY")
    assert str(info.value).startswith(f"{path}: at: ")


@pytest.mark.parametrize("value", ["true", "[2026-12-01]", "{d: 1}"])
def test_an_at_that_is_not_a_time_is_refused(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path / "odd.md", f"---\nat: {value}\n---\nText\n")
    with pytest.raises(UserError, match="at: must be a date and time"):
        _read(path)


# -- which files are posts ------------------------------------------------------------------------


def test_readmes_and_underscore_files_in_a_folder_are_not_posts(tmp_path: Path) -> None:
    names = [
        "README.md", "readme.txt", "ReadMe.markdown", "README", "README.de.md", "_draft.md",
        "_template.txt", ".hidden.md", "post.md", "teaser.txt", "readme-not.md", "my_post.md",
    ]  # fmt: skip
    for name in names:
        (tmp_path / name).write_text("---\n---\nx\n", encoding="utf-8")
    assert [p.name for p in find_post_files([tmp_path])] == [
        "my_post.md", "post.md", "readme-not.md", "teaser.txt",
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["README.md", "readme.txt", "_draft.md", ".post.md"])
def test_a_named_file_that_is_never_a_post_is_refused(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path / name, "---\nid: x\n---\nText\n")
    with pytest.raises(UserError, match="not a post file") as info:
        find_post_files([path])
    assert str(info.value).startswith(f"{path}: not a post file: ")


def test_scan_says_which_files_were_found_in_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "posts"
    folder.mkdir()
    inside = _write(folder / "a.md", "---\n---\nx\n")
    named = _write(tmp_path / "b.md", "x\n")
    assert scan_post_files([folder, named]) == [(inside, True), (named, False)]


def test_markdown_without_front_matter_in_a_folder_is_refused(tmp_path: Path) -> None:
    # A note left in the posts folder has no `at`: it would go out at once.
    path = _write(tmp_path / "notes.md", "Ideen für nächste Woche\n")
    with pytest.raises(UserError) as info:
        read_post_file(path, BERLIN, NOW, in_folder=True)
    assert str(info.value).startswith(f"{path}: no front matter: a Markdown post in a folder")
    assert "'_'" in str(info.value)
    # Named on the command line, the file is read as you asked: its text is the teaser.
    assert read_post_file(path, BERLIN, NOW).teaser == "Ideen für nächste Woche"


def test_keys_are_relative_to_the_project_folder_not_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "posts").mkdir()
    path = _write(tmp_path / "posts" / "a.md", "---\n---\nText\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert read_post_file(path, BERLIN, NOW, base=tmp_path).key == "file:posts/a.md"
    txt = _write(tmp_path / "posts" / "b.txt", "Headline\n\nTeaser #Tag\n")
    assert read_post_file(txt, BERLIN, NOW, base=tmp_path).key == "file:posts/b.txt"
    assert source_key(path, tmp_path / "other") == f"file:{path.as_posix()}"
