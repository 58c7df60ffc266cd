"""Many rows through one statement, without SQLAlchemy's per-row work.

`conn.execute(statement, rows)` builds every row's parameters in SQLAlchemy's general machinery
(a dict per row, each value looked up and run through its column's bind processor: aware
datetimes to the dialect's form, JSON to text). For a bulk import that is most of the store's
time, and for the daemon's record of each batch of outcomes a good part of it. `run_many` does
the same work once where it can: the statement compiled as SQLAlchemy compiles it for an
executemany (once per database and set of keys, then remembered), each parameter's bind
processor fetched once, the values converted in one pass, and the rows handed to the DBAPI's
`executemany` (`exec_driver_sql`). The same SQL and the same values, on SQLite and PostgreSQL
alike; `insert_rows` is the INSERT of new rows into one table.

A parameter the rows leave out is a literal the statement binds itself (`status = 'publishing'`)
or, for an INSERT, the left-out column's Python-side default, as SQLAlchemy would give it.
Rows that do not all have the same keys, or a left-out column with a default computed per row,
go through SQLAlchemy's own path instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, Table, insert, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.dml import UpdateBase

_CHUNK = 500  # keys per `IN (...)` when looking ids up

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for one database and one set of row keys."""

    sql: str
    names: tuple[str, ...]  # its parameters, in the order the DBAPI takes them
    fixed: Mapping[str, Any]  # parameters the rows leave out: their value, converted
    processors: Mapping[str, Processor]  # the others': their bind processor
    positional: bool


# Per database (dialect object) and statement: the plan for each set of keys, or None when
# SQLAlchemy must do the work itself. Weak, so a disposed engine's plans go with it.
_PLANS: weakref.WeakKeyDictionary[Dialect, dict[tuple[Any, tuple[str, ...]], _Plan | None]] = (
    weakref.WeakKeyDictionary()
)
_INSERTS: dict[Table, Insert] = {}


def run_many(conn: Connection, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]) -> int:
    """`conn.execute(statement, rows)` (each row with the same keys); returns the rows matched,
    as the DBAPI counts them."""
    if not rows:
        return 0
    keys = tuple(rows[0])
    plan = _plan_for(conn.dialect, statement, keys)
    wanted = set(keys)
    if plan is None or any(row.keys() != wanted for row in rows):
        return int(conn.execute(statement, list(rows)).rowcount)
    count = len(rows)
    columns = [
        [plan.fixed[name]] * count
        if name in plan.fixed
        else _convert([row[name] for row in rows], plan.processors[name])
        for name in plan.names
    ]
    if plan.positional:
        params: list[Any] = list(zip(*columns, strict=True))
    else:
        names = plan.names
        params = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    return int(conn.exec_driver_sql(plan.sql, params).rowcount)


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (column key -> value, each with the same keys) into `table`."""
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = insert(table)
    run_many(conn, statement, rows)


def ids_by_key(conn: Connection, table: Table, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the rows of `table` with these (unique) keys: key -> id."""
    found: dict[str, int] = {}
    for chunk in chunks(list(keys), _CHUNK):
        query = select(table.c.key, table.c.id).where(table.c.key.in_(chunk))
        found.update((key, row_id) for key, row_id in conn.execute(query))
    return found


def _plan_for(dialect: Dialect, statement: UpdateBase, keys: tuple[str, ...]) -> _Plan | None:
    plans = _PLANS.setdefault(dialect, {})
    key = (statement, keys)
    if key not in plans:
        plans[key] = _plan(dialect, statement, keys)
    return plans[key]


def _plan(dialect: Dialect, statement: UpdateBase, keys: tuple[str, ...]) -> _Plan | None:
    """The compiled statement, its parameters in order, the value of each the rows leave out,
    and each other's bind processor; None if SQLAlchemy must do the work itself."""
    compiled = statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    if compiled.update_prefetch:
        return None  # an UPDATE's column defaults (onupdate): SQLAlchemy's own path
    fixed: dict[str, Any] = {}
    for column in compiled.insert_prefetch:
        default = column.default
        if default is None or not default.is_scalar:
            return None  # computed per row (a callable): SQLAlchemy's own path
        fixed[column.key] = default.arg  # type: ignore[attr-defined]
    literals = compiled.construct_params(params=dict.fromkeys(keys))
    fixed.update((n, value) for n, value in literals.items() if n not in keys and n not in fixed)
    # Positional: one place per use of a parameter, a repeat included; named: each name once.
    names = (
        tuple(compiled.positiontup or ())
        if compiled.positional
        else tuple(dict.fromkeys((*literals, *fixed)))
    )
    if set(names) != set(keys) | set(fixed) or any(
        getattr(compiled.binds.get(name), "expanding", False) for name in names
    ):
        return None
    processors: dict[str, Processor] = {
        name: compiled.binds[name].type._cached_bind_processor(dialect) for name in names
    }
    fixed = {name: _convert([value], processors[name])[0] for name, value in fixed.items()}
    return _Plan(compiled.string, names, fixed, processors, bool(compiled.positional))


def _convert(values: list[Any], processor: Processor) -> list[Any]:
    """Each value through its bind processor; a datetime, None, a bool or a list of strings
    (JSON) converted once per distinct value (the rows of an import share their `now`, mostly
    their due time, and many their hashtags or an empty list).

    The memo's key tells a value apart from every other value a processor may see: equal
    datetimes may still differ (another tzinfo, or fold), so both are in the key; equal lists
    of strings hold the same text. A hit stands for the value exactly."""
    if processor is None:
        return values
    done: dict[Hashable, Any] = {}
    converted = []
    for value in values:
        kind = type(value)
        key: Hashable
        if kind is datetime:
            key = (kind, value, id(value.tzinfo), value.fold)
        elif value is None or kind is bool:
            key = (kind, value)
        elif kind is list and all(type(item) is str for item in value):
            key = (kind, *value)
        else:
            converted.append(processor(value))
            continue
        if key not in done:
            done[key] = processor(value)
        converted.append(done[key])
    return converted


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """`items` in slices of at most `size` (the keys of one `IN (...)`)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
