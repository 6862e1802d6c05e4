"""`crocevia campaign send --follow`: starts the campaign and shows its progress until the fan-out ends."""

from __future__ import annotations

import pytest
from tests.conftest import Workspace

from crocevia.cli import main
from crocevia.domain.enums import ConsentStatus
from crocevia.runtime import Runtime
from crocevia.services import campaigns, channels, contacts, segments, templates
from crocevia.storage.tables import ContactIdentity
from crocevia.storage.tables import Workspace as WorkspaceRow

CREDS = {"account_id": "acct-promo", "api_key": "key-promo-12345", "webhook_secret": "secret-promo-123"}


def test_send_follow_prints_a_progress_bar_to_the_end(rt: Runtime, ws: Workspace, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for key, value in (("DATABASE_URL", rt.settings.database_url), ("SECRET_KEY", rt.settings.secret_key),
                       ("DATA_DIR", str(rt.settings.data_dir)), ("ENV", "test")):
        monkeypatch.setenv(f"CROCEVIA_{key}", value)
    ch = channels.create_channel(rt, ws.owner, kind="sandbox", name="S", credentials=CREDS,
                                 settings={"api_base": "http://127.0.0.1:9"})
    for n in range(3):
        c = contacts.create_contact(rt, ws.owner, {"name": f"C{n}", "tags": ["vip"]})
        with rt.db.transaction() as s:
            s.add(ContactIdentity(workspace_id=ws.id, contact_id=c.id, channel_id=ch.id, external_id=f"u{n}"))
        if n:
            contacts.set_consent(rt, ws.owner, c.id, channel_id=ch.id, status=ConsentStatus.OPTED_IN)
    seg = segments.create_segment(rt, ws.owner, name="VIP", filter={"tags_any": ["vip"]})
    tpl = templates.create_template(rt, ws.owner, {"name": "T", "variants": {"it": {"text": "Ciao"}}})
    camp = campaigns.create_campaign(rt, ws.owner, {"name": "Natale", "segment_id": seg.id, "template_id": tpl.id,
                                                    "channel_ids": [ch.id]})
    with rt.db.read() as s:
        slug = s.get(WorkspaceRow, ws.id).slug  # type: ignore[union-attr]

    assert main(["campaign", "send", str(camp.id), "--workspace", slug, "--here", "--follow"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"campaign {camp.id} 'Natale': running"
    assert out[-1].startswith("[" + "#" * 30 + "] 100.0%  sent 2  skipped 1  pending 0  of 3  (done)")
    assert main(["campaign", "list", "--workspace", slug]) == 0
    assert "Natale" in capsys.readouterr().out
    assert main(["campaign", "send", "99999", "--workspace", slug]) == 2
    assert "campaign not found" in capsys.readouterr().err
