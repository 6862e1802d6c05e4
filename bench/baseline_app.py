"""The bare-insert baseline: a Starlette endpoint that stores the raw body in SQLite, nothing else.

    python -m bench.baseline_app --db /tmp/x.db --port 8123

Served exactly as ``crocevia serve`` serves the hub (``uvicorn.run`` with the same options,
so the same single worker and the same auto-selected loop and HTTP parser). SQLite is set
up as the hub sets it up: WAL, synchronous=NORMAL. The insert runs inline on the event loop
with one connection, the cheapest way a Python server can durably write one row per request:
this is the ceiling the full pipeline is compared with.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build_app(db_path: str) -> Starlette:
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS raw_webhooks (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")

    async def insert(request: Request) -> Response:
        body = await request.body()
        conn.execute("INSERT INTO raw_webhooks (body) VALUES (?)", (body,))  # autocommit: one txn per row
        return Response(b'{"ok":true}', media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    return Starlette(routes=[Route("/bare/{path:path}", insert, methods=["POST"]),
                             Route("/healthz", healthz)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--db", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    # The same call as crocevia.cli.cmd_serve.
    uvicorn.run(build_app(args.db), host=args.host, port=args.port, log_level="warning", proxy_headers=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
