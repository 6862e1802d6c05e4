"""Demo content for the agent inbox: canned responses (typed with "/" in the composer) and a team."""

from __future__ import annotations

from crocevia.runtime import Runtime
from crocevia.services import accounts, canned
from crocevia.services.actor import Actor

CANNED = (
    ("orari", "Ciao {{contact.first_name}}! Siamo aperti dalle 12 alle 15 e dalle 19 alle 23, chiusi il lunedì."),
    ("ordine", "Il tuo ordine è in preparazione, {{contact.first_name}}: ti scriviamo appena parte. "
               "{{agent.first_name}}"),
    ("grazie", "Grazie a te, {{contact.first_name}}! A presto alla Trattoria Crocevia."),
)


def seed_inbox(rt: Runtime, actor: Actor, agent_id: int) -> None:
    for shortcut, text in CANNED:
        canned.create_canned(rt, actor, shortcut=shortcut, text=text)
    accounts.create_team(rt, actor, name="Sala", member_ids=[agent_id])
