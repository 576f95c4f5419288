"""SQL storage: SQLite by default, PostgreSQL in production (SQLAlchemy 2 Core, async engines, Alembic)."""
