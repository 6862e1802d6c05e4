"""Contacts through the API: profile rules, search, paging, CSV in and out, merging, consent."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.api.support import (
    Api,
    Seeded,
    assert_problem,
    create_channel,
    post_inbound,
    receive,
    seed_workspace,
    text_event,
)
from tests.conftest import api_token, new_workspace

from crocevia.runtime import Runtime
from crocevia.services import contacts

CONTACTS = "/api/v1/contacts"


@pytest.fixture
def api(rt: Runtime, http: TestClient) -> Api:
    """The owner of a brand-new, empty workspace."""
    return Api(http, api_token(rt, new_workspace(rt).owner))


def all_contacts(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Walk every page the way a client would, following next_cursor."""
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = api.ok("GET", CONTACTS, params={**params, **({"cursor": cursor} if cursor else {})})
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("pagination never ended")


def test_create_read_update_delete_with_phone_normalised_to_e164(api: Api) -> None:
    created = api.ok("POST", CONTACTS, 201, json={"name": "Giulia Neri", "phone": "333 123 4567", "country": "IT",
                                                   "email": "Giulia.Neri@Example.com", "birth_year": 1990,
                                                   "tags": ["VIP", " clienti "], "language": "it"})
    assert created["phone"] == "+393331234567"
    assert created["email"] == "giulia.neri@example.com"
    assert created["tags"] == ["clienti", "vip"]
    cid = created["id"]
    got = api.ok("GET", f"{CONTACTS}/{cid}")
    assert (got["name"], got["country"], got["birth_year"]) == ("Giulia Neri", "IT", 1990)
    assert got["identities"] == [] and got["consents"] == []

    # A local number is read in the contact's country; an international one stays as written.
    assert api.ok("PATCH", f"{CONTACTS}/{cid}", json={"phone": "02 1234 5678"})["phone"] == "+390212345678"
    assert api.ok("PATCH", f"{CONTACTS}/{cid}", json={"phone": "+44 20 7946 0958"})["phone"] == "+442079460958"
    # Lower-case country codes are accepted (what people type).
    other = api.ok("POST", CONTACTS, 201, json={"name": "Piero", "phone": "347 765 4321", "country": "it"})
    assert (other["phone"], other["country"]) == ("+393477654321", "IT")
    # Clearing a field.
    assert api.ok("PATCH", f"{CONTACTS}/{cid}", json={"email": None})["email"] is None

    api.ok("DELETE", f"{CONTACTS}/{cid}", 204)
    assert_problem(api.get(f"{CONTACTS}/{cid}"), 404)
    assert [c["id"] for c in all_contacts(api)] == [other["id"]]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"phone": "12"}, 400, "phone"),
    ({"phone": "questo non è un numero"}, 400, "phone"),
    ({"phone": "333 123 4567", "country": "XX"}, 400, "country"),
    ({"email": "non-una-email"}, 400, "email"),
    ({"email": "a@b"}, 400, "email"),
    ({"country": "ITA"}, 400, "country"),
    ({"country": "ZZ"}, 400, "country"),
    ({"birth_year": 1800}, 400, "birth_year"),
    ({"birth_year": 2999}, 400, "birth_year"),
    ({"birth_year": "millenovecento"}, 422, "birth_year"),
    ({"language": "klingon!!"}, 400, "language"),
    ({"tags": "vip"}, 422, "tags"),
    ({"name": "X", "colore": "rosso"}, 422, "colore"),
])
def test_bad_profile_fields_are_refused_naming_the_field(api: Api, body: dict[str, Any], status: int,
                                                         field: str) -> None:
    assert_problem(api.post(CONTACTS, json=body), status, field)
    existing = api.ok("POST", CONTACTS, 201, json={"name": "Valido"})
    assert_problem(api.patch(f"{CONTACTS}/{existing['id']}", json=body), status, field)
    assert api.ok("GET", f"{CONTACTS}/{existing['id']}")["name"] == "Valido"
    assert len(all_contacts(api)) == 1  # the refused create left nothing behind


