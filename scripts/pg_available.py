"""Exit 0 when the test PostgreSQL answers (used by `make test` to decide the engines)."""

from __future__ import annotations

import os
import sys

import psycopg

URL = os.environ.get("CROCEVIA_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test").replace(
    "postgresql+psycopg://", "postgresql://"
)

try:
    with psycopg.connect(URL, connect_timeout=3) as conn:
        conn.execute("SELECT 1")
except Exception as exc:
    print(f"PostgreSQL not available: {exc}", file=sys.stderr)
    sys.exit(1)
sys.exit(0)
