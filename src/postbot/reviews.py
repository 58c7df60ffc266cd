"""Review: a post held as a draft (status `draft`) until an editor approves or rejects it.

A draft comes from a post file with `draft: true` or from a feed with `review = true`. The
daemon never claims a draft. `postbot approve` queues it (its text may be changed first, and is
checked again), `postbot reject` cancels it; each decision is recorded as a `Review`: who, when,
and what was approved (the text each account is sent, and when). Leaf module: records only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Review:
    """One editor's decision on one draft, as recorded (append-only)."""

    id: int
    post_id: int
    decision: Decision
    by: str  # who decided (`--by`, else the login name)
    at: datetime
    # What was approved: {"due": iso, "teaser": ..., "texts": {account: text}, "edited": bool};
    # for a rejection, what was rejected (the texts).
    detail: Mapping[str, Any] = field(default_factory=dict)


def review_detail(
    teaser: str, texts: Mapping[str, str], due: datetime | None, edited: bool
) -> dict[str, Any]:
    """The record of what an editor decided on, as stored in the review log."""
    return {
        "teaser": teaser,
        "texts": dict(texts),
        "due": due.isoformat() if due is not None else None,
        "edited": edited,
    }
