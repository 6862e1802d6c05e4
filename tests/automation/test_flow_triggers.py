"""Flows start on an intent (keywords and synonyms, typo-tolerant; by examples only with a local embedding
model) and on a reply to a campaign; the customer's language is detected; an edited flow is answered by
its new version at once (parsed flows are cached by id and version)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from crocevia.automation import embeddings
from crocevia.domain.enums import AuthorType
from crocevia.runtime import Runtime
from crocevia.services import flows
from crocevia.services.messages import SendRequest, enqueue_in
from crocevia.storage.tables import BotSession, Campaign, CampaignRecipient, Conversation, Message
from tests.automation.inchat import InChat, webchat
from tests.conftest import Workspace

GREETING = """\
name: saluto
triggers: {default: true}
start: hi
steps:
  - {id: hi, type: end, text: {it: "Ciao! Come posso aiutarti?", en: "Hi! How can I help?"}}
"""
BOOKING = """\
name: prenota
triggers:
  intents:
    - {name: prenotare, keywords: [prenotare, tavolo], examples: ["can we come by tonight, six of us?"]}
start: ask
steps:
  - {id: ask, type: end, text: {it: "Prenotiamo ({intent}).", en: "Let's book ({intent})."}}
"""
HOURS = """\
name: orari
triggers:
  intents:
    - {name: orari, keywords: [orari], synonyms: [quando aprite]}
start: say
steps:
  - {id: say, type: end, text: {it: "Siamo aperti dalle 19 alle 23.", en: "We are open 7pm to 11pm."}}
"""


def _texts(replies: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in replies]


def test_intents_by_keywords_synonyms_and_typos_start_their_flow_in_the_customers_language(
        rt: Runtime, ws: Workspace) -> None:
    for source in (GREETING, BOOKING, HOURS):
        flows.save_flow(rt, ws.owner, source=source)
    channel = webchat(rt, ws.owner)
    # Synonyms: "riservare" for prenotare, "posto" for tavolo; Italian.
    assert _texts(InChat(rt, channel, "v1").say("posso riservare un posto per stasera?")) == [
        "Prenotiamo (prenotare)."]
    # Typos ("prenotre", "tavlo") in English words around them: English.
    assert _texts(InChat(rt, channel, "v2").say("hello, I would like to prenotre a tavlo")) == [
        "Let's book (prenotare)."]
    # "aperti" is a synonym of "orari"; the intent's own synonym phrase works too.
    assert _texts(InChat(rt, channel, "v3").say("a che ora siete aperti?")) == ["Siamo aperti dalle 19 alle 23."]
    assert _texts(InChat(rt, channel, "v4").say("quando aprite stasera?")) == ["Siamo aperti dalle 19 alle 23."]
    assert _texts(InChat(rt, channel, "v5").say("what are your opening hours?")) == ["We are open 7pm to 11pm."]
    # Nothing matches: the default flow, in the language of the message.
    assert _texts(InChat(rt, channel, "v6").say("hi there, can you help me?")) == ["Hi! How can I help?"]
    assert _texts(InChat(rt, channel, "v7").say("buongiorno, mi serve una mano")) == ["Ciao! Come posso aiutarti?"]


class _Words:
    """A stand-in embedding model: a bag of words, so "tonight … six of us" resembles the example."""
    VOCAB = ("tonight", "come", "six", "us", "we", "by", "weather", "rain")

    def encode(self, sentences: list[str]) -> list[list[float]]:
        return [[float(w in s.lower().replace("?", " ").replace(",", " ").split()) for w in self.VOCAB]
                for s in sentences]


def test_intent_examples_match_by_meaning_only_when_an_embedding_model_is_installed(
        rt: Runtime, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    for source in (GREETING, BOOKING):
        flows.save_flow(rt, ws.owner, source=source)
    channel = webchat(rt, ws.owner)
    # The default install: no model, no matching by meaning; the message has no keyword, so the default flow.
    monkeypatch.delenv(embeddings.ENV, raising=False)
    assert embeddings.embedder() is None
    assert _texts(InChat(rt, channel, "a").say("could we come by tonight? six of us")) == ["Hi! How can I help?"]
    try:
        embeddings.use(_Words())
        assert _texts(InChat(rt, channel, "b").say("could we come by tonight? six of us")) == [
            "Let's book (prenotare)."]
        assert _texts(InChat(rt, channel, "c").say("will it rain tonight?")) == ["Hi! How can I help?"]
    finally:
        embeddings.use(None)


def test_a_model_folder_named_without_the_model_package_is_skipped_cleanly(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    try:
        import model2vec  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("model2vec is installed here: the fallback cannot be observed")
    monkeypatch.setenv(embeddings.ENV, str(tmp_path))
    assert embeddings.embedder() is None
    assert embeddings.similarity("anything", ["an example"]) == 0.0
    assert os.environ[embeddings.ENV] == str(tmp_path)


CAMPAIGN_FLOWS = ("""\
name: saldi
triggers: {campaigns: [saldi-estivi]}
start: a
steps:
  - {id: a, type: end, text: "Ti interessano i saldi ({campaign}): ecco il codice SALDI20."}
