"""Upgrading to the label catalogue (migration 0013) keeps every label conversations already carry:
each one is on the admin page afterwards, and nothing else is."""

from __future__ import annotations

from sqlalchemy import select
from tests.conftest import new_workspace
from tests.web.conftest import sandbox_channel

from crocevia.runtime import Runtime
from crocevia.services import labels
from crocevia.storage.migrate import downgrade, upgrade
from crocevia.storage.tables import Contact, Conversation


def test_labels_in_use_before_the_upgrade_join_the_catalogue(rt: Runtime) -> None:
    first, second = new_workspace(rt), new_workspace(rt)
    for w, names in ((first, [["vip", "caffè"], ["vip"], []]), (second, [["reclamo"]])):
        channel = sandbox_channel(rt, w)
        with rt.db.transaction() as s:
            for i, conv_labels in enumerate(names):
                contact = Contact(workspace_id=w.id, name=f"Cliente {i}")
                s.add(contact)
                s.flush()
                s.add(Conversation(workspace_id=w.id, channel_id=channel.id, contact_id=contact.id,
                                   labels=conv_labels))
    downgrade(rt.db, "0009")  # as the database was before issue 5's catalogue
    upgrade(rt.db)

    assert [lbl.name for lbl in labels.list_labels(rt, first.owner)] == ["caffè", "vip"]
    assert [lbl.name for lbl in labels.list_labels(rt, second.owner)] == ["reclamo"]
    with rt.db.read() as s:  # the conversations themselves are untouched
        assert sorted(map(sorted, s.scalars(select(Conversation.labels)
                                            .where(Conversation.workspace_id == first.id)))) == [
            [], ["caffè", "vip"], ["vip"]]
