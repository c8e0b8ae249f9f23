"""Persistence: SQLModel tables, repositories and Alembic migrations.

SQLite (a file in the data dir) by default, PostgreSQL in production. Functions
here take a Session and never commit: the caller (a request, an activity) owns
the transaction.
"""
