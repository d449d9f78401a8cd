"""Alembic migrations of the store; applied by :func:`scorecast.store.db.migrate`."""
