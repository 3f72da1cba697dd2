"""Alembic migrations of the store; run them with ``ordergraph migrate``."""
