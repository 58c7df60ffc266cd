"""`compose` loads twitter-text with its patterns compiled on first use (`_LazyPattern`), to
keep `postbot enqueue`'s start-up short. The rest of the suite imports twitter-text whole, so
its patterns are the library's own; here a fresh interpreter loads it the way `postbot` does,
counts the conformance texts and a random mix, and must agree with the library's own parse.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import yaml
from twitter_text import parse_tweet
from twitter_text.config import config as twitter_text_config

VALIDATE_YML = Path(__file__).parents[1] / "data/conformance/twitter-text/validate.yml"
LINKED = "Gipfel in Tianjin: Xi empfängt Putin und Modi. https://example.org/a #SOZGipfel"

CHILD = """
import json, sys
from postbot import compose
texts = json.loads(sys.stdin.read())
linked = compose.count_x(texts[0])
import twitter_text.regexp.valid_ascii_domain as ascii_domain
pattern = ascii_domain.valid_ascii_domain
state = {"lazy": type(pattern).__name__, "compiled": "compiled" in vars(pattern)}
json.dump({"state": state, "counts": [linked, *map(compose.count_x, texts[1:])]}, sys.stdout)
"""


def _conformance() -> list[str]:
    suite = yaml.safe_load(VALIDATE_YML.read_text(encoding="utf-8"))["tests"]
    return [case["text"] for cases in suite.values() for case in cases
            if isinstance(case.get("expected"), dict)]  # fmt: skip


def _texts() -> list[str]:
    pieces = ["Grüße ", "https://example.org/a?x=1 ", "example.com ", "www.test.de/x ", "a.b ",
              "東京 ", "😀 ", "foo.bar@baz.de ", "http://t.co/abc ", "Köln.de ", "WWW.TEST.DE ",
              "HTTPS://Example.ORG/X ", "\r\n"]  # fmt: skip
    rnd = random.Random(3)
    mixed = ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12))) for _ in range(300)]
    return [LINKED, *_conformance(), *mixed]


def _run_child(texts: list[str]) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", CHILD], input=json.dumps(texts), text=True,
                          capture_output=True, check=True, timeout=120)  # fmt: skip
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_lazily_compiled_patterns_count_as_twitter_text_does() -> None:
    texts = _texts()
    result = _run_child(texts)
    v3 = dict(twitter_text_config["version3"])
    expected = [parse_tweet(text, v3).weightedLength for text in texts]
    assert result["counts"] == expected
    assert len(_conformance()) >= 40  # the conformance file was read, not an empty one


def test_a_teaser_with_an_https_link_never_compiles_the_bare_domain_pattern() -> None:
    # The pattern for URLs written without https:// is only needed for such a URL: a teaser
    # whose one link has its scheme never pays for compiling it.
    result = _run_child([LINKED])
    assert result["state"] == {"lazy": "_LazyPattern", "compiled": False}
    assert result["counts"] == [len(LINKED) - len("https://example.org/a") + 23]