def test_search_by_name_phone_and_email(api: Api) -> None:
    anna = api.ok("POST", CONTACTS, 201, json={"name": "Anna Bianchi", "phone": "+393331112222",
                                               "email": "anna@bianchi.it"})
    marco = api.ok("POST", CONTACTS, 201, json={"name": "Marco Rossi", "phone": "+393479998888",
                                                "email": "marco@rossi.it"})

    def found(q: str) -> list[int]:
        return [c["id"] for c in api.ok("GET", CONTACTS, params={"q": q})["items"]]

    assert found("anna") == [anna["id"]]
    assert found("ROSSI") == [marco["id"]]
    assert found("3331112222") == [anna["id"]]
    assert found("+39347") == [marco["id"]]
    assert found("bianchi.it") == [anna["id"]]
    assert sorted(found("")) == sorted([anna["id"], marco["id"]])
    assert found("nessuno") == []


def test_keyset_pagination_returns_every_contact_exactly_once(api: Api) -> None:
    ids = [api.ok("POST", CONTACTS, 201, json={"name": f"Contatto {i:02d}"})["id"] for i in range(23)]
    pages = []
    cursor = None
    while True:
        page = api.ok("GET", CONTACTS, params={"limit": 5, **({"cursor": cursor} if cursor else {})})
        pages.append([c["id"] for c in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # A contact added while paging does not shift later pages.
        api.ok("POST", CONTACTS, 201, json={"name": "Arrivato dopo"})
    flat = [i for p in pages for i in p]
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert len(flat) == len(set(flat)) == 23
    assert set(flat) == set(ids)


@pytest.mark.parametrize("batch", [7, 500])
def test_tag_filter_pages_through_a_rare_tag_deep_in_the_list(api: Api, monkeypatch: pytest.MonkeyPatch,
                                                              batch: int) -> None:
    # The filter reads contacts in batches: small ones make it cross many batch boundaries.
    monkeypatch.setattr(contacts, "FILTER_BATCH", batch)
    vip = [api.ok("POST", CONTACTS, 201, json={"name": f"VIP {i}", "tags": ["vip"]})["id"] for i in range(3)]
    for i in range(60):
        api.ok("POST", CONTACTS, 201, json={"name": f"Altro {i}", "tags": ["altro"]})
    assert sorted(c["id"] for c in all_contacts(api, tag="vip", limit=1)) == sorted(vip)
    assert sorted(c["id"] for c in all_contacts(api, tag="VIP", limit=2)) == sorted(vip)


# -- CSV ----------------------------------------------------------------------------------------
def test_csv_import_lands_good_rows_reports_bad_ones_and_updates_by_email(api: Api) -> None:
    existing = api.ok("POST", CONTACTS, 201, json={"name": "Vecchio Nome", "email": "esiste@example.com"})
    data = (
        "name,phone,email,country,birth_year,tags\n"
        "Anna Bianchi,333 111 2222,anna@example.com,IT,1985,vip;newsletter\n"
        "Numero Sbagliato,12,sbagliato@example.com,IT,,\n"
        "Mail Sbagliata,,non-una-mail,,,\n"
        "Troppo Vecchio,,vecchio@example.com,,1870,\n"
        "Nuovo Nome,,ESISTE@example.com,,,\n"
        "Luca Verdi,+44 20 7946 0958,,GB,,\n"
    )
    result = api.ok("POST", f"{CONTACTS}/import", content=data.encode(), headers={"Content-Type": "text/csv"})
    assert (result["created"], result["updated"]) == (2, 1)
    assert [(e["line"], e["field"]) for e in result["errors"]] == [(3, "phone"), (4, "email"), (5, "birth_year")]

    contacts = {c["email"] or c["name"]: c for c in all_contacts(api)}
    assert len(contacts) == 3
    assert contacts["anna@example.com"]["phone"] == "+393331112222"
    assert contacts["anna@example.com"]["tags"] == ["newsletter", "vip"]
    assert contacts["esiste@example.com"]["id"] == existing["id"]
    assert contacts["esiste@example.com"]["name"] == "Nuovo Nome"
    assert contacts["Luca Verdi"]["phone"] == "+442079460958"


def test_csv_import_as_multipart_upload_and_bad_files(api: Api) -> None:
    ok = api.ok("POST", f"{CONTACTS}/import", files={"file": ("c.csv", b"name,email\nCarla,carla@example.com\n",
                                                               "text/csv")})
    assert ok["created"] == 1
    assert_problem(api.post(f"{CONTACTS}/import", content=b"colonna,altro\n1,2\n",
                            headers={"Content-Type": "text/csv"}), 400, "file")
    assert_problem(api.post(f"{CONTACTS}/import", content="name\nJosé\n".encode("latin-1"),
                            headers={"Content-Type": "text/csv"}), 400, "file")
    assert_problem(api.post(f"{CONTACTS}/import", files={"altro": ("c.csv", b"name\nX\n", "text/csv")}), 400, "file")


def _rows(csv_text: str) -> list[dict[str, str]]:
    return [{k: v for k, v in row.items() if k not in ("id", "created_at")}
            for row in csv.DictReader(io.StringIO(csv_text))]


def test_csv_export_round_trips(rt: Runtime, http: TestClient, api: Api) -> None:
    api.ok("POST", CONTACTS, 201, json={"name": "Anna, detta \"Annina\"", "phone": "+393331112222",
                                        "email": "anna@example.com", "country": "IT", "birth_year": 1985,
                                        "tags": ["vip", "newsletter"], "language": "it"})
    api.ok("POST", CONTACTS, 201, json={"name": "Solo Nome"})
    api.ok("POST", CONTACTS, 201, json={"name": "Zoë Müller", "email": "zoe@example.de", "country": "DE"})
    exported = api.get(f"{CONTACTS}/export.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    rows = _rows(exported.text)
    assert len(rows) == 3 and {r["name"] for r in rows} == {"Anna, detta \"Annina\"", "Solo Nome", "Zoë Müller"}

    # Into another workspace: the same contacts come out again.
    other = Api(http, api_token(rt, new_workspace(rt).owner))
    imported = other.ok("POST", f"{CONTACTS}/import", content=exported.content, headers={"Content-Type": "text/csv"})
    assert (imported["created"], imported["errors"]) == (3, [])
    assert sorted(_rows(other.get(f"{CONTACTS}/export.csv").text), key=str) == sorted(rows, key=str)

    # Back into the same workspace: nothing is duplicated, not even the contact with only a name.
    again = api.ok("POST", f"{CONTACTS}/import", content=exported.content, headers={"Content-Type": "text/csv"})
    assert (again["created"], again["updated"], again["errors"]) == (0, 3, [])
    assert len(all_contacts(api)) == 3


def test_csv_export_defuses_spreadsheet_formulas_from_untrusted_names(api: Api) -> None:
    # Contact names arrive from chat profiles, i.e. from anyone: a name must not run as a formula
    # when a marketer opens the export in a spreadsheet.
    api.ok("POST", CONTACTS, 201, json={"name": "=HYPERLINK(\"http://evil.example\",\"Clicca\")",
                                        "tags": ["@cmd"], "phone": "+393331112222"})
    rows = list(csv.DictReader(io.StringIO(api.get(f"{CONTACTS}/export.csv").text)))
    assert not rows[0]["name"].startswith("=") and rows[0]["name"].endswith("\"Clicca\")")
    assert not rows[0]["tags"].startswith("@")
    assert rows[0]["phone"] == "+393331112222"  # data that merely starts with + is left alone
    # Re-importing gives back the original name.
    other_name = api.ok("POST", f"{CONTACTS}/import", content=api.get(f"{CONTACTS}/export.csv").content,
                        headers={"Content-Type": "text/csv"})
    assert other_name["updated"] == 1
    assert all_contacts(api)[0]["name"] == "=HYPERLINK(\"http://evil.example\",\"Clicca\")"


# -- merging and consent --------------------------------------------------------------------------
def test_merge_moves_identities_conversations_and_consent(rt: Runtime, http: TestClient) -> None:
    seeded: Seeded = seed_workspace(rt, http, "Fusione")
    owner = seeded.owner
    second = create_channel(owner, name="Seconda linea")
    dup_conv = receive(owner, second, "Sono sempre io", "+393470001111", "Mario da Telegram")
    dup_id = dup_conv["contact"]["id"]
    keep_id = seeded.contact_id
    assert dup_id != keep_id
    owner.ok("POST", f"{CONTACTS}/{dup_id}/consents", 201,
             json={"channel_id": second["id"], "status": "opted_in", "source": "form", "evidence": "modulo web"})
    # Both say something about the first channel: the kept contact's own answer wins.
    owner.ok("POST", f"{CONTACTS}/{dup_id}/consents", 201,
             json={"channel_id": seeded.channel["id"], "status": "opted_out", "source": "import"})

    merged = owner.ok("POST", f"{CONTACTS}/{keep_id}/merge", json={"merge_id": dup_id})
    assert merged["id"] == keep_id
    kept = owner.ok("GET", f"{CONTACTS}/{keep_id}")
    assert {i["channel_id"] for i in kept["identities"]} == {seeded.channel["id"], second["id"]}
    assert {(c["channel_id"], c["status"]) for c in kept["consents"]} == {
        (seeded.channel["id"], "opted_in"), (second["id"], "opted_in")}
    convs = owner.ok("GET", "/api/v1/conversations", params={"contact_id": keep_id})["items"]
    assert {c["id"] for c in convs} == {seeded.conversation["id"], dup_conv["id"]}
    assert owner.ok("GET", "/api/v1/conversations", params={"contact_id": dup_id})["items"] == []
    history = owner.ok("GET", f"{CONTACTS}/{keep_id}/consents")["history"]
    assert {(h["channel_id"], h["status"], h["source"]) for h in history} >= {
        (second["id"], "opted_in", "form"), (seeded.channel["id"], "opted_out", "import")}
    # The duplicate no longer shows in lists, and says where it went.
    assert dup_id not in [c["id"] for c in all_contacts(owner)]
    assert owner.ok("GET", f"{CONTACTS}/{dup_id}")["merged_into_id"] == keep_id
    # A new message from the duplicate's identity lands on the kept contact.
    post_inbound(owner.http, second["public_id"], [text_event("dopo-fusione", "Ancora io", "+393470001111")])
    moved = owner.ok("GET", f"/api/v1/conversations/{dup_conv['id']}")
    assert moved["contact"]["id"] == keep_id and moved["last_message_preview"] == "Ancora io"
    assert_problem(owner.post(f"{CONTACTS}/{keep_id}/merge", json={"merge_id": keep_id}), 400, "merge_id")


def test_consent_per_channel_keeps_a_dated_history_with_its_source(rt: Runtime, http: TestClient) -> None:
    seeded = seed_workspace(rt, http, "Consenso")
    owner, cid, ch = seeded.owner, seeded.contact2_id, seeded.channel["id"]
    url = f"{CONTACTS}/{cid}/consents"
    owner.ok("POST", url, 201, json={"channel_id": ch, "status": "opted_in", "source": "form",
                                     "evidence": "modulo del 3 marzo"})
    owner.ok("POST", url, 201, json={"channel_id": ch, "status": "opted_in", "source": "form"})  # no change
    state = owner.ok("POST", url, 201, json={"channel_id": ch, "status": "opted_out", "source": "agent"})
    assert [(c["channel_id"], c["status"], c["source"]) for c in state["current"]] == [(ch, "opted_out", "agent")]
    assert [(h["status"], h["source"], h["evidence"]) for h in state["history"]] == [
        ("opted_in", "form", "modulo del 3 marzo"), ("opted_out", "agent", None)]
    assert all(h["at"] for h in state["history"])
    assert state["history"][0]["at"] <= state["history"][1]["at"]
    assert_problem(owner.post(url, json={"channel_id": ch, "status": "forse"}), 422, "status")
    assert_problem(owner.post(url, json={"channel_id": 987654321, "status": "opted_in"}), 404, "channel_id")
