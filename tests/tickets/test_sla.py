"""SLA in business time, on a fake clock: no sleeping, the runtime's clock is moved by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from tests.conftest import Workspace

from crocevia.clock import FakeClock
from crocevia.errors import ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import sla, tickets
from crocevia.services.accounts import create_team
from crocevia.services.sla_calendar import BusinessCalendar
from crocevia.storage.tables import Ticket

ROME = ZoneInfo("Europe/Rome")
WEEKDAYS_9_18 = {str(d): ["09:00", "18:00"] for d in range(1, 6)}
# Friday 2026-11-20 17:55 in Rome; the Monday after is 2026-11-23.
FRIDAY_1755 = datetime(2026, 11, 20, 17, 55, tzinfo=ROME)
MONDAY_0955 = datetime(2026, 11, 23, 9, 55, tzinfo=ROME)


def rome(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ROME).astimezone(UTC)


@pytest.fixture
def clock(rt: Runtime) -> FakeClock:
    fake = FakeClock(FRIDAY_1755.astimezone(UTC))
    rt.clock = fake
    return fake


def high_priority_policy(rt: Runtime, ws: Workspace, **extra: object) -> None:
    sla.create_policy(rt, ws.owner, {"name": "Alta priorità", "priority": "high", "first_response_minutes": 60,
                                     "resolution_minutes": 8 * 60, "warn_minutes": 15, "timezone": "Europe/Rome",
                                     "business_hours": WEEKDAYS_9_18, **extra})


def breaches(rt: Runtime, ws: Workspace, ticket_id: int) -> list[str]:
    """The ticket's recorded breaches, as an agent reads them in its history (Rome time)."""
    return [f"{e.data['target']}@{e.created_at.astimezone(ROME):%a %H:%M}"
            for e in tickets.history(rt, ws.owner, ticket_id, kind="sla_breach")]


def test_friday_1755_high_priority_breaches_first_response_on_monday_0955_not_before(
        rt: Runtime, ws: Workspace, clock: FakeClock) -> None:
    high_priority_policy(rt, ws)
    t = tickets.create_ticket(rt, ws.owner, {"subject": "La stampante non stampa", "priority": "high"})
    assert t.first_response_due_at == MONDAY_0955.astimezone(UTC)

    clock.set(rome(21, 12))  # Saturday: closed
    assert sla.check_due(rt) == []
    clock.set(rome(23, 9, 40))
    assert sla.check_due(rt) == [(t.number, "first_response.warning")]
    clock.set(rome(23, 9, 54))
    assert sla.check_due(rt) == []
    assert breaches(rt, ws, t.id) == []

    clock.set(rome(23, 9, 55))
    assert sla.check_due(rt) == [(t.number, "first_response.breached")]
    assert breaches(rt, ws, t.id) == ["first_response@Mon 09:55"]
    assert sla.check_due(rt) == []  # recorded once
    listed, _ = tickets.list_tickets(rt, ws.owner, tickets.TicketFilter(sla="breached"))
    assert [x.number for x in listed] == [t.number]


def test_the_breach_goes_out_as_an_event_and_escalates_to_the_policy_team(
        rt: Runtime, ws: Workspace, clock: FakeClock) -> None:
    team = create_team(rt, ws.owner, name="Secondo livello", member_ids=[])
    high_priority_policy(rt, ws, escalate_team_id=team.id)
    seen: list[str] = []
    rt.bus.add_listener(lambda e: seen.append(e.type))
    t = tickets.create_ticket(rt, ws.owner, {"subject": "Server giù", "priority": "high"})
    clock.set(rome(23, 9, 55))
    sla.check_due(rt)
    assert tickets.get_ticket(rt, ws.owner, t.id).team_id == team.id
    assert "ticket.sla_breached" in seen


def test_a_first_response_in_time_means_no_breach(rt: Runtime, ws: Workspace, clock: FakeClock) -> None:
    high_priority_policy(rt, ws)
    t = tickets.create_ticket(rt, ws.owner, {"subject": "Fattura sbagliata", "priority": "high"})
    with rt.db.transaction() as s:  # as if an agent answered Monday 09:10
        row = s.get(Ticket, t.id)
        assert row is not None
        row.first_responded_at = rome(23, 9, 10)
    clock.set(rome(23, 10, 55))
    assert sla.check_due(rt) == []
    assert breaches(rt, ws, t.id) == []


def test_pending_pauses_the_clock_and_resuming_moves_the_due_moment(rt: Runtime, ws: Workspace,
                                                                   clock: FakeClock) -> None:
    high_priority_policy(rt, ws)
    clock.set(rome(23, 9))  # Monday 09:00
    t = tickets.create_ticket(rt, ws.owner, {"subject": "Ordine mancante", "priority": "high"})
    assert t.first_response_due_at == rome(23, 10)
    clock.set(rome(23, 9, 30))
    tickets.set_status(rt, ws.owner, t.id, "pending")
    clock.set(rome(23, 11))  # past the old due moment
    assert sla.check_due(rt) == []  # paused: nothing is due
    t, _ = tickets.set_status(rt, ws.owner, t.id, "open")  # 90 business minutes waited
    assert t.first_response_due_at == rome(23, 11, 30)
    clock.set(rome(23, 11, 30))
    assert [what for _, what in sla.check_due(rt)] == ["first_response.breached"]


def test_holidays_and_time_zones_count() -> None:
    cal = BusinessCalendar.parse("Europe/Rome", WEEKDAYS_9_18, ["2026-12-07", "2026-12-08"])
    # Friday 4 Dec 17:30 + 1 h: 30 min on Friday; Mon 7 and Tue 8 are holidays → Wednesday 09:30.
    due = cal.add(datetime(2026, 12, 4, 17, 30, tzinfo=ROME), 3600)
    assert due.astimezone(ROME) == datetime(2026, 12, 9, 9, 30, tzinfo=ROME)
    ny = BusinessCalendar.parse("America/New_York", WEEKDAYS_9_18, [])
    # 15:00 UTC on a Monday is 10:00 in New York: one business hour later is 11:00 there.
    start = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert ny.add(start, 3600) == datetime(2026, 11, 23, 16, 0, tzinfo=UTC)
    assert ny.between(start, datetime(2026, 11, 24, 15, 0, tzinfo=UTC)) == 9 * 3600


def test_a_bad_calendar_is_refused_naming_the_field(rt: Runtime, ws: Workspace) -> None:
    for fields, field in (({"timezone": "Mars/Olympus"}, "timezone"),
                          ({"business_hours": {"1": ["18:00", "09:00"]}}, "business_hours.1[0]"),
                          ({"business_hours": {"8": ["09:00", "18:00"]}}, "business_hours.8"),
                          ({"holidays": ["Natale"]}, "holidays[0]"),
                          ({"priority": "altissima"}, "priority")):
        with pytest.raises(ValidationFailed) as err:
            sla.create_policy(rt, ws.owner, {"name": "x", **fields})
        assert err.value.field == field
