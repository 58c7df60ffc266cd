"""postbot.compose: hashtags, rendering and counting, checked against the platforms' own data.

- twitter-text's conformance suite (tests/data/conformance/twitter-text/validate.yml), read at
  test time as its README asks, for X's weighted length;
- Unicode's GraphemeBreakTest.txt (tests/data/conformance/unicode/), for grapheme counting,
  with the one line where the `regex` module's newer Unicode splits differently named below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import regex
import yaml
from twitter_text import parse_tweet
from twitter_text.config import config as twitter_text_config

from postbot import compose
from postbot.errors import UserError

DATA = Path(__file__).resolve().parents[1] / "data"
VALIDATE_YML = DATA / "conformance" / "twitter-text" / "validate.yml"
GRAPHEME_BREAK_TEST = DATA / "conformance" / "unicode" / "GraphemeBreakTest.txt"

SEED_TEASER = (
    "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel teilnimmt und über die Zukunft der"
    " Shanghaier Organisation für Zusammenarbeit spricht."
)

# -- (a) X: twitter-text conformance ---------------------------------------------------------

# twitter-text configuration v2, emoji not discounted: every code point weighs by its range.
CONFIG_V2 = {**twitter_text_config["version2"], "emoji_parsing_enabled": False}
CONFIG_V3 = twitter_text_config["version3"]
# Section -> the configuration it is counted with (None: count_x's default, which is v3).
SECTIONS: dict[str, dict[str, Any] | None] = {
    "WeightedTweetsCounterTest": CONFIG_V2,
    "WeightedTweetsWithDiscountedEmojiCounterTest": None,
    "UnicodeDirectionalMarkerCounterTest": None,
}


def _weighted_cases() -> list[Any]:
    suite = yaml.safe_load(VALIDATE_YML.read_text(encoding="utf-8"))["tests"]
    cases = []
    for section, cfg in SECTIONS.items():
        for index, case in enumerate(suite[section]):
            expected = case.get("expected")
            if isinstance(expected, dict) and "weightedLength" in expected:
                cases.append(
                    pytest.param(
                        case["text"],
                        cfg,
                        expected,
                        id=f"{section}[{index}] {case['description']}",
                    )
                )
    return cases


WEIGHTED_CASES = _weighted_cases()


def test_conformance_suite_has_every_weighted_section() -> None:
    # Guards against a truncated or reorganised validate.yml quietly testing nothing.
    sections = {case.id.split("[")[0] for case in WEIGHTED_CASES}
    assert sections == set(SECTIONS)
    assert len(WEIGHTED_CASES) >= 40


@pytest.mark.parametrize(("text", "cfg", "expected"), WEIGHTED_CASES)
def test_count_x_matches_twitter_text_conformance(
    text: str, cfg: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    weighted = compose.count_x(text, cfg)
    assert weighted == expected["weightedLength"]
    valid = weighted <= 280 and parse_tweet(text, cfg or CONFIG_V3).valid
    assert valid == expected["valid"]


def test_count_x_default_is_config_v3() -> None:
    family = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # woman, ZWJ, woman, ZWJ, girl
    assert compose.count_x(family) == 2  # v3: one emoji sequence, weight 200
    assert compose.count_x(family, CONFIG_V2) == 8  # v2: three emoji (2 each) + two ZWJ (1 each)


# -- (f) X: what a user checks -------------------------------------------------------------


def test_count_x_url_counts_23_however_long() -> None:
    url = "https://example.org/politik/" + "a" * 100
    assert compose.count_x(url) == 23
    assert compose.count_x(f"Lesen: {url}") == len("Lesen: ") + 23


def test_count_x_cjk_counts_two_each() -> None:
    assert compose.count_x("日本語") == 6
    assert compose.count_x("東京 Tokyo") == 2 * 2 + len(" Tokyo")


def test_count_x_german_seed_teaser_counts_its_plain_length() -> None:
    # Umlauts are Latin (weight 1): the teaser counts exactly as many characters as it has.
    assert compose.count_x(SEED_TEASER) == len(SEED_TEASER) == 131
    text = compose.render_text(SEED_TEASER, None, ("XiJinping", "SOZGipfel"))
    assert compose.count_x(text) == len(text)


# -- (b) graphemes: Unicode's GraphemeBreakTest ----------------------------------------------

# Lines of GraphemeBreakTest.txt (15.0) that the `regex` module (Unicode 16 or newer) splits
# differently, as code points -> the split `regex` makes. The 15.0 file joins 2701 200D 2701
# under rule GB11 although it labels U+2701 "Other" (not Extended_Pictographic); Unicode 15.1
# changed GB11 handling and newer data breaks before the second U+2701, as `regex` does.
# If this set is wrong in either direction the test fails: a new difference is a regression,
# a vanished one means `regex` or the data changed, and this list and the NOTICE need updating.
KNOWN_DIFFERENCES: dict[tuple[int, ...], list[tuple[int, ...]]] = {
    (0x2701, 0x200D, 0x2701): [(0x2701, 0x200D), (0x2701,)],
}


def _grapheme_cases() -> list[Any]:
    cases = []
    for number, line in enumerate(GRAPHEME_BREAK_TEST.read_text(encoding="utf-8").splitlines(), 1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        clusters: list[tuple[int, ...]] = []
        current: list[int] = []
        for token in body.split():
            if token == "÷":
                if current:
                    clusters.append(tuple(current))
                    current = []
            elif token != "×":
                current.append(int(token, 16))
        assert not current, f"line {number} does not end with ÷"
        cases.append(pytest.param(clusters, id=f"line{number}: {body}"))
    return cases


GRAPHEME_CASES = _grapheme_cases()


def _text(clusters: list[tuple[int, ...]]) -> str:
    return "".join(chr(cp) for cluster in clusters for cp in cluster)


def _regex_split(text: str) -> list[tuple[int, ...]]:
    return [tuple(ord(c) for c in cluster) for cluster in regex.findall(r"\X", text)]


def test_grapheme_break_test_is_unicode_15_0_and_complete() -> None:
    header = GRAPHEME_BREAK_TEST.read_text(encoding="utf-8").splitlines()[0]
    assert header == "# GraphemeBreakTest-15.0.0.txt"
    assert len(GRAPHEME_CASES) == 602


def test_known_differences_are_lines_of_the_file() -> None:
    # Otherwise an expected difference could "stop differing" merely by vanishing from the data.
    sequences = {tuple(cp for cl in case.values[0] for cp in cl) for case in GRAPHEME_CASES}
    assert set(KNOWN_DIFFERENCES) <= sequences


@pytest.mark.parametrize("clusters", GRAPHEME_CASES)
def test_grapheme_break_line(clusters: list[tuple[int, ...]]) -> None:
    text = _text(clusters)
    sequence = tuple(ord(c) for c in text)
    split = _regex_split(text)
    if sequence in KNOWN_DIFFERENCES:
        expected = KNOWN_DIFFERENCES[sequence]
        assert split != clusters, "known difference is gone: update KNOWN_DIFFERENCES and NOTICE"
    else:
        expected = clusters
    assert split == expected
    assert compose.count_graphemes(text) == len(expected)


def test_count_graphemes_examples() -> None:
    assert compose.count_graphemes("") == 0
    assert compose.count_graphemes("plain ascii") == 11
    assert compose.count_graphemes("a\r\nb") == 3  # CR LF is one cluster
    assert compose.count_graphemes("\U0001f469\u200d\U0001f469\u200d\U0001f467") == 1
    assert compose.count_graphemes("\U0001f1e9\U0001f1ea") == 1  # flag: two regional indicators
    assert compose.count_graphemes("e\u0301") == 1


# -- (e) Mastodon: graphemes with URLs at a fixed weight -------------------------------------


def test_count_with_url_weight_url_counts_23() -> None:
    url = "https://example.org/" + "x" * 80
    assert len(url) == 100
    assert compose.count_with_url_weight(url) == 23
    assert compose.count_with_url_weight(f"Lesen: {url} #SOZGipfel") == 7 + 23 + 11


def test_count_with_url_weight_several_urls_and_custom_weight() -> None:
    text = "a http://one.example/x b https://two.example/" + "y" * 50
    assert compose.count_with_url_weight(text) == len("a ") + 23 + len(" b ") + 23
    assert compose.count_with_url_weight(text, url_weight=10) == 2 + 10 + 3 + 10


def test_count_with_url_weight_counts_graphemes_elsewhere() -> None:
    family = "\U0001f469\u200d\U0001f469\u200d\U0001f467"
    assert compose.count_with_url_weight(family) == 1
    assert compose.count_with_url_weight("e\u0301") == 1
    assert compose.count_with_url_weight(f"{family} https://example.org/{'z' * 60} e\u0301") == (
        1 + 1 + 23 + 1 + 1
    )


def test_count_with_url_weight_without_url_is_grapheme_count() -> None:
    assert compose.count_with_url_weight(SEED_TEASER) == len(SEED_TEASER)
    assert compose.count_with_url_weight("") == 0


# -- (c) rendering ---------------------------------------------------------------------------


def test_render_seed_teaser() -> None:
    assert compose.render_text(SEED_TEASER, None, ("XiJinping", "SOZGipfel")) == (
        "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel teilnimmt und über die Zukunft der"
        " Shanghaier Organisation für Zusammenarbeit spricht. #XiJinping #SOZGipfel"
    )


def test_render_teaser_then_link_then_hashtags() -> None:
    assert compose.render_text(" Teaser text. ", " https://example.org/a ", ("One", "Two")) == (
        "Teaser text. https://example.org/a #One #Two"
    )


def test_render_without_link_or_hashtags_is_the_teaser() -> None:
    assert compose.render_text("  Just this.  ", None, ()) == "Just this."
    assert compose.render_text("Just this.", "", ()) == "Just this."


def test_render_skips_hashtags_already_in_teaser_case_insensitively() -> None:
    teaser = "Heute #xijinping in Astana."
    assert compose.render_text(teaser, None, ("XiJinping", "SOZGipfel")) == (
        "Heute #xijinping in Astana. #SOZGipfel"
    )
    assert compose.render_text("Grüße aus #Köln", None, ("KÖLN",)) == "Grüße aus #Köln"


def test_render_never_repeats_a_hashtag() -> None:
    assert compose.render_text("Text", None, ("Foo", "foo", "FOO", "Bar")) == "Text #Foo #Bar"


def test_render_adds_tag_that_is_only_a_prefix_of_a_teaser_tag() -> None:
    # '#SOZGipfel2026' in the teaser is a different tag from 'SOZGipfel'.
    assert compose.render_text("Mehr #SOZGipfel2026", None, ("SOZGipfel",)) == (
        "Mehr #SOZGipfel2026 #SOZGipfel"
    )


def test_render_ignores_hash_inside_words_and_urls() -> None:
    # 'C#' and a URL fragment are not hashtags, so the tag is still appended.
    teaser = "Learn C#Sharp at https://example.org/page#Sharp"
    assert compose.render_text(teaser, None, ("Sharp",)) == f"{teaser} #Sharp"


def test_hashtags_in_text() -> None:
    assert compose.hashtags_in("Heute #XiJinping und #SOZGipfel, nicht #2026 oder a#b.") == (
        "XiJinping",
        "SOZGipfel",
    )


# -- (d) hashtag validation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("Grüße", "Grüße"),
        ("#東京", "東京"),
        ("COVID_19", "COVID_19"),
        ("#SOZGipfel", "SOZGipfel"),
        ("  XiJinping  ", "XiJinping"),
        ("Cafe\u0301", "Cafe\u0301"),  # combining accent is part of the tag
        ("_", "_"),
        ("2026Gipfel", "2026Gipfel"),
    ],
)
def test_normalize_hashtag_accepts(tag: str, expected: str) -> None:
    assert compose.normalize_hashtag(tag) == expected


@pytest.mark.parametrize(
    "tag", ["foo bar", "foo-bar", "1234", "#1234", "", "#", "##foo", "foo!", "#foo#bar"]
)
def test_normalize_hashtag_refuses_naming_the_tag(tag: str) -> None:
    with pytest.raises(UserError) as info:
        compose.normalize_hashtag(tag)
    assert f"invalid hashtag '{tag}'" in str(info.value)


def test_normalize_hashtag_only_digits_says_why() -> None:
    with pytest.raises(UserError, match="only digits"):
        compose.normalize_hashtag("1234")


def test_normalize_hashtags_dedupes_case_insensitively_keeping_first_spelling() -> None:
    assert compose.normalize_hashtags(["#XiJinping", "SOZGipfel", "xijinping", "#SOZGIPFEL"]) == (
        "XiJinping",
        "SOZGipfel",
    )
    # casefold, not lower: 'STRASSE' is the same tag as 'Straße'
    assert compose.normalize_hashtags(["Straße", "STRASSE"]) == ("Straße",)
    assert compose.normalize_hashtags([]) == ()


def test_normalize_hashtags_refuses_any_bad_tag() -> None:
    with pytest.raises(UserError, match="'foo bar'"):
        compose.normalize_hashtags(["Good", "foo bar"])


def test_x_count_shortcut_agrees_with_twitter_text_on_mixed_texts() -> None:
    # count_x skips twitter-text's full parse for Latin-script text; it must never disagree.
    import random

    pieces = [
        "Grüße aus Köln ", "https://example.org/a/b?x=1 ", "example.com ", "„Zitat“ ", "– ",
        "東京 ", "😀 ", "👩‍👩‍👧 ", "© ", "® ", "#SOZGipfel ", "e\u0301 ", "\r\n", "ß", "Ж",
        "‼ ", "1\u20e3 ", "www.test.de/x ", "foo.bar@baz.de ", "a.b ", "…", "\u200d", "\ufe0f",
    ]  # fmt: skip
    rnd = random.Random(7)
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 30)))
        expected = parse_tweet(text, dict(twitter_text_config["version3"])).weightedLength
        assert compose.count_x(text) == expected, text


def test_grapheme_shortcut_agrees_with_the_full_segmentation() -> None:
    import random

    pieces = [
        "Grüße ", "„Zitat“ – ", "…", "€ 5 ", "\r\n", "\r", "\n", "e\u0301", "👩‍👩‍👧", "🇩🇪",
        "東京", "\u200d", "\u200c", "\ufe0f", "각", "\u1100\u1161", "नमस्ते", "\u00ad", "ÿ", "ʼ",
    ]  # fmt: skip
    rnd = random.Random(11)
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 20)))
        assert compose.count_graphemes(text) == len(regex.findall(r"\X", text)), repr(text)
