"""The duplicate guard at enqueue: a post whose text matches one published, or queued, to the
same account within the last 24 hours is refused, unless the person says it is meant
(`--allow-duplicate`, `allow_duplicate: true`). The rule is `postbot.duplicates`'; this module
asks the store (one indexed query for a whole import) and words the refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from postbot.drafts import Plan
from postbot.duplicates import Earlier, earlier_match, exempt, message
from postbot.errors import UserError
from postbot.store import Store
from postbot.when import local_text

_CHUNK = 400  # (account, hash) pairs per query


def duplicates(store: Store, plans: Sequence[Plan], now: datetime, zone: tzinfo) -> dict[int, str]:
    """Of `plans` (those without `allow_duplicate`), which are duplicates: index -> the one line
    saying of what. A plan is also a duplicate of an earlier plan in the same list with the
    same text to the same account (two files of one import)."""
    # Each plan's (account, hash) pairs, hashed once; None for a plan allowed to repeat, and
    # for an example post (only dry runs publish it: `duplicates.exempt`).
    hashed = [
        None if exempt(p.draft.key, p.draft.allow_duplicate)
        else [(t.account, t.text_hash) for t in p.targets]
        for p in plans
    ]  # fmt: skip
    found: dict[tuple[str, str | None], list[Earlier]] = {}
    pairs = sorted({pair for plan_pairs in hashed if plan_pairs for pair in plan_pairs})
    for i in range(0, len(pairs), _CHUNK):
        for e in store.same_text(pairs[i : i + _CHUNK]):
            found.setdefault((e.account, e.text_hash), []).append(e)
    refused: dict[int, str] = {}
    taken: dict[tuple[str, str], Plan] = {}  # in this list: (account, hash) -> the first plan
    for index, (plan, plan_pairs) in enumerate(zip(plans, hashed, strict=True)):
        if plan_pairs is None:
            continue
        for pair in plan_pairs:
            # Nothing found earlier for the pair: no match (what earlier_match says of none).
            match = earlier_match(found[pair], plan.draft.key, now) if pair in found else None
            first = taken.get(pair)
            if match is not None:
                refused[index] = message(plan.draft.where, match, local_text(match.at, zone))
            elif first is not None and first.draft.key != plan.draft.key:
                refused[index] = (
                    f"{plan.draft.where}: the same text as {first.draft.where}, both to"
                    f" {pair[0]} in this import; change one, or give --allow-duplicate"
                    " (allow_duplicate: true in a post file)"
                )
            if index in refused:
                break
        if index not in refused:
            for pair in plan_pairs:
                taken.setdefault(pair, plan)
    return refused


def refuse_duplicate(store: Store, plan: Plan, now: datetime, zone: tzinfo) -> None:
    """Refuse (UserError, one line) a post that is a duplicate; nothing is written."""
    refused = duplicates(store, [plan], now, zone)
    if refused:
        raise UserError(refused[0])
