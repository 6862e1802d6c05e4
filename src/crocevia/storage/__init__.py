"""Persistence: the only package that knows SQLite and PostgreSQL apart."""
