"""Many new rows into one table in one statement, without SQLAlchemy's per-row work.

`conn.execute(insert(table), rows)` compiles the INSERT, then builds every row's parameters in
SQLAlchemy's general machinery (a dict per row, each value looked up and run through its
column's bind processor: aware datetimes to the dialect's form, JSON to text): most of a bulk
import's time in the store. `insert_rows` does what that does, once where it can: the statement
compiled as SQLAlchemy compiles it for an executemany, each column's bind processor fetched
once, the values converted in one pass, and the rows handed to the DBAPI's `executemany`
(`exec_driver_sql`). The same SQL and the same values, on SQLite and PostgreSQL alike.

A column the rows leave out gets its Python-side default, as SQLAlchemy would give it; rows
that do not all have the same columns, or a left-out column with a default computed per row,
go through SQLAlchemy's own path instead.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.engine import Connection

_CHUNK = 500  # keys per `IN (...)` when looking ids up


def insert_rows(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT `rows` (column key -> value, each with the same keys) into `table`."""
    if not rows:
        return
    keys = tuple(rows[0])
    wanted = set(keys)
    plan = _plan(conn, table, keys)
    if plan is None or any(row.keys() != wanted for row in rows):
        conn.execute(insert(table), list(rows))
        return
    sql, names, defaults, processors = plan
    count = len(rows)
    columns = [
        _convert(
            [defaults[name]] * count if name in defaults else [row[name] for row in rows],
            processors[name],
        )
        for name in names
    ]
    if conn.dialect.positional:
        conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))
    else:
        conn.exec_driver_sql(
            sql, [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
        )


def ids_by_key(conn: Connection, table: Table, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the rows of `table` with these (unique) keys: key -> id."""
    found: dict[str, int] = {}
    for chunk in chunks(list(keys), _CHUNK):
        query = select(table.c.key, table.c.id).where(table.c.key.in_(chunk))
        found.update((key, row_id) for key, row_id in conn.execute(query))
    return found


Processor = Callable[[Any], Any] | None


def _plan(
    conn: Connection, table: Table, keys: tuple[str, ...]
) -> tuple[str, list[str], dict[str, Any], dict[str, Processor]] | None:
    """The compiled INSERT, its parameters in order, the defaults of the columns the rows leave
    out, and each parameter's bind processor; None if SQLAlchemy must do the work itself."""
    dialect = conn.dialect
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
    defaults: dict[str, Any] = {}
    for column in compiled.insert_prefetch:
        default = column.default
        if default is None or not default.is_scalar:
            return None  # computed per row (a callable): SQLAlchemy's own path
        defaults[column.key] = default.arg  # type: ignore[attr-defined]
    if compiled.positional:
        names = list(compiled.positiontup or ())
    else:
        names = [*keys, *(k for k in defaults if k not in keys)]
    if set(names) != set(compiled.binds) or set(names) != set(keys) | set(defaults):
        return None
    processors: dict[str, Processor] = {
        name: compiled.binds[name].type._cached_bind_processor(dialect) for name in names
    }
    return compiled.string, names, defaults, processors


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
