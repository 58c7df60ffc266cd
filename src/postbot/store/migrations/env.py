"""Alembic environment: runs the migrations on the engine handed over by postbot.store.migrate."""

from __future__ import annotations

from alembic import context

engine = context.config.attributes["engine"]

# One transaction for the whole upgrade (BEGIN IMMEDIATE on SQLite): a second process that
# starts at the same moment waits, then finds the schema current and does nothing.
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=None,
        render_as_batch=connection.dialect.name == "sqlite",
        transactional_ddl=True,
    )
    context.run_migrations()
