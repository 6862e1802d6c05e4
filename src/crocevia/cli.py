"""The `crocevia` command: serve, worker, migrate, demo, createuser, emulator, dlp."""

from __future__ import annotations

import argparse
import gc
import getpass
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from pydantic import ValidationError

from crocevia.errors import CroceviaError

Handler = Callable[[argparse.Namespace], int]


def _settings(args: argparse.Namespace | None = None) -> object:
    from crocevia.settings import Settings

    overrides = {}
    if args is not None:
        for key in ("host", "port"):
            if getattr(args, key, None) is not None:
                overrides[key] = getattr(args, key)
    return Settings(**overrides)


def cmd_migrate(args: argparse.Namespace) -> int:
    from crocevia.settings import Settings
    from crocevia.storage.db import Database
    from crocevia.storage.migrate import upgrade

    settings = Settings()
    db = Database(settings.effective_database_url)
    upgrade(db)
    engine = "PostgreSQL" if db.is_postgres else "SQLite"
    print(f"database migrated ({engine}: {_redact(settings.effective_database_url)})")
    db.dispose()
    return 0


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        return f"{scheme}://{creds.split(':')[0]}:***@{host}" if ":" in creds else url
    return url


# How long a thread may keep the GIL while another waits for it (Python's default: 5 ms).
GIL_SWITCH_INTERVAL = 0.0005


def _share_the_gil_quickly() -> None:
    """Let the database writer thread get the GIL back within 0.5 ms instead of 5.

    Why: the group-commit writer (storage/db.py) gives the GIL up around every SQLite call and
    then waits for the event loop, busy with the next requests, to hand it back. At Python's
    5 ms the writer spent most of a batch waiting, so the server idled at well under one core
    while webhooks queued; at 0.5 ms the ingest benchmark (bench/ingest.py) stores about 1.6×
    as many messages per second. Much lower costs more in switching than it saves."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)


# Young objects allocated before a collection runs (Python's default: 700).
GC_YOUNG_THRESHOLD = 10_000


def _collect_garbage_less_often() -> None:
    """Keep the cyclic garbage collector off the request path as far as is safe.

    Why: the long-lived objects a server builds at start-up (modules, the app, its routes,
    SQLAlchemy's mappers and compiled statements) were traversed again by every full
    collection, and with Python's default thresholds one came every ~50,000 allocations: in the
    ingest benchmark, 12 µs of every webhook's ~200 µs of database work was spent collecting.
    ``gc.freeze`` moves what exists now to a generation that is never scanned (it is not
    garbage: it lives as long as the process), and a higher young-generation threshold makes
    collections rarer. Cycles made while serving are still collected."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from crocevia.app import build_app
    from crocevia.logging_setup import configure
    from crocevia.settings import Settings

    settings = Settings(**{k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None})
    if args.migrate:
        cmd_migrate(args)
    configure(settings.log_level, settings.log_json)
    app = build_app(settings)
    if args.emulator:
        from crocevia.channels.emulator.app import build_emulator_app
        from crocevia.demo import wire_emulator

        emulator_app = build_emulator_app()
        app.mount("/emulator", emulator_app)
        wire_emulator(app.state.runtime, emulator_app.state.emulator)
    print(f"Crocevia serving at http://{settings.host}:{settings.port}  (API docs: /api/v1/docs)", flush=True)
    _share_the_gil_quickly()
    _collect_garbage_less_often()
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", proxy_headers=True)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from crocevia.jobs.dispatcher import Dispatcher, release_leases
    from crocevia.jobs.tasks import TaskRunner
    from crocevia.jobs.webhook_sender import WebhookSender
    from crocevia.logging_setup import configure
    from crocevia.runtime import Runtime
    from crocevia.settings import Settings

    settings = Settings()
    configure(settings.log_level, settings.log_json)
    rt = Runtime.from_settings(settings)
    if rt.db.is_sqlite and not args.force:
        print("note: on SQLite the web process already runs the dispatcher; a separate worker is for PostgreSQL "
              "(use --force to run one anyway)", file=sys.stderr)
    dispatcher = Dispatcher(rt, threads=args.threads)
    sender = WebhookSender(rt)
    tasks = TaskRunner(rt)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    dispatcher.start()
    sender.start()
    tasks.start()
    print(f"worker {dispatcher.worker_id} running ({args.threads or settings.worker_threads} send threads)",
          flush=True)
    stop.wait()
    dispatcher.stop()
    sender.stop()
    tasks.stop()
    release_leases(rt, dispatcher.worker_id)
    rt.close()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from crocevia.demo import seed_demo
    from crocevia.runtime import Runtime
    from crocevia.settings import Settings

    settings = Settings()
    rt = Runtime.from_settings(settings)
    info = seed_demo(rt, emulator_url=args.emulator_url or f"{settings.public_url.rstrip('/')}/emulator")
    print(info.describe())
    rt.close()
    return 0


def cmd_createuser(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from crocevia.domain.enums import Role
    from crocevia.runtime import Runtime
    from crocevia.services import accounts
    from crocevia.services.actor import Actor
    from crocevia.settings import Settings
    from crocevia.storage.tables import Workspace

    rt = Runtime.from_settings(Settings())
    password = args.password or os.environ.get("CROCEVIA_NEW_PASSWORD") or getpass.getpass("Password: ")
    with rt.db.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.slug == args.workspace))
    if ws is None:
        if not args.create_workspace:
            print(f"error: no workspace {args.workspace!r} (add --create-workspace to create it)", file=sys.stderr)
            return 2
        ws, user = accounts.create_workspace(rt, slug=args.workspace, name=args.workspace, owner_email=args.email,
                                             owner_password=password, owner_name=args.name or args.email)
        print(f"created workspace {ws.slug} with owner {user.email}")
        return 0
    user = accounts.create_user(rt, Actor.system(ws.id), email=args.email, name=args.name or args.email,
                                role=Role(args.role), password=password)
    print(f"created {user.role} {user.email} in workspace {ws.slug}")
    return 0


