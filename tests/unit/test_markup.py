"""Markdown marks that plain-text platforms would show as typed: found, and only those."""

from __future__ import annotations

import pytest

from postbot.markup import markdown_in, markdown_warning

FOUND = {
    "bold": ("Heute **SOZ-Gipfel** in Astana", ("**SOZ-Gipfel**",)),
    "bold with underscores": ("Der __Gipfel__ beginnt", ("__Gipfel__",)),
    "italics with underscores": ("ein _x_ hier", ("_x_",)),
    "italics with a star": ("(*kursiv*) und mehr", ("*kursiv*",)),
    "strike-through": ("~~alt~~ neu", ("~~alt~~",)),
    "code": ("Befehl `postbot run` läuft", ("`postbot run`",)),
    "link": ("Siehe [hier](https://example.org/x_y)", ("[hier](https://example.org/x_y)",)),
    "several, in order": ("_a_ und **b** und _c_", ("_a_", "**b**", "_c_")),
    "a mark repeated once": ("**a** und **a**", ("**a**",)),
    "at the very start and end": ("**Eilmeldung**", ("**Eilmeldung**",)),
    "bold italics": ("***Eilmeldung***: Xi in Astana", ("***Eilmeldung***",)),
    "a sentence in bold": ("**Xi Jinping in Astana**", ("**Xi Jinping in Astana**",)),
    "inside quotes": ("„**Zitat**“, sagte sie.", ("**Zitat**",)),
    "before a full stop": ("Ende mit *Stern*.", ("*Stern*",)),
    "one umlaut": ("*Ä*", ("*Ä*",)),
    "next to a hashtag": ("**Gipfel** #SOZ_Gipfel", ("**Gipfel**",)),
}

NOT_FOUND = {
    "gender star": "Lehrer*innen und Schüler*innen streiken",
    "hashtag with underscore": "#SOZ_Gipfel heute",
    "snake_case": "the config_file_name here",
    "underscores in a URL": "https://example.org/a_b_c_d",
    "stars in a URL": "https://example.org/*x*",
    "arithmetic": "5 * 3 * 2",
    "spaces inside": "** nicht fett **",
    "glued to words": "x**y**z",
    "a lone star": "*",
    "plain text": "Lesen Sie hier, wie Xi Jinping am SOZ-Gipfel teilnimmt.",
    "hashtags made of underscores": "#_wichtig_ und #__doppelt__",
    "hashtags with underscores": "Der #SOZ_Gipfel beginnt heute #Xi_Jinping_Besuch",
    "a www address": "Mehr unter https://example.org/a_b_c_ und www.example.org/*x*",
    "a list": "* Punkt eins\n* Punkt zwei",
    "a star never closed": "Nur ein *Stern ohne Ende",
    "escaped marks": "Escaped \\*nicht fett\\*",
    "a product": "2*3*4 = 24",
    "lone underscores": "_ _ _",
    "empty": "",
}


@pytest.mark.parametrize(("text", "marks"), FOUND.values(), ids=FOUND.keys())
def test_markdown_marks_are_found(text: str, marks: tuple[str, ...]) -> None:
    assert markdown_in(text) == marks


@pytest.mark.parametrize("text", NOT_FOUND.values(), ids=NOT_FOUND.keys())
def test_newsroom_text_that_is_not_markdown_is_left_alone(text: str) -> None:
    assert markdown_in(text) == ()


def test_the_warning_names_the_place_the_marks_and_the_accounts() -> None:
    assert markdown_warning("Kein Markdown", ["x"], "posts/a.md") is None
    assert markdown_warning("**a** _b_ ~~c~~ `d` *e*", ["x", "bluesky"], "posts/a.md") == (
        "posts/a.md: Markdown formatting **a** _b_ ~~c~~ … is sent as typed to x, bluesky"
        " (they show plain text: no bold or italics)"
    )
