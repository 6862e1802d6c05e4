"""`crocevia campaign`: list campaigns, start one and follow its progress with a bar in the terminal."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any, TextIO

BAR_WIDTH = 30
FINAL = ("done", "paused", "cancelled")


def register(sub: Any) -> None:
    p = sub.add_parser("campaign", help="list, send and follow promotion campaigns")
    csub = p.add_subparsers(dest="campaign_command", metavar="ACTION", required=True)
    lp = csub.add_parser("list", help="the workspace's campaigns with their progress")
    lp.add_argument("--workspace", default="demo", help="workspace slug (default: demo)")
    lp.set_defaults(handler=cmd_list)
    sp = csub.add_parser("send", help="start a campaign (now, or at its scheduled time)")
    sp.add_argument("campaign_id", type=int)
    sp.add_argument("--workspace", default="demo", help="workspace slug (default: demo)")
    sp.add_argument("--follow", action="store_true", help="show a progress bar until the fan-out ends")
    sp.add_argument("--here", action="store_true",
                    help="run the fan-out in this process (otherwise a running serve/worker's task runner does)")
    sp.set_defaults(handler=cmd_send)


def progress_line(p: dict[str, Any]) -> str:
    r = p["recipients"]
    filled = int(BAR_WIDTH * p["percent"] / 100)
    return (f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {p['percent']:5.1f}%  sent {r['sent']}  "
            f"skipped {r['skipped']}  pending {r['pending']}  of {r['total']}  ({p['status']})")


def _open(slug: str) -> tuple[Any, Any]:
    from sqlalchemy import select

    from crocevia.errors import NotFound
    from crocevia.runtime import Runtime
    from crocevia.services.actor import Actor
    from crocevia.settings import Settings
    from crocevia.storage.tables import Workspace

    rt = Runtime.from_settings(Settings())
    with rt.db.read() as s:
        ws = s.scalar(select(Workspace).where(Workspace.slug == slug))
    if ws is None:
        rt.close()
        raise NotFound(f"no workspace {slug!r}", field="workspace")
    return rt, Actor.system(ws.id)


def cmd_list(args: argparse.Namespace) -> int:
    from crocevia.services import campaigns

    rt, actor = _open(args.workspace)
    try:
        for c in campaigns.list_campaigns(rt, actor):
            print(f"{c.id:>5}  {c.name[:30]:<30}  {progress_line(campaigns.progress(rt, actor, c.id))}")
    finally:
        rt.close()
    return 0


def cmd_send(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from crocevia.services import campaigns

    out = out or sys.stdout
    rt, actor = _open(args.workspace)
    try:
        c = campaigns.get_campaign(rt, actor, args.campaign_id)
        if c.status == "draft":
            c = campaigns.start(rt, actor, c.id)
        print(f"campaign {c.id} {c.name!r}: {c.status}", file=out)
        worker = None
        if args.here:
            worker = threading.Thread(target=campaigns.run, args=(rt, c.id), daemon=True)
            worker.start()
        if not args.follow:
            if worker:
                worker.join()
            return 0
        tty = out.isatty()
        last = ""
        while True:
            # Read before the progress, so the last line printed is taken after the fan-out ended.
            worker_ended = worker is not None and not worker.is_alive()
            p = campaigns.progress(rt, actor, c.id)
            line = progress_line(p)
            if line != last:
                # On a terminal the bar redraws in place; in a log each change is a line.
                print(("\r" + line) if tty else line, end="" if tty else "\n", file=out, flush=True)
                last = line
            # A fan-out run here has ended when its thread has (some recipients may wait for quiet hours).
            if p["status"] in FINAL or worker_ended:
                break
            time.sleep(0.5)
        if tty:
            print(file=out)
        if worker:
            worker.join()
        return 0
    finally:
        rt.close()