def cmd_emulator(args: argparse.Namespace) -> int:
    import uvicorn

    from crocevia.channels.emulator.app import build_emulator_app

    print(f"provider emulator at http://{args.host}:{args.port}", flush=True)
    uvicorn.run(build_emulator_app(), host=args.host, port=args.port, log_level="warning")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crocevia",
        description="Crocevia: a self-hosted business messaging hub. Settings come from CROCEVIA_* environment "
                    "variables (e.g. CROCEVIA_DATABASE_URL, CROCEVIA_REDIS_URL, CROCEVIA_SECRET_KEY).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("serve", help="run the web app, API and (on SQLite) the outbound dispatcher")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1, or CROCEVIA_HOST)")
    p.add_argument("--port", type=int, help="port to listen on (default 8000, or CROCEVIA_PORT)")
    p.add_argument("--migrate", action="store_true", help="apply database migrations first")
    p.add_argument("--emulator", action="store_true", help="also serve the provider emulator at /emulator (demo)")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("worker", help="run an outbound dispatcher process (scale-out on PostgreSQL)")
    p.add_argument("--threads", type=int, default=None, help="concurrent sends in this process")
    p.add_argument("--force", action="store_true", help="run even on SQLite")
    p.set_defaults(handler=cmd_worker)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("demo", help="create (or refresh) the demo workspace and print its login")
    p.add_argument("--emulator-url", help="where the provider emulator runs (default <public url>/emulator)")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("createuser", help="add a user to a workspace (or create the workspace)")
    p.add_argument("email")
    p.add_argument("--workspace", default="demo", help="workspace slug (default: demo)")
    p.add_argument("--role", default="agent", choices=["owner", "admin", "agent", "viewer"])
    p.add_argument("--name", default=None)
    p.add_argument("--password", default=None, help="(default: CROCEVIA_NEW_PASSWORD or a prompt)")
    p.add_argument("--create-workspace", action="store_true")
    p.set_defaults(handler=cmd_createuser)

    p = sub.add_parser("emulator", help="run the local provider emulator on its own")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8025)
    p.set_defaults(handler=cmd_emulator)

    try:
        from crocevia.dlp.cli import register as register_dlp
    except ImportError:
        pass
    else:
        register_dlp(sub)
    from crocevia.advisor.cli import register as register_advisor

    register_advisor(sub)
    from crocevia.campaign_cli import register as register_campaign

    register_campaign(sub)
    from crocevia.automation.try_chat import register as register_bot

    register_bot(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return handler(args)
    except CroceviaError as exc:
        where = f" ({exc.field})" if exc.field else ""
        print(f"error{where}: {exc.detail}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"error: setting {'.'.join(map(str, first['loc']))}: {first['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the CLI never shows a traceback; the log has it
        logging.getLogger(__name__).debug("command failed", exc_info=True)
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
