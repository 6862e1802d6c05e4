"""The inbox search over message text goes through each engine's full-text index (FTS5 on SQLite, a
GIN index on PostgreSQL) and means the same on both: words that start words, case and accents aside."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, text, update
from tests.api.support import Api, create_channel, receive
from tests.conftest import api_token, new_workspace

from crocevia.runtime import Runtime
from crocevia.storage import fulltext
from crocevia.storage.tables import Message

CONVS = "/api/v1/conversations"


@pytest.fixture
def owner(rt: Runtime, http: TestClient) -> Api:
    return Api(http, api_token(rt, new_workspace(rt, slug=f"search-{uuid.uuid4().hex[:8]}").owner))


def found(api: Api, q: str) -> set[str]:
    """The names of the contacts whose conversations the inbox search lists."""
    return {c["contact"]["name"] for c in api.ok("GET", CONVS, params={"q": q, "limit": 200})["items"]}


def test_italian_words_are_found_whatever_their_case_and_accents(owner: Api) -> None:
    channel = create_channel(owner)
    for i, (body, name) in enumerate([
        ("La città è bellissima d'estate", "Anna"),
        ("Perché non rispondete? È urgente", "Bruno"),
        ("Vorrei prenotare un tavolo per l’anniversario", "Carla"),
        ("Un CAFFÈ ristretto e una brioche", "Dario"),
        ("Scrivetemi a mario.rossi@esempio.it, grazie", "Elena"),
        ("Pago 12,50 € con carta", "Fabio"),
    ]):
        receive(owner, channel, body, f"+39333100000{i}", name)

    for q in ("città", "Citta", "CITTÀ", "citt", "BELL"):
        assert found(owner, q) == {"Anna"}, q
    for q in ("perché", "perche", "PERCHE", "perchè", "È urgente"):
        assert found(owner, q) == {"Bruno"}, q
    assert found(owner, "caffe") == found(owner, "caffè") == found(owner, "Caffé") == {"Dario"}
    assert found(owner, "pren tav") == {"Carla"}  # every word, each a word's beginning
    assert found(owner, "anniversario") == {"Carla"}  # the apostrophe separates words
    assert found(owner, "estate") == {"Anna"}
    assert found(owner, "esempio") == {"Elena"}  # so do @ and dots
    assert found(owner, "rossi@esempio") == {"Elena"}
    assert found(owner, "50") == {"Fabio"}
    # Word beginnings, not any substring; all the words, in one message.
    assert found(owner, "ittà") == set()
    assert found(owner, "città tavolo") == set()
    assert found(owner, "tavolo ordine") == set()
    # Contacts still match by name, and punctuation alone finds nothing in messages.
    assert found(owner, "dario") == {"Dario"}
    assert found(owner, "?!") == set()


def test_the_index_follows_edited_and_deleted_messages_and_stays_in_the_workspace(
        rt: Runtime, owner: Api, http: TestClient) -> None:
    channel = create_channel(owner)
    conv = receive(owner, channel, "Il pacco è arrivato rotto", "+393331000100", "Gina")
    stranger = Api(http, api_token(rt, new_workspace(rt, slug=f"other-{uuid.uuid4().hex[:8]}").owner))
    receive(stranger, create_channel(stranger), "Anche il mio pacco è rotto", "+393331000101", "Ugo")
    assert found(owner, "pacco rotto") == {"Gina"}
    assert found(stranger, "pacco rotto") == {"Ugo"}

    with rt.db.transaction() as s:  # e.g. DLP masking or a channel's edit
        s.execute(update(Message).where(Message.conversation_id == conv["id"]).values(text="Il pacco è perfetto"))
    assert found(owner, "rotto") == set()
    assert found(owner, "perfetto") == {"Gina"}

    with rt.db.transaction() as s:
        s.execute(delete(Message).where(Message.conversation_id == conv["id"]))
    assert found(owner, "perfetto") == set()
    if rt.db.is_sqlite:  # the external-content index is consistent with its table
        with rt.db.transaction() as s:
            s.execute(text("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"))


def test_both_engines_fold_exactly_as_the_application_does(rt: Runtime, owner: Api) -> None:
    """Each accented letter the application folds, the database folds to the same letter: a word
    written with it is found by the word written with its base letter, and only by that."""
    ws = owner.ok("GET", "/api/v1/auth/me")["workspace_id"]
    conv = receive(owner, create_channel(owner), "avvio", "+393331000200", "Ivo")
    letters = [(a, b.lower()) for a, b in zip(fulltext.FOLD_FROM, fulltext.FOLD_TO, strict=True) if b != " "]
    assert len(letters) > 400
    with rt.db.transaction() as s:
        channel_id = s.scalar(select(Message.channel_id).where(Message.conversation_id == conv["id"]))
        for i, (letter, _) in enumerate(letters):
            s.add(Message(workspace_id=ws, channel_id=channel_id, conversation_id=conv["id"], direction="in",
                          author_type="contact", text=f"q{letter}z", provider_message_id=f"fold-{i}",
                          status="received"))
    dialect = rt.db.engine.dialect.name
    with rt.db.read() as s:
        for base in sorted({b for _, b in letters}):
            stmt = fulltext.matching_messages(dialect, ws, [f"q{base}z"]).with_only_columns(Message.text)
            got = {t for t in s.scalars(stmt) if t != f"q{base}z"}
            assert got == {f"q{a}z" for a, b in letters if b == base}, base
        if dialect == "postgresql":
            assert s.scalar(text("SELECT crocevia_search_text(:v)"), {"v": fulltext.FOLD_FROM}) == fulltext.FOLD_TO


def test_postgresql_answers_from_the_index(rt: Runtime, owner: Api) -> None:
    if rt.db.is_sqlite:
        pytest.skip("the FTS5 table is the index itself")
    stmt = select(Message.id).where(fulltext.pg_match(["citta", "bell"]))
    sql = str(stmt.compile(rt.db.engine, compile_kwargs={"literal_binds": True}))
    with rt.db.read() as s:
        s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(s.scalars(text(f"EXPLAIN {sql}")))
    assert "ix_messages_search" in plan, plan
