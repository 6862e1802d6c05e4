"""`python -m bench`: every benchmark in turn, as plain-text tables.

    python -m bench [--duration 20] [--rounds 4] [--warmup 1.5] [--connections 32] [--no-postgres]
                    [--only ingest|dlp|dashboards|bot|campaigns|inbox] [--dash-messages 300000]
                    [--dash-sqlite-messages 300000]
                    [--campaign-contacts 20000] [--campaign-baseline 2000] [--rate-seconds 10]
                    [--inbox-rate 200] [--inbox-duration 20] [--inbox-browser]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench import bot_steps, campaign_rate, campaigns, dashboards, inbox_latency, ingest

DLP_BENCH = Path(__file__).resolve().parent / "dlp_bench.py"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description="Crocevia benchmarks")
    p.add_argument("--duration", type=float, default=20.0,
                   help="measured seconds per ingest target, split over the rounds (default 20)")
    p.add_argument("--rounds", type=int, default=4, help="interleaved rounds over the ingest targets (default 4)")
    p.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds before each round (default 1.5)")
    p.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    p.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL ingest run")
    p.add_argument("--no-dlp-off", action="store_true",
                   help="skip the SQLite hub with data-leak protection off (which measures what DLP adds)")
    p.add_argument("--only", choices=["ingest", "dlp", "dashboards", "bot", "campaigns", "inbox"],
                   help="run one benchmark")
    p.add_argument("--dash-messages", type=int, default=300_000,
                   help="messages in the dashboards benchmark's history (the bar is at 10000000; default 300000)")
    p.add_argument("--dash-sqlite-messages", type=int, default=300_000,
                   help="messages in the dashboards benchmark on SQLite (0 skips it; default 300000)")
    p.add_argument("--bot-customers", type=int, default=200, help="customers in the bot flow-step benchmark")
    p.add_argument("--campaign-contacts", type=int, default=20_000,
                   help="contacts in the campaign fan-out benchmark (the bar is at 1000000; default 20000)")
    p.add_argument("--rate-seconds", type=float, default=10.0,
                   help="seconds of campaign dispatch per channel in the rate benchmark (default 10)")
    p.add_argument("--campaign-baseline", type=int, default=2_000,
                   help="contacts for the old per-message fan-out it is compared with (default 2000)")
    p.add_argument("--inbox-rate", type=float, default=200.0, help="webhooks per second in the inbox latency run")
    p.add_argument("--inbox-duration", type=float, default=20.0, help="measured seconds of the inbox latency run")
    p.add_argument("--inbox-browser", action="store_true",
                   help="also time the message showing in a headless Chromium inbox page")
    args = p.parse_args(argv)

    failed = False
    if args.only in (None, "ingest"):
        opts = ingest.Options(duration=args.duration, rounds=max(1, args.rounds), warmup=args.warmup,
                              connections=args.connections, postgres=not args.no_postgres,
                              dlp_off=not args.no_dlp_off)
        ok, text = ingest.main(opts)
        print(text, flush=True)
        failed |= not ok
    if args.only in (None, "dlp"):
        print("\n== DLP benchmark (bench/dlp_bench.py)", flush=True)
        if DLP_BENCH.exists():
            # Its own process: it has its own dependencies and its own command line.
            failed |= subprocess.run([sys.executable, str(DLP_BENCH)], check=False).returncode != 0
        else:
            print("-- SKIPPED: bench/dlp_bench.py is not there")
    if args.only in (None, "dashboards") and not args.no_postgres:
        print("\n== Dashboards on PostgreSQL, before/after daily rollups (bench/dashboards.py)", flush=True)
        failed |= dashboards.main(["--messages", str(args.dash_messages)]) != 0
    if args.only in (None, "dashboards") and args.dash_sqlite_messages:
        print("\n== Dashboards on SQLite, before/after daily rollups (bench/dashboards.py)", flush=True)
        failed |= dashboards.main(["--engine", "sqlite", "--messages", str(args.dash_sqlite_messages)]) != 0
    if args.only in (None, "bot"):
        ok, text = bot_steps.run(args.bot_customers)
        print("\n" + text, flush=True)
        failed |= not ok
    if args.only in (None, "campaigns"):
        ok, text = campaigns.run(args.campaign_contacts, args.campaign_baseline, not args.no_postgres)
        print("\n" + text, flush=True)
        failed |= not ok
        ok, text = campaign_rate.run(args.rate_seconds)
        print("\n" + text, flush=True)
        failed |= not ok
    if args.only in (None, "inbox"):
        ok, text = inbox_latency.run(inbox_latency.Options(
            rate=args.inbox_rate, duration=args.inbox_duration, browser=args.inbox_browser,
            postgres=not args.no_postgres))
        print("\n" + text, flush=True)
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
