"""Each platform declares its text limits once (`Platform.text_limits`); drafts.plan (enqueue,
import, preview) and the adapters' publish-time check both read that one declaration."""

from __future__ import annotations

from postbot.domain import Account
from postbot.drafts import Draft, render_for
from postbot.platforms import platform_for
from postbot.platforms.limits import LimitCheck, TextLimit, longest_hashtag, utf8_length
from postbot.platforms.mastodon import MastodonPlatform
from postbot.platforms.mastodon.instance import InstanceLimits

FAMILY = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # one grapheme, 18 UTF-8 bytes


def account(platform: str, char_limit: int | None = None) -> Account:
    return Account(platform, platform, char_limit=char_limit)


def limits_of(platform: str, char_limit: int | None = None) -> list[tuple[str, int]]:
    return [
        (limit.name, limit.limit)
        for limit in platform_for(account(platform, char_limit)).text_limits()
    ]


def test_what_each_platform_declares() -> None:
    assert limits_of("bluesky") == [
        ("graphemes", 300),
        ("UTF-8 bytes", 3000),
        ("graphemes in the longest hashtag", 64),
        ("UTF-8 bytes in the longest hashtag", 640),
    ]
    assert limits_of("x") == [("characters", 280)]
    assert limits_of("x", char_limit=25_000) == [("characters", 25_000)]  # a paid tier
    assert limits_of("mastodon") == [("characters", 500)]
    assert limits_of("mastodon", char_limit=1000) == [("characters", 1000)]
    assert limits_of("dryrun") == [("characters", 500)]


def test_bluesky_300_family_emoji_break_the_byte_limit_not_the_grapheme_limit() -> None:
    platform = platform_for(account("bluesky"))
    graphemes, size, *_ = platform.check_text(FAMILY * 300)
    assert (graphemes.count, graphemes.fits) == (300, True)
    assert (size.count, size.fits) == (5400, False)
    assert platform.overrun(FAMILY * 300) == LimitCheck("UTF-8 bytes", 5400, 3000)
    assert platform.overrun(FAMILY * 166) is None  # 2,988 bytes


def test_a_char_limit_above_blueskys_own_cannot_lift_it() -> None:
    assert limits_of("bluesky", char_limit=1000)[0] == ("graphemes", 300)
    assert limits_of("bluesky", char_limit=280)[0] == ("graphemes", 280)


def test_bluesky_hashtags_are_measured_one_by_one() -> None:
    platform = platform_for(account("bluesky"))
    text = "Gipfel #" + "a" * 64 + " #kurz https://example.org/#" + "b" * 80
    checks = {c.name: c for c in platform.check_text(text)}
    assert checks["graphemes in the longest hashtag"].count == 64  # a URL's fragment is no tag
    assert platform.overrun(text) is None
    assert platform.overrun(text + " #" + "c" * 65) == LimitCheck(
        "graphemes in the longest hashtag", 65, 64
    )


def test_mastodon_at_publish_reads_the_servers_own_limits() -> None:
    platform = platform_for(account("mastodon"))
    assert isinstance(platform, MastodonPlatform)
    instance = InstanceLimits(max_characters=100, characters_reserved_per_url=30)
    (limit,) = platform.text_limits(instance)
    text = "a" * 60 + " https://example.org/" + "p" * 100  # 60 + 1 + 30
    assert limit.check(text) == LimitCheck("characters", 91, 100)
    assert platform.overrun("ä" * 101, platform.text_limits(instance)) == LimitCheck(
        "characters", 101, 100
    )


def test_enqueue_and_publish_read_the_same_declaration() -> None:
    draft = Draft(teaser="Grüße " + FAMILY * 10, hashtags=("SOZGipfel",))
    for name in ("bluesky", "x", "mastodon", "dryrun"):
        target = render_for(draft, account(name))
        platform = platform_for(account(name))
        assert target.checks == platform.check_text(target.text)
        assert (target.count, target.limit) == (target.checks[0].count, target.checks[0].limit)
        assert target.count == platform.count(target.text)  # `count` stays the main measure


def test_small_measures() -> None:
    assert utf8_length("Grüße") == 7
    assert longest_hashtag(len)("no tags") == 0
    assert longest_hashtag(len)("#ab #abcd text#glued") == 4
    assert str(TextLimit("graphemes", 300, len).check("abc")) == "graphemes 3/300"
