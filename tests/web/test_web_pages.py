"""The UI's pages as the server renders them: sign-in required, navigation by role, the language
picked per user, and nothing a member of another inbox could use to learn what exists."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from tests.conftest import Workspace, new_workspace
from tests.web.conftest import PASSWORD, add_user, boot_data, sandbox_channel, sign_in

from crocevia.channels.base import InboundMessage
from crocevia.domain.enums import MessageKind, Role
from crocevia.runtime import Runtime
from crocevia.services import channels, ingest
from crocevia.storage.tables import Channel, Message

EN = {"Accept-Language": "en-GB,en;q=0.9"}
IT = {"Accept-Language": "it-IT,it;q=0.9,en;q=0.5"}


def inbound(rt: Runtime, channel: Channel, text: str, msg_id: str = "m-1", name: str = "Mario Rossi") -> int:
    result = ingest.ingest(rt, channel, [InboundMessage(
        external_message_id=msg_id, sender_id="+393331234567", sender_phone="+393331234567", sender_name=name,
        kind=MessageKind.TEXT, text=text)])
    with rt.db.read() as s:
        message = s.get(Message, result.stored[0])
        assert message is not None
        return message.conversation_id


# -- signing in -------------------------------------------------------------------------------------
def test_the_inbox_sends_a_stranger_to_the_sign_in_page(client: TestClient) -> None:
    resp = client.get("/", headers=EN)
    assert resp.status_code == 303
    assert resp.headers["location"] == "/ui/login"
    page = client.get("/ui/login", headers=EN)
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert 'id="login-form"' in page.text and 'type="password"' in page.text


def test_a_deep_link_survives_the_sign_in(client: TestClient) -> None:
    resp = client.get("/ui/conversations/42?status=resolved")
    assert resp.status_code == 303
    target = urlsplit(resp.headers["location"])
    assert target.path == "/ui/login"
    assert parse_qs(target.query)["next"] == ["/ui/conversations/42?status=resolved"]
    page = client.get(resp.headers["location"])
    assert 'data-next="/ui/conversations/42?status=resolved"' in page.text


def test_the_sign_in_page_never_redirects_off_site(client: TestClient, workspace: Workspace) -> None:
    for evil in ("//evil.example/phish", "https://evil.example/", "/\\evil.example"):
        page = client.get("/ui/login", params={"next": evil})
        assert 'data-next="/"' in page.text
    sign_in(client, workspace.owner_email, workspace.password)
    resp = client.get("/ui/login", params={"next": "//evil.example/phish"})
    assert resp.status_code == 303 and resp.headers["location"] == "/"


def test_signed_in_the_inbox_renders_with_the_sessions_csrf_token(client: TestClient, workspace: Workspace) -> None:
    csrf = sign_in(client, workspace.owner_email, workspace.password)
    resp = client.get("/", headers=EN)
    assert resp.status_code == 200
    boot = boot_data(resp.text)
    assert boot["csrf"] == csrf
    assert boot["me"]["email"] == workspace.owner_email
    assert 'id="conv-list"' in resp.text
    # Only our own scripts, no inline code, no CDN; and the page is never cached.
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["cache-control"] == "no-store"
    assert "<script>" not in resp.text and "https://" not in resp.text.split("<body")[0]


def test_after_sign_out_the_inbox_asks_to_sign_in_again(client: TestClient, workspace: Workspace) -> None:
    csrf = sign_in(client, workspace.owner_email, workspace.password)
    assert client.get("/").status_code == 200
    # Signing out is a write: without the CSRF token it is refused and the session stays.
    assert client.post("/api/v1/auth/logout").status_code == 403
    assert client.get("/").status_code == 200
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/").status_code == 303


def test_a_bad_password_gives_no_session(client: TestClient, workspace: Workspace) -> None:
    resp = client.post("/api/v1/auth/login", json={"email": workspace.owner_email, "password": "not-it-at-all"})
    assert resp.status_code == 401
    assert client.get("/").status_code == 303


# -- navigation by role -----------------------------------------------------------------------------
def test_owners_see_the_admin_pages_agents_do_not(client: TestClient, rt: Runtime, workspace: Workspace) -> None:
    agent = add_user(rt, workspace, Role.AGENT)
    sign_in(client, workspace.owner_email, workspace.password)
    owner_page = client.get("/", headers=EN).text
    for link in ("/ui/admin/channels", "/ui/admin/users", "/ui/admin/webhooks"):
        assert f'href="{link}"' in owner_page
    assert client.get("/ui/admin/users", headers=EN).status_code == 200

    sign_in(client, agent.email)
    agent_page = client.get("/", headers=EN).text
    assert 'data-nav="admin"' not in agent_page
    assert 'href="/ui/settings/tokens"' in agent_page
    denied = client.get("/ui/admin/users", headers=EN)
    assert denied.status_code == 403
    assert "Only owners and admins can open this page" in denied.text


def test_admins_may_open_admin_pages_viewers_may_not(client: TestClient, rt: Runtime, workspace: Workspace) -> None:
    admin = add_user(rt, workspace, Role.ADMIN, name="Alba Admin")
    viewer = add_user(rt, workspace, Role.VIEWER, name="Vito Viewer")
    sign_in(client, admin.email)
    assert client.get("/ui/admin/channels").status_code == 200
    sign_in(client, viewer.email)
    assert client.get("/ui/admin/channels").status_code == 403
    assert boot_data(client.get("/").text)["can_write"] is False


def test_an_unknown_admin_page_is_not_found(client: TestClient, workspace: Workspace) -> None:
    sign_in(client, workspace.owner_email, workspace.password)
    resp = client.get("/ui/admin/secrets", headers=EN)
    assert resp.status_code == 404
    assert "Page not found" in resp.text


# -- inbox membership -------------------------------------------------------------------------------
def test_an_agent_outside_the_inbox_gets_not_found_for_its_conversation(
    client: TestClient, rt: Runtime, workspace: Workspace
) -> None:
    channel = sandbox_channel(rt, workspace)
    conv_id = inbound(rt, channel, "Riservato: il mio codice cliente è 4471")
    outsider = add_user(rt, workspace, Role.AGENT, name="Otto Outsider")
    member = add_user(rt, workspace, Role.AGENT, name="Maria Member")
    channels.set_members(rt, workspace.owner, channel.id, [member.id])

    sign_in(client, outsider.email)
    resp = client.get(f"/ui/conversations/{conv_id}", headers=EN)
    assert resp.status_code == 404
    assert "Conversation not found" in resp.text
    assert "Riservato" not in resp.text and "Mario Rossi" not in resp.text
    # Nor does the inbox page list the channel to filter by.
    assert boot_data(client.get("/").text)["channels"] == []

    sign_in(client, member.email)
    ok = client.get(f"/ui/conversations/{conv_id}", headers=EN)
    assert ok.status_code == 200
    boot = boot_data(ok.text)
    assert boot["open_id"] == conv_id
    assert [c["name"] for c in boot["channels"]] == ["Sandbox"]


def test_a_conversation_of_another_workspace_is_not_found(client: TestClient, rt: Runtime) -> None:
    mine, theirs = new_workspace(rt), new_workspace(rt)
    conv_id = inbound(rt, sandbox_channel(rt, theirs), "altrui")
    sign_in(client, mine.owner_email, mine.password)
    assert client.get(f"/ui/conversations/{conv_id}").status_code == 404


def test_the_composer_learns_each_channels_rules(client: TestClient, rt: Runtime, workspace: Workspace) -> None:
    sandbox_channel(rt, workspace)
    sign_in(client, workspace.owner_email, workspace.password)
    (sandbox,) = boot_data(client.get("/").text)["channels"]
    assert sandbox["kind"] == "sandbox"
    assert sandbox["caps"]["reply_window_hours"] is None
    assert sandbox["caps"]["templates"] is False
    assert sandbox["caps"]["max_text_length"] > 0


# -- languages ---------------------------------------------------------------------------------------
def test_the_sign_in_page_speaks_the_browsers_language(client: TestClient) -> None:
    italian = client.get("/ui/login", headers=IT).text
    assert '<html lang="it">' in italian
    assert ">Accedi</h1>" in italian and "Password" in italian
    english = client.get("/ui/login", headers=EN).text
    assert ">Sign in</h1>" in english
    # A language the UI does not speak falls back to English; weights are honoured.
    assert ">Sign in</h1>" in client.get("/ui/login", headers={"Accept-Language": "fr-FR,fr"}).text
    weighted = client.get("/ui/login", headers={"Accept-Language": "de;q=1, it;q=0.8, en;q=0.2"}).text
    assert ">Accedi</h1>" in weighted


def test_the_users_profile_language_beats_the_browser(client: TestClient, rt: Runtime, workspace: Workspace) -> None:
    italian_agent = add_user(rt, workspace, Role.AGENT, name="Anna Agente", language="it")
    sign_in(client, italian_agent.email)
    page = client.get("/", headers=EN).text
    assert '<html lang="it">' in page
    assert "Cerca nome, telefono o messaggio" in page
    assert ">Non assegnate</button>" in page
    assert boot_data(page)["lang"] == "it"

    sign_in(client, workspace.owner_email, workspace.password)  # no language set: the browser decides
    assert ">Unassigned</button>" in client.get("/", headers=EN).text
    assert ">Non assegnate</button>" in client.get("/", headers=IT).text


def test_the_scripts_get_their_strings_in_the_pages_language(client: TestClient, workspace: Workspace) -> None:
    sign_in(client, workspace.owner_email, workspace.password)
    italian = client.get("/", headers=IT).text
    assert '"Delivered": "Consegnato"' in italian
    assert '"Waiting {time}": "In attesa da {time}"' in italian
    english = client.get("/", headers=EN).text
    assert '<script type="application/json" id="i18n">{}</script>' in english


# -- safety of what pages embed ---------------------------------------------------------------------
def test_a_hostile_name_cannot_break_out_of_the_page_data(client: TestClient, rt: Runtime,
                                                          workspace: Workspace) -> None:
    add_user(rt, workspace, Role.AGENT, name="</script><script>alert(1)</script>", email="x@evil.test")
    sign_in(client, workspace.owner_email, workspace.password)
    page = client.get("/").text
    assert "<script>alert(1)" not in page
    assert any(u["name"] == "</script><script>alert(1)</script>" for u in boot_data(page)["users"])


def test_static_files_are_served_revalidated_and_confined(client: TestClient) -> None:
    js = client.get("/ui/static/js/inbox/main.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert js.headers["cache-control"] == "no-cache"
    again = client.get("/ui/static/js/inbox/main.js", headers={"If-None-Match": js.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/ui/static/css/app.css").headers["content-type"].startswith("text/css")
    assert client.get("/ui/static/../i18n.py").status_code == 404
    assert client.get("/ui/static/%2e%2e/i18n.py").status_code == 404


def test_pages_link_assets_that_exist(client: TestClient, workspace: Workspace) -> None:
    import re

    sign_in(client, workspace.owner_email, workspace.password)
    for path in ("/", "/ui/admin/channels", "/ui/admin/users", "/ui/admin/webhooks", "/ui/settings/tokens"):
        html = client.get(path).text
        assets = set(re.findall(r'(?:src|href)="(/ui/static/[^"#]+)', html))
        assert assets, path
        for asset in assets:
            assert client.get(asset).status_code == 200, f"{path} links a missing {asset}"


def test_a_wrong_password_for_the_right_user_cannot_open_pages(client: TestClient, rt: Runtime,
                                                              workspace: Workspace) -> None:
    agent = add_user(rt, workspace, Role.AGENT)
    assert client.post("/api/v1/auth/login", json={"email": agent.email, "password": PASSWORD + "x"}).status_code == 401
    assert client.get("/ui/admin/users").status_code == 303


def test_the_tokens_page_explains_the_header_and_hides_the_form_from_viewers(
    client: TestClient, rt: Runtime, workspace: Workspace
) -> None:
    sign_in(client, workspace.owner_email, workspace.password)
    page = client.get("/ui/settings/tokens", headers=EN).text
    assert "Authorization: Bearer &lt;token&gt;" in page  # shown as text, not swallowed as a tag
    assert 'id="token-form"' in page
    viewer = add_user(rt, workspace, Role.VIEWER, name="Vito Viewer")
    sign_in(client, viewer.email)
    assert 'id="token-form"' not in client.get("/ui/settings/tokens").text
