"""The ``crocevia dlp scan`` contract, through a real process and through register()."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crocevia.dlp.cli import register

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-m", "crocevia.dlp.cli", "scan", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
    )


def test_jsonl_one_output_line_per_input_line_in_order() -> None:
    lines: list[dict[str, Any]] = [
        {"text": "carta 4111 1111 1111 1111"},
        {"text": "niente di sensibile", "id": 7},
        {"text": "è così: mail mario@example.it, pwd: Casa2024!"},
    ]
    result = run_cli("--jsonl", stdin="".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 3
    assert out[0] == {
        "spans": [{"start": 6, "end": 25, "label": "CREDIT_CARD", "score": 0.99, "detector": "payment_card"}]
    }
    assert out[1] == {"spans": []}
    text = lines[2]["text"]
    assert [(s["label"], text[s["start"] : s["end"]]) for s in out[2]["spans"]] == [
        ("EMAIL", "mario@example.it"),
        ("PASSWORD", "Casa2024!"),
    ]
    for span in out[2]["spans"]:
        assert list(span) == ["start", "end", "label", "score", "detector"]
        assert isinstance(span["score"], float)


def test_jsonl_from_file(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "IBAN IT60 X054 2811 1010 0000 0123 456"}\n', encoding="utf-8")
    result = run_cli("--jsonl", "--file", str(path))
    assert result.returncode == 0
    assert json.loads(result.stdout)["spans"][0]["label"] == "IBAN"


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ('{"text": "ok"}\nnot json\n', "line 2: not valid JSON"),
        ('{"text": "ok"}\n{"body": "x"}\n', 'line 2: no "text" field'),
        ('{"text": 12}\n', 'line 1: "text" must be a string'),
        ('["text"]\n', "line 1: expected a JSON object"),
        ('{"text": "ok"}\n\n{"text": "ok"}\n', "line 2: empty line"),
    ],
)
def test_bad_jsonl_line_is_a_clear_error(stdin: str, message: str) -> None:
    result = run_cli("--jsonl", stdin=stdin)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""  # nothing half-written


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    result = run_cli("--file", str(tmp_path / "missing.txt"))
    assert result.returncode != 0
    assert "cannot read" in result.stderr and "missing.txt" in result.stderr
    assert "Traceback" not in result.stderr


def test_plain_mode_prints_masked_excerpts_never_the_value() -> None:
    text = "Ciao, la carta è 4242 4242 4242 4242\nla password è Xyz!23\n"
    result = run_cli(stdin=text)
    assert result.returncode == 0
    assert "CREDIT_CARD" in result.stdout and "PASSWORD" in result.stdout
    assert "•••• •••• •••• 4242" in result.stdout
    assert "[PASSWORD]" in result.stdout
    assert "4242 4242 4242 4242" not in result.stdout
    assert "Xyz!23" not in result.stdout
    assert "line 2" in result.stdout


def test_plain_mode_without_findings() -> None:
    result = run_cli(stdin="ci vediamo domani alle 10\n")
    assert result.returncode == 0
    assert result.stdout.strip() == "no findings"


def test_custom_detectors_option(tmp_path: Path) -> None:
    spec = tmp_path / "custom.json"
    spec.write_text(json.dumps([{"name": "ticket", "label": "TICKET", "pattern": r"\bTCK-\d{4}\b"}]))
    result = run_cli("--jsonl", "--custom", str(spec), stdin='{"text": "apri TCK-1234"}\n')
    assert result.returncode == 0
    assert json.loads(result.stdout)["spans"][0]["label"] == "TICKET"
    broken = tmp_path / "broken.json"
    broken.write_text('[{"name": "x"}]')
    result = run_cli("--custom", str(broken), stdin="x")
    assert result.returncode != 0 and "'label' is required" in result.stderr


def test_register_wires_dlp_scan_into_a_parent_parser(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    parser = argparse.ArgumentParser(prog="crocevia")
    register(parser.add_subparsers(dest="command"))
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "mail a@example.com"}\n')
    args = parser.parse_args(["dlp", "scan", "--jsonl", "--file", str(path)])
    assert args.handler(args) == 0
    assert json.loads(capsys.readouterr().out)["spans"][0]["label"] == "EMAIL"

    path.write_text("oops\n")
    assert args.handler(args) == 2
    assert "line 1" in capsys.readouterr().err
