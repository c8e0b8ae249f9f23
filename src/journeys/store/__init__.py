"""Persistence: SQLModel tables, repositories and Alembic migrations.

SQLite (a file in the data dir) by default, PostgreSQL in production. Functions
here take a Session and never commit: the caller (a request, an activity) owns
the transaction.

The hottest statements (an event id's claim, a start's decision, a send's claim, a run's
end) are module constants (`_CLAIM`, `_HISTORY`...), their values bound at each call:
SQLAlchemy finds a statement's compiled form by a cache key it memoises on the object,
where a statement built per call is built and hashed anew each time, which cost more CPU
than SQLite's own work. Where the ORM's bookkeeping (objects, autoflush) is not wanted,
they are Core statements on `tables.table(Row)`. An UPDATE's bound values are named apart
from its table's columns (`instance`, not `instance_id`): given to an UPDATE, a value
named after a column is also SET.
"""
