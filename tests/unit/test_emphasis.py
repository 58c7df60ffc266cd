"""postbot.emphasis: Markdown emphasis found in a teaser, without false alarms."""

from __future__ import annotations

import pytest

from postbot.emphasis import find_emphasis


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Heute beginnt der **SOZ-Gipfel** in Astana.", ["**SOZ-Gipfel**"]),
        ("Heute beginnt der __SOZ-Gipfel__ in Astana.", ["__SOZ-Gipfel__"]),
        ("Das ist *wichtig* und _neu_.", ["*wichtig*", "_neu_"]),
        ("***Eilmeldung***: Xi in Astana", ["***Eilmeldung***"]),
        ("**Xi Jinping in Astana**", ["**Xi Jinping in Astana**"]),
        ("(*Update*) neue Zahlen", ["*Update*"]),
        ("„**Zitat**“, sagte sie.", ["**Zitat**"]),
        ("**Eins** und **zwei**", ["**Eins**", "**zwei**"]),
        ("Ende mit *Stern*.", ["*Stern*"]),
        ("*Ä*", ["*Ä*"]),
    ],
)
def test_emphasis_is_found(text: str, found: list[str]) -> None:
    assert find_emphasis(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "Der #SOZ_Gipfel beginnt heute #Xi_Jinping_Besuch",
        "#_wichtig_ und #__doppelt__",
        "Mehr unter https://example.org/politik/soz_gipfel_astana_2026 lesen",
        "Mehr unter https://example.org/a_b_c_ und www.example.org/*x*",
        "Variable snake_case_name und file_name_v2",
        "Liebe Leser*innen und Autor*innen!",
        "Preis 5 * 3 * 2 Euro",
        "* Punkt eins\n* Punkt zwei",
        "Nur ein *Stern ohne Ende",
        "Ein ** leerer ** Stern",
        "Escaped \\*nicht fett\\*",
        "Code `a_b_` bleibt",
        "2*3*4 = 24",
        "_ _ _",
        "",
        "Ganz normaler Text ohne Markdown.",
    ],
)
def test_no_false_alarms(text: str) -> None:
    assert find_emphasis(text) == []


def test_emphasis_next_to_a_hashtag_is_still_found() -> None:
    assert find_emphasis("**Gipfel** #SOZ_Gipfel") == ["**Gipfel**"]
