"""Server-side checks of the pages added for the inbox's second round: contacts, teams and canned
responses (who may open them, and that another workspace's contact is "not found")."""

from __future__ import annotations

from fastapi.testclient import TestClient
from tests.conftest import Workspace, new_workspace
from tests.web.conftest import add_user, boot_data, sign_in

from crocevia.domain.enums import Role
from crocevia.runtime import Runtime
from crocevia.services import contacts

EN = {"Accept-Language": "en-US"}


def test_teams_and_canned_responses_are_admin_pages(client: TestClient, rt: Runtime, workspace: Workspace) -> None:
    agent = add_user(rt, workspace, Role.AGENT)
    sign_in(client, workspace.owner_email, workspace.password)
    home = client.get("/", headers=EN).text
    for link in ("/ui/admin/teams", "/ui/admin/canned", "/ui/contacts"):
        assert f'href="{link}"' in home
    assert "Saved replies for the whole team" in client.get("/ui/admin/canned", headers=EN).text
    assert client.get("/ui/admin/teams", headers=EN).status_code == 200

    sign_in(client, agent.email)
    assert 'href="/ui/contacts"' in client.get("/", headers=EN).text  # contacts are for everyone
    for page in ("/ui/admin/teams", "/ui/admin/canned"):
        denied = client.get(page, headers=EN)
        assert denied.status_code == 403
        assert "Only owners and admins can open this page" in denied.text


def test_a_contact_page_opens_its_contact_and_hides_other_workspaces(
    client: TestClient, rt: Runtime, workspace: Workspace
) -> None:
    mine = contacts.create_contact(rt, workspace.owner, {"name": "Carla Conti", "phone": "+393331230000"})
    other_ws = new_workspace(rt)
    theirs = contacts.create_contact(rt, other_ws.owner, {"name": "Segreto", "phone": "+393331239999"})
    sign_in(client, workspace.owner_email, workspace.password)

    page = client.get(f"/ui/contacts/{mine.id}", headers=EN)
    assert page.status_code == 200
    assert boot_data(page.text)["open_id"] == mine.id
    for missing in (theirs.id, 0, 10**30):
        resp = client.get(f"/ui/contacts/{missing}", headers=EN)
        assert resp.status_code == 404, missing
        assert "Segreto" not in resp.text
