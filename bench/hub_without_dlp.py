"""``crocevia serve`` with data-leak protection switched off, for the ingest benchmark only.

    python -m bench.hub_without_dlp serve --port 8123

The hub has no setting that turns protection off, on purpose: masking before storage is a
guarantee. To measure what scanning costs on ingest, this runs the very same server with the
scanner replaced by one that has no detectors (finds nothing), so the difference between this
target and ``hub sqlite`` in the same run is the cost of data-leak protection.
"""

from __future__ import annotations

import sys
from pathlib import Path

from crocevia import cli
from crocevia.dlp.scanner import Scanner
from crocevia.services import protection

_EMPTY = Scanner()


def _no_scanner(custom: Path | None = None) -> Scanner:
    return _EMPTY


if __name__ == "__main__":
    protection.scanner = _no_scanner  # read by protection.protect at each call
    sys.exit(cli.main(sys.argv[1:]))
