"""Storage: database URLs, engines and transactions (``db``), the schema as SQLModel classes
(``models``) and as the Core tables kopflow runs on (``tables``, ``sqltypes``), driver-level
batched reads and writes (``rows``) and the alembic migrations (``migrations/``)."""
