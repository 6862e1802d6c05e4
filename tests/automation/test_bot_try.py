"""`crocevia bot try`: a flow (a file, a built-in one, or one stored for a workspace) answered in the terminal by
the real engine, and broken flows refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from crocevia.automation.samples import RESTAURANT_FLOW
from crocevia.runtime import Runtime
from crocevia.services import bookings, flows
from crocevia.storage.tables import Booking, Message
from tests.conftest import Workspace


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


STORED_FLOW = """\
name: sala
triggers: {default: true}
start: day
steps:
  - {id: day, type: ask, slot: day, kind: date, prompt: "Quando?", next: pick}
  - {id: pick, type: availability, resource: Sala, date_slot: day, slot: time, prompt: "Orari:", next: book}
  - {id: book, type: book, resource: Sala, time_slot: time, confirm: "Fatto: {when}."}
"""


def test_a_flow_stored_for_a_workspace_is_tried_with_its_resources_and_the_real_database_untouched(
        rt: Runtime, ws: Workspace, tmp_path: Path) -> None:
    flow = flows.save_flow(rt, ws.owner, source=STORED_FLOW.replace("Fatto", "Prenotato"))
    flows.save_flow(rt, ws.owner, source=STORED_FLOW, flow_id=flow.id)  # version 2 is the one tried
    lunch = {day: ["12:00-14:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    bookings.create_resource(rt, ws.owner, name="Sala", capacity=3, slot_minutes=60, hours=lunch, closed_dates=[],
                             timezone="Europe/Rome")
    slug = ws.owner_email.split("@")[1].removesuffix(".test")
    env = {**os.environ, "CROCEVIA_DATABASE_URL": rt.settings.effective_database_url,
           "CROCEVIA_DATA_DIR": str(tmp_path)}

    done = subprocess.run([sys.executable, "-m", "crocevia.cli", "bot", "try", "sala", "--workspace", slug],
                          input="ciao\ndomani\n1\n", capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "you: ciao\nbot: Quando?\n" in done.stdout
    # The workspace's own opening hours (lunch), not the built-in 19:00–21:00.
    assert "you: domani\nbot: Orari:\n     1. 12:00\n     2. 13:00\n" in done.stdout
    assert "you: 1\nbot: Fatto: " in done.stdout and " 12:00." in done.stdout
    with rt.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Booking)) == 0
        assert s.scalar(select(func.count()).select_from(Message)) == 0

    by_id = subprocess.run([sys.executable, "-m", "crocevia.cli", "bot", "try", str(flow.id), "--workspace", slug],
                           input="", capture_output=True, text=True, timeout=120, env=env)
    assert by_id.returncode == 0 and "talking to flow 'sala'" in by_id.stdout
    missing = subprocess.run([sys.executable, "-m", "crocevia.cli", "bot", "try", "nessuno", "--workspace", slug],
                             input="", capture_output=True, text=True, timeout=120, env=env)
    assert missing.returncode == 2
    assert f"workspace '{slug}' has no flow 'nessuno' (its flows: sala)" in missing.stderr
