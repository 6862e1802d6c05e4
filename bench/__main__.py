"""`python -m bench`: every benchmark in turn, as plain-text tables.

    python -m bench [--duration 20] [--rounds 4] [--warmup 1.5] [--connections 32] [--no-postgres]
                    [--only ingest|dlp]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench import ingest

DLP_BENCH = Path(__file__).resolve().parent / "dlp_bench.py"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description="Crocevia benchmarks")
    p.add_argument("--duration", type=float, default=20.0,
                   help="measured seconds per ingest target, split over the rounds (default 20)")
    p.add_argument("--rounds", type=int, default=4, help="interleaved rounds over the ingest targets (default 4)")
    p.add_argument("--warmup", type=float, default=1.5, help="unmeasured seconds before each round (default 1.5)")
    p.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections (default 32)")
    p.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL ingest run")
    p.add_argument("--only", choices=["ingest", "dlp"], help="run one benchmark")
    args = p.parse_args(argv)

    failed = False
    if args.only in (None, "ingest"):
        opts = ingest.Options(duration=args.duration, rounds=max(1, args.rounds), warmup=args.warmup,
                              connections=args.connections, postgres=not args.no_postgres)
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
