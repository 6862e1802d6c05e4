"""``crocevia dlp scan``: scan text or JSON lines for sensitive data.

Plain mode scans the whole input as one text and prints each finding with a
masked excerpt (the clear value is never printed). ``--jsonl`` reads one JSON
object per line with a ``text`` field and writes one line per input line::

    {"spans": [{"start": 0, "end": 19, "label": "CREDIT_CARD", "score": 0.9, "detector": "payment_card"}]}

Exit codes: 0 success (with or without findings), 2 bad input or options.
Standalone: ``python -m crocevia.dlp.cli scan [--file PATH] [--jsonl]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from crocevia.dlp.custom import CustomDetectorError
from crocevia.dlp.findings import Finding
from crocevia.dlp.masking import mask_with_spans
from crocevia.dlp.scanner import DEFAULT_MIN_SCORE, Scanner, build_scanner, default_scanner, scan_texts

__all__ = ["main", "register", "scan_texts"]

EXIT_OK = 0
EXIT_BAD_INPUT = 2
_EXCERPT_RADIUS = 24


class InputError(Exception):
    """Bad input: the message is shown to the user as is."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dlp scan`` to the main ``crocevia`` command line."""
    dlp = subparsers.add_parser(
        "dlp", help="data-leak protection tools", description="Data-leak protection tools."
    )
    commands = dlp.add_subparsers(dest="dlp_command", metavar="COMMAND", required=True)
    _add_scan_parser(commands)


def _add_scan_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    scan = commands.add_parser(
        "scan",
        help="find sensitive data in text",
        description="Find cards, IBANs, tax codes, credentials, health data... in text from stdin or a file.",
    )
    scan.add_argument("--file", "-f", type=Path, metavar="PATH", help="read this file instead of stdin")
    scan.add_argument(
        "--jsonl",
        action="store_true",
        help='input is JSON lines with a "text" field; output is one {"spans": [...]} line per input line',
    )
    scan.add_argument("--custom", type=Path, metavar="JSON", help="add the custom detectors declared in this file")
    scan.add_argument(
        "--min-score", type=float, default=DEFAULT_MIN_SCORE, metavar="S",
        help=f"drop findings scoring below S (default {DEFAULT_MIN_SCORE})",
    )
    scan.add_argument("--no-plugins", action="store_true", help="ignore detectors installed as plugins")
    scan.set_defaults(handler=run_scan)


def run_scan(args: argparse.Namespace) -> int:
    """Handler of ``dlp scan``: returns the process exit code."""
    try:
        scanner = _scanner_for(args)
        raw = _read_input(args.file)
        if args.jsonl:
            texts = _parse_jsonl(raw)
            _write_jsonl(scanner, texts, sys.stdout)
        else:
            _write_plain(raw, scanner.scan(raw), sys.stdout)
    except (InputError, CustomDetectorError) as exc:
        print(f"crocevia dlp scan: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, like other Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def _scanner_for(args: argparse.Namespace) -> Scanner:
    if not 0.0 <= args.min_score <= 1.0:
        raise InputError("--min-score must be between 0 and 1")
    if args.custom is None and not args.no_plugins and args.min_score == DEFAULT_MIN_SCORE:
        return default_scanner()
    return build_scanner(args.custom, plugins=not args.no_plugins, min_score=args.min_score)


def _read_input(path: Path | None) -> str:
    if path is None:
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        source = "standard input"
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
        source = str(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{source}: line {line}: not valid UTF-8") from exc


def _parse_jsonl(raw: str) -> list[str]:
    """The ``text`` of every line, or an InputError naming the first bad line.

    Lines are split on "\\n" only: JSON strings may legally hold U+2028 and
    other characters that ``str.splitlines`` would break on.
    """
    lines = raw.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line
    texts: list[str] = []
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            raise InputError(f"line {number}: empty line, expected a JSON object with a \"text\" field")
        try:
            record: Any = json.loads(line)
        except ValueError as exc:
            raise InputError(f"line {number}: not valid JSON ({exc})") from exc
        if not isinstance(record, dict):
            raise InputError(f"line {number}: expected a JSON object with a \"text\" field")
        if "text" not in record:
            raise InputError(f"line {number}: no \"text\" field")
        if not isinstance(record["text"], str):
            raise InputError(f"line {number}: \"text\" must be a string")
        texts.append(record["text"])
    return texts


def _write_jsonl(scanner: Scanner, texts: list[str], out: TextIO) -> None:
    for text in texts:
        spans = [finding.to_dict() for finding in scanner.scan(text)]
        out.write(json.dumps({"spans": spans}) + "\n")
    out.flush()


def _write_plain(text: str, findings: list[Finding], out: TextIO) -> None:
    if not findings:
        out.write("no findings\n")
        return
    masked, spans = mask_with_spans(text, findings)
    out.write(f"{len(findings)} finding{'s' if len(findings) != 1 else ''}\n")
    for finding, m_start, m_end in spans:
        line = text.count("\n", 0, finding.start) + 1
        excerpt = masked[max(0, m_start - _EXCERPT_RADIUS) : m_end + _EXCERPT_RADIUS]
        excerpt = " ".join(excerpt.split())
        prefix = "…" if m_start > _EXCERPT_RADIUS else ""
        suffix = "…" if m_end + _EXCERPT_RADIUS < len(masked) else ""
        span = f"{finding.start}-{finding.end}"
        out.write(
            f"{finding.label:<15} {span:<11} line {line:<4} "
            f"score {finding.score:.2f}  {finding.detector:<22} {prefix}{excerpt}{suffix}\n"
        )
    out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crocevia.dlp.cli", description="Crocevia data-leak protection."
    )
    commands = parser.add_subparsers(dest="dlp_command", metavar="COMMAND", required=True)
    _add_scan_parser(commands)
    args = parser.parse_args(argv)
    handler = args.handler
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
