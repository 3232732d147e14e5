"""Alembic migrations: the only way kopflow creates or changes a schema (never ``create_all``)."""

# The newest revision; commands refuse a database at any other one (see db.require_schema).
HEAD = "0006"
