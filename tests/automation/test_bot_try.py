"""`crocevia bot try`: a flow answered in the terminal by the real engine, and broken flows refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crocevia.automation.samples import RESTAURANT_FLOW


def _crocevia(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "crocevia.cli", *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


def test_booking_a_table_in_the_terminal_prints_the_conversation_with_numbered_buttons() -> None:
    done = _crocevia("bot", "try", "ristorante", stdin="ciao\n1\ndomani\n2\n1\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "you: ciao\nbot: Ciao! Sono il bot del Ristorante Crocevia. Cosa desideri?\n" \
           "     1. Prenota un tavolo\n     2. Ordina\n     3. Operatore\n" in out
    assert "you: 1\nbot: Per quando? (es. domani, sabato, 24/12)\n" in out
    assert "you: domani\nbot: Per quante persone?\n" in out
    assert "you: 2\nbot: Ecco gli orari liberi, scegline uno:\n     1. 19:00\n     2. 20:00\n" in out
    assert "you: 1\nbot: Prenotato! Tavolo per 2 il " in out and " 19:00. Per annullare scrivi ANNULLA." in out
    assert "[file: booking-1.ics]" in out


def test_asking_for_a_person_ends_the_session_and_english_is_answered_in_english(tmp_path: Path) -> None:
    flow = tmp_path / "saluto.yaml"
    flow.write_text("name: saluto\ntriggers: {default: true}\nstart: hi\nsteps:\n"
                    "  - {id: hi, type: send, text: {it: Ciao!, en: Hello!}, next: bye}\n"
                    "  - {id: bye, type: end, text: {it: A presto, en: See you}}\n")
    done = _crocevia("bot", "try", str(flow), stdin="hello there\nagent\nstill there?\n")
    assert done.returncode == 0, done.stderr
    assert "you: hello there\nbot: Hello!\nbot: See you\n" in done.stdout
    assert "you: agent\nbot: I'm passing you to a colleague" in done.stdout
    assert "(handed over to a person: the bot stays silent now)" in done.stdout
    assert "still there?" not in done.stdout


def test_a_missing_or_broken_flow_is_refused_naming_the_field_and_line(tmp_path: Path) -> None:
    missing = _crocevia("bot", "try", "nessuno")
    assert missing.returncode == 2
    assert "no flow file or built-in flow named 'nessuno'" in missing.stderr
    assert "Traceback" not in missing.stderr

    broken = tmp_path / "rotto.yaml"
    text = RESTAURANT_FLOW.replace("next: people", "next: persone")
    broken.write_text(text)
    line = text.splitlines().index("    next: persone") + 1
    done = _crocevia("bot", "try", str(broken))
    assert done.returncode == 2
    assert f"{broken}: steps.1.next: next names no step: 'persone' (line {line})" in done.stderr
    assert done.stdout == ""
