"""The promotion API: bad input is a problem+json naming the field; another workspace's ids are not found."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.api.support import Api, assert_problem, make_app
from tests.conftest import api_token, new_workspace

from crocevia.runtime import Runtime
from crocevia.services import channels

CREDS = {"account_id": "acct-promo", "api_key": "key-promo-12345", "webhook_secret": "secret-promo-123"}


def test_bad_input_names_the_field_and_other_workspaces_ids_are_not_found(rt: Runtime) -> None:
    http = TestClient(make_app(rt))
    a, b = new_workspace(rt), new_workspace(rt)
    api_a, api_b = Api(http, api_token(rt, a.owner)), Api(http, api_token(rt, b.owner))
    ch_a = channels.create_channel(rt, a.owner, kind="sandbox", name="A", credentials=CREDS,
                                   settings={"api_base": "http://127.0.0.1:9"})
    ch_b = channels.create_channel(rt, b.owner, kind="sandbox", name="B", credentials=CREDS,
                                   settings={"api_base": "http://127.0.0.1:9"})

    assert_problem(api_a.post("/api/v1/segments/preview", json={"filter": {"age_max": 200}}), 400, "filter.age_max")
    assert_problem(api_a.post("/api/v1/segments", json={"name": "x", "filter": {"colour": "red"}}), 400,
                   "filter.colour")
    assert_problem(api_a.post("/api/v1/templates", json={"name": "t", "variants": {"it": {"text": "{{iban}}"}}}),
                   400, "variants.it.text")
    assert_problem(api_a.post("/api/v1/templates", json={"name": "t", "variants": {"klingon!": {"text": "x"}}}),
                   400, "variants.klingon!")
    seg_a = api_a.ok("POST", "/api/v1/segments", 201, json={"name": "Tutti", "filter": {}})
    tpl_a = api_a.ok("POST", "/api/v1/templates", 201, json={"name": "T", "variants": {"it": {"text": "Ciao"}}})
    assert_problem(api_a.post("/api/v1/campaigns", json={"name": "c", "segment_id": seg_a["id"],
                                                        "template_id": tpl_a["id"], "channel_ids": [ch_a.id],
                                                        "quiet_start": "25:99", "quiet_end": "08:00"}),
                   400, "quiet_start")

    # B names A's segment, template, channel and contact: all not found, field named.
    seg_b = api_b.ok("POST", "/api/v1/segments", 201, json={"name": "Tutti", "filter": {}})
    tpl_b = api_b.ok("POST", "/api/v1/templates", 201, json={"name": "T", "variants": {"it": {"text": "Ciao"}}})
    base = {"name": "rubata", "segment_id": seg_b["id"], "template_id": tpl_b["id"], "channel_ids": [ch_b.id]}
    assert_problem(api_b.post("/api/v1/campaigns", json={**base, "segment_id": seg_a["id"]}), 404, "segment_id")
    assert_problem(api_b.post("/api/v1/campaigns", json={**base, "template_id": tpl_a["id"]}), 404, "template_id")
    assert_problem(api_b.post("/api/v1/campaigns", json={**base, "channel_ids": [ch_a.id]}), 404, "channel_ids[0]")
    assert_problem(api_b.post("/api/v1/segments/preview", json={"filter": {"channel_ids": [ch_a.id]}}), 404,
                   "filter.channel_ids[0]")
    contact_a = api_a.ok("POST", "/api/v1/contacts", 201, json={"name": "Segreto"})
    assert_problem(api_b.get(f"/api/v1/templates/{tpl_b['id']}/preview", params={"contact_id": contact_a["id"]}),
                   404, "contact_id")
    assert api_b.ok("GET", "/api/v1/campaigns") == []

    # A campaign cannot be started twice, nor a used segment deleted.
    camp = api_b.ok("POST", "/api/v1/campaigns", 201, json=base)
    assert_problem(api_b.delete(f"/api/v1/segments/{seg_b['id']}"), 409)
    api_b.ok("POST", f"/api/v1/campaigns/{camp['id']}/start")
    assert_problem(api_b.post(f"/api/v1/campaigns/{camp['id']}/start"), 409, "status")
