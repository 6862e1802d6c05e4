"""Attachments: upload limits, who may download, and the signed links providers fetch media from."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from fastapi.testclient import TestClient
from tests.api.conftest import MEDIA_MAX_BYTES
from tests.api.support import PNG, Api, Seeded, assert_problem, create_channel, receive, seed_workspace

from crocevia.media.links import signed_media_url
from crocevia.runtime import Runtime
from crocevia.storage.tables import Attachment

ATTACHMENTS = "/api/v1/attachments"
PDF = b"%PDF-1.4\n% preventivo\n"


@pytest.fixture(scope="module")
def seeded(rt: Runtime, http: TestClient) -> Seeded:
    return seed_workspace(rt, http, "Allegati")


def upload(api: Api, name: str, data: bytes, ctype: str) -> dict[str, object]:
    result: dict[str, object] = api.ok("POST", ATTACHMENTS, 201, files={"file": (name, data, ctype)})
    return result


def test_upload_then_download_the_same_bytes(seeded: Seeded) -> None:
    att = upload(seeded.owner, "preventivo.pdf", PDF, "application/pdf")
    assert att["content_type"] == "application/pdf" and att["size"] == len(PDF)
    assert att["sha256"] == hashlib.sha256(PDF).hexdigest() and att["filename"] == "preventivo.pdf"
    got = seeded.owner.get(f"{ATTACHMENTS}/{att['id']}")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    # Parameters on the declared type are fine.
    text = upload(seeded.owner, "nota.txt", b"ciao", "text/plain; charset=utf-8")
    assert text["content_type"] == "text/plain"


@pytest.mark.parametrize("name", ["preventivo-€.pdf", "foto 📷.pdf", "virgola, punto; e\\barra.pdf",
                                  "spazi e àccenti.pdf"])
def test_any_file_name_downloads_with_a_safe_header(seeded: Seeded, name: str) -> None:
    att = upload(seeded.owner, name, PDF, "application/pdf")
    got = seeded.owner.get(f"{ATTACHMENTS}/{att['id']}")
    assert got.status_code == 200 and got.content == PDF
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("inline;")
    assert unquote(disposition.split("filename*=UTF-8''", 1)[1]) == name


def test_too_large_empty_or_disallowed_files_are_refused_naming_file(seeded: Seeded) -> None:
    assert_problem(seeded.owner.post(ATTACHMENTS, files={"file": ("big.pdf", b"0" * (MEDIA_MAX_BYTES + 1),
                                                                  "application/pdf")}), 400, "file")
    just_fits = upload(seeded.owner, "fits.pdf", b"0" * MEDIA_MAX_BYTES, "application/pdf")
    assert just_fits["size"] == MEDIA_MAX_BYTES
    assert_problem(seeded.owner.post(ATTACHMENTS, files={"file": ("setup.exe", b"MZ\x90\x00",
                                                                  "application/x-msdownload")}), 400, "file")
    assert_problem(seeded.owner.post(ATTACHMENTS, files={"file": ("page.html", b"<script>alert(1)</script>",
                                                                  "text/html")}), 400, "file")
    assert_problem(seeded.owner.post(ATTACHMENTS, files={"file": ("vuoto.pdf", b"", "application/pdf")}), 400, "file")
    assert_problem(seeded.owner.post(ATTACHMENTS, files={"altro": ("x.pdf", PDF, "application/pdf")}), 422, "file")


def test_only_those_who_may_see_it_can_download(rt: Runtime, http: TestClient, seeded: Seeded) -> None:
    stranger = seed_workspace(rt, http, "Estraneo")
    assert_problem(stranger.owner.get(f"{ATTACHMENTS}/{seeded.attachment_id}"), 404)
    # Sent in an inbox the agent does not belong to: hidden from him, visible to the owner.
    hidden_channel = create_channel(seeded.owner, name="Direzione")
    conv = receive(seeded.owner, hidden_channel, "Riservato", "+393401234567", "Socio Riservato")
    att = upload(seeded.owner, "bilancio.pdf", PDF, "application/pdf")
    seeded.owner.ok("POST", f"/api/v1/conversations/{conv['id']}/messages", 202,
                    json={"text": "in allegato", "attachment_id": att["id"]})
    assert_problem(seeded.agent.get(f"{ATTACHMENTS}/{att['id']}"), 404)
    assert seeded.owner.get(f"{ATTACHMENTS}/{att['id']}").content == PDF
    # In his own inbox, he can.
    assert seeded.agent.get(f"{ATTACHMENTS}/{seeded.attachment_id}").content == PNG
    assert_problem(http.get(f"{ATTACHMENTS}/{seeded.attachment_id}"), 401)


def test_signed_media_link_works_without_login_and_only_untampered(rt: Runtime, http: TestClient,
                                                                   seeded: Seeded) -> None:
    other = upload(seeded.owner, "altro.pdf", PDF, "application/pdf")
    with rt.db.read() as s:
        att = s.get(Attachment, seeded.attachment_id)
        assert att is not None
    url = urlsplit(signed_media_url(rt, att))
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    ok = http.get(url.path, params=query)
    assert ok.status_code == 200 and ok.content == PNG and ok.headers["content-type"] == "image/png"

    sig = query["sig"]
    tampered_sig = sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")
    assert http.get(url.path, params={**query, "sig": tampered_sig}).status_code == 403
    assert http.get(url.path, params={"exp": query["exp"]}).status_code == 403
    # The same signature does not open another attachment, nor a longer-lived link.
    assert http.get(f"/media/{other['id']}", params=query).status_code == 403
    assert http.get(url.path, params={**query, "exp": str(int(query["exp"]) + 3600)}).status_code == 403
    # An expired link is refused even with its own valid signature.
    expired = urlsplit(signed_media_url(rt, att, ttl=-60))
    assert http.get(expired.path, params={k: v[0] for k, v in parse_qs(expired.query).items()}).status_code == 403
    assert_problem(http.get(url.path, params={**query, "exp": "domani"}), 400, "exp")