""", """\
name: risposte
triggers: {campaign_reply: true}
start: a
steps:
  - {id: a, type: end, text: "Grazie per la risposta a {campaign}!"}
""")


def _campaign_message(rt: Runtime, ws: Workspace, conv: Conversation, name: str, *, days_ago: int = 0) -> None:
    """A campaign's message in the conversation, as the fan-out leaves it (recipient row → message)."""
    with rt.db.transaction() as s:
        campaign = Campaign(workspace_id=ws.id, name=name, status="running")
        s.add(campaign)
        c = s.get(Conversation, conv.id)
        assert c is not None
        msg = enqueue_in(s, rt, c, SendRequest(text=f"Novità: {name}", author_type=AuthorType.BOT),
                         author_user_id=None)
        msg.created_at = rt.clock.now() - timedelta(days=days_ago)
        s.flush()
        s.add(CampaignRecipient(workspace_id=ws.id, campaign_id=campaign.id, contact_id=c.contact_id,
                                status="sent", channel_id=c.channel_id, message_id=msg.id))


def test_a_reply_to_a_campaign_starts_the_flow_naming_it_or_the_campaign_reply_flow(
        rt: Runtime, ws: Workspace) -> None:
    channel = webchat(rt, ws.owner)
    # The customers wrote once before the bots existed (so they have conversations to be sent campaigns in).
    people = {name: InChat(rt, channel, name) for name in ("giulia", "marco", "sara", "luca")}
    for chat in people.values():
        assert chat.say("buongiorno") == []
    for source in (GREETING, *CAMPAIGN_FLOWS):
        flows.save_flow(rt, ws.owner, source=source)
    _campaign_message(rt, ws, people["giulia"].conversation(), "saldi-estivi")
    _campaign_message(rt, ws, people["marco"].conversation(), "newsletter-giugno")
    _campaign_message(rt, ws, people["luca"].conversation(), "saldi-estivi", days_ago=10)
    for chat in people.values():
        chat.replies()  # past the campaign messages

    assert _texts(people["giulia"].say("sì, mi interessa")) == [
        "Ti interessano i saldi (saldi-estivi): ecco il codice SALDI20."]
    assert _texts(people["marco"].say("sì, mi interessa")) == ["Grazie per la risposta a newsletter-giugno!"]
    # No campaign, or one too long ago: the usual default flow.
    assert _texts(people["sara"].say("sì, mi interessa")) == ["Ciao! Come posso aiutarti?"]
    assert _texts(people["luca"].say("sì, mi interessa")) == ["Ciao! Come posso aiutarti?"]
    # Once answered, the next message is not a campaign reply any more.
    assert _texts(people["giulia"].say("e per le scarpe?")) == ["Ciao! Come posso aiutarti?"]


def test_a_saved_flow_edit_is_answered_by_the_new_version_and_a_disabled_flow_falls_silent(
        rt: Runtime, ws: Workspace) -> None:
    flow = flows.save_flow(rt, ws.owner, source=GREETING)
    channel = webchat(rt, ws.owner)
    assert _texts(InChat(rt, channel, "x").say("ciao")) == ["Ciao! Come posso aiutarti?"]
    flows.save_flow(rt, ws.owner, source=GREETING.replace("Come posso aiutarti?", "Benvenuta!"), flow_id=flow.id)
    assert _texts(InChat(rt, channel, "y").say("ciao")) == ["Ciao! Benvenuta!"]
    flows.save_flow(rt, ws.owner, source=GREETING, flow_id=flow.id, is_active=False)
    flows.save_flow(rt, ws.owner, source=GREETING.replace("name: saluto", "name: altro")
                    .replace("Come posso aiutarti?", "Sono l'altro flusso."))
    assert _texts(InChat(rt, channel, "z").say("ciao")) == ["Ciao! Sono l'altro flusso."]
    with rt.db.read() as s:
        assert s.scalar(select(BotSession.flow_id).join(Message, Message.conversation_id == BotSession.conversation_id)
                        .order_by(Message.id.desc()).limit(1)) != flow.id
