"""The channel advisor: shipped figures load and validate; the ranking's arithmetic can be redone by hand;
the workspace's own contacts are blended in; CLI and API show sources; an admin can replace a data set."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from crocevia.advisor import figures as figs
from crocevia.advisor.scoring import make_audience, recommend
from crocevia.app import build_app
from crocevia.cli import main
from crocevia.clock import FakeClock
from crocevia.domain.enums import Role
from crocevia.errors import ValidationFailed
from crocevia.runtime import Runtime
from crocevia.services import accounts, advisor
from crocevia.services.actor import Actor
from tests.advisor.seed import add_channel, add_contact, add_conversation, add_message
from tests.conftest import Workspace, api_token

TODAY = datetime(2026, 6, 1, tzinfo=UTC)
PEN_HEADER = "country_iso2,app,share_pct,as_of,source,metric,estimate,note\n"
FEAT_HEADER = ("app,official_business_api,api_name,payments_in_chat,payments_detail,bots,conversation_rules,"
               "business_initiated,source,note\n")


def tiny_figures() -> figs.Figures:
    """Two made-up countries and apps whose expected ranking is worked out in the test."""
    base = figs.shipped()
    pen = PEN_HEADER + "AA,Xapp,80,2025-01,S01,m,no,\nBB,Xapp,40,2025-01,S01,m,no,\nAA,Yapp,50,2025-01,S01,m,no,\n"
    feat = FEAT_HEADER + "Xapp,yes,X API,no,,yes,,yes,S01,\nYapp,yes,Y API,yes,cards,no,,no,S01,\n"
    return base.with_dataset("country_penetration", pen).with_dataset("business_features", feat)


def test_the_shipped_figures_load_and_every_figure_names_a_known_source() -> None:
    f = figs.shipped()
    assert len(f.mau) == 25 and len(f.penetration) == 103 and len(f.ages) == 52 and len(f.features) == 17
    cited = {p.source for p in f.penetration if p.share_pct is not None} | {m.source for m in f.mau}
    assert cited <= set(f.sources), cited - set(f.sources)
    assert f.sources["S49"].startswith("Statista chart")
    # Rows without a figure stay without one (with their reason), never a made-up number.
    us_messenger = [p for p in f.penetration if p.country == "US" and p.app == "Facebook Messenger"]
    assert us_messenger[0].share_pct is None and "No US Messenger" in us_messenger[0].note


@pytest.mark.parametrize(("dataset", "csv_text", "column", "line"), [
    ("country_penetration", PEN_HEADER + "ITA,WhatsApp,90,2024-01,S30,m,no,\n", "country_iso2", 2),
    ("country_penetration", PEN_HEADER + "IT,WhatsApp,90,2024-01,S30,m,no,\nIT,Telegram,120,2024,S30,m,no,\n",
     "share_pct", 3),
    ("country_penetration", PEN_HEADER + "IT,WhatsApp,90,Jan 2024,S30,m,no,\n", "as_of", 2),
    ("country_penetration", PEN_HEADER + "IT,WhatsApp,90,2024-01,,m,no,\n", "source", 2),
    ("country_penetration", PEN_HEADER + "IT,WhatsApp,,,,none,no,\n", "note", 2),
    ("age_bands", "app,region,age_band,share_pct,as_of,source,metric,estimate,note\nX,IT,young,5,2024,S1,m,no,\n",
     "age_band", 2),
    ("global_mau", "app,mau_millions,as_of,source,metric,estimate,note\nX,lots,2024,S1,MAU,no,\n",
     "mau_millions", 2),
])
def test_a_bad_cell_is_refused_naming_file_line_and_column(dataset: str, csv_text: str, column: str,
                                                           line: int) -> None:
    with pytest.raises(ValidationFailed) as exc:
        figs.parse_dataset(dataset, csv_text)
    assert exc.value.field == column
    assert exc.value.extra["line"] == line
    assert f"{dataset}.csv line {line}" in exc.value.detail


def test_a_csv_missing_a_column_is_refused() -> None:
    with pytest.raises(ValidationFailed) as exc:
        figs.parse_dataset("country_penetration", "country_iso2,app,share_pct\nIT,WhatsApp,90\n")
    assert "as_of" in exc.value.detail


def test_reach_is_a_weighted_lower_bound_and_the_goal_changes_the_order() -> None:
    f = tiny_figures()
    # Support: X = (3×80 + 1×40)/4 = 70; Y = 3×50/4 = 37.5 with BB missing.
    support = recommend(f, make_audience(countries=["AA:3", "BB:1"], goal="support"), today=TODAY.date())
    assert [(a.app, a.score) for a in support.ranked] == [("Xapp", 70.0), ("Yapp", 37.5)]
    y = support.ranked[1]
    assert (y.coverage_pct, y.missing_countries) == (75.0, ["BB"])
    assert any(r.code == "no_figure" and r.params["country"] == "BB" for r in y.reasons)
    # Sales weighs in-chat payments: X has none (fit 0.6 → 42), Y has them (fit 1.0 → 37.5): X still first,
    # but with AA alone Y (50) beats X's 80 × 0.6 = 48.
    sales = recommend(f, make_audience(countries=["AA"], goal="sales"), today=TODAY.date())
    assert [(a.app, round(a.score, 2)) for a in sales.ranked] == [("Yapp", 50.0), ("Xapp", 48.0)]
    # Promotion: only X lets the business start (1.0); Y does not (0.5): 80 vs 25.
    promo = recommend(f, make_audience(countries=["AA"], goal="promotion"), today=TODAY.date())
    assert [(a.app, a.score) for a in promo.ranked] == [("Xapp", 80.0), ("Yapp", 25.0)]


def test_china_ranks_wechat_first_and_an_unknown_country_says_so() -> None:
    f = figs.shipped()
    cn = recommend(f, make_audience(countries=["CN"]), today=TODAY.date())
    assert cn.ranked[0].app == "WeChat/Weixin" and cn.ranked[0].figures[0].source == "S49"
    zz = recommend(f, make_audience(countries=["ZZ"]), today=TODAY.date())
    assert zz.ranked == [] and zz.no_data_countries == ["ZZ"]
    assert [w.text("it") for w in zz.warnings] == ["nessun dato pubblico per ZZ: la classifica non può usarlo"]


def test_italy_18_34_uses_the_age_group_figure_and_flags_old_data() -> None:
    advice = recommend(figs.shipped(), make_audience(countries=["IT"], age="18-34"), today=TODAY.date())
    top = advice.ranked[0]
    # Censis (S89): 93.4% of Italians aged 14-29 use WhatsApp, more specific than the all-ages 90% (S30).
    assert (top.app, top.public_reach_pct, top.figures[0].age_band, top.figures[0].source) == (
        "WhatsApp", 93.4, "14-29", "S89")
    assert top.figures[0].stale  # December 2022 is more than three years before June 2026
    messenger = next(a for a in advice.ranked if a.app == "Facebook Messenger")
    assert (messenger.public_reach_pct, messenger.figures[0].source, messenger.figures[0].stale) == (50.0, "S30", False)


def test_cli_prints_a_ranked_table_with_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["advisor", "--country", "IT", "--age", "18-34"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line[:3].strip().isdigit()]
    assert [r[1] for r in rows[:3]] == ["WhatsApp", "Instagram", "TikTok"]
    assert "S89   ansa.it (Censis, 16 Dec 2022)" in out
    assert main(["advisor", "--country", "CN"]) == 0
    first = next(line for line in capsys.readouterr().out.splitlines() if line.strip().startswith("1 "))
    assert "WeChat/Weixin" in first
    assert main(["advisor", "--country", "ZZ"]) == 1
    assert "no public figures for ZZ" in capsys.readouterr().out
    assert main(["advisor", "--country", "ITALY"]) == 2
    assert "country" in capsys.readouterr().err


# -- with the workspace's own contacts (real database) ----------------------------------------------------
@pytest.fixture
def http(rt: Runtime) -> Iterator[TestClient]:
    with TestClient(build_app(rt.settings, runtime=rt, run_workers=False)) as c:
        yield c


def seed_own_audience(rt: Runtime, ws: Workspace) -> None:
    """10 Italians born in 2000 (26 in 2026): 4 on Telegram, 2 of them wrote in the last 90 days.
    Not matching IT 18-34: 3 Germans on Telegram, 2 Italians born 1960, 1 Italian of unknown age."""
    tg = add_channel(rt, ws.id, "Telegram bot", kind="telegram")
    for i in range(10):
        cid = add_contact(rt, ws.id, f"Giovane {i}", country="IT", birth_year=2000, tags=["moda"] if i < 5 else [],
                          on=(tg,) if i < 4 else ())
        if i < 2:
            conv = add_conversation(rt, ws.id, tg, cid, datetime(2026, 5, 1, tzinfo=UTC))
            add_message(rt, ws.id, conv, tg, datetime(2026, 5, 1, 10, tzinfo=UTC), "in")
    for i in range(3):
        add_contact(rt, ws.id, f"Deutsch {i}", country="DE", birth_year=2000, on=(tg,))
    for i in range(2):
        add_contact(rt, ws.id, f"Nonno {i}", country="IT", birth_year=1960, on=(tg,))
    add_contact(rt, ws.id, "Senza età", country="IT", on=(tg,))


def test_own_contacts_are_blended_with_the_public_figures(rt: Runtime, ws: Workspace) -> None:
    seed_own_audience(rt, ws)
    rt.clock = FakeClock(TODAY)
    result = advisor.advise(rt, ws.owner, make_audience(countries=["IT"], age="18-34"))
    assert result["own_sample"] == 10
    by_app = {r["app"]: r for r in result["ranking"]}
    tg = by_app["Telegram"]
    assert (tg["own_users"], tg["own_answered"], tg["own_share_pct"]) == (4, 2, 40.0)
    # (37.2 public + 40 own) / 2 = 38.6; WhatsApp (93.4 + 0) / 2 = 46.7; Instagram 80.9 / 2 = 40.45.
    assert tg["blended_reach_pct"] == 38.6
    assert [r["app"] for r in result["ranking"][:3]] == ["WhatsApp", "Instagram", "Telegram"]
    assert by_app["WhatsApp"]["blended_reach_pct"] == 46.7
    # Interests narrow the sample to the 5 tagged 'moda': 4 on Telegram → 80%.
    narrowed = advisor.advise(rt, ws.owner, make_audience(countries=["IT"], age="18-34", interests=["Moda"]))
    assert narrowed["own_sample"] == 5
    assert {r["app"]: r for r in narrowed["ranking"]}["Telegram"]["own_share_pct"] == 80.0


def test_api_ranks_with_sources_and_speaks_italian(rt: Runtime, ws: Workspace, http: TestClient) -> None:
    headers = {"Authorization": f"Bearer {api_token(rt, ws.owner)}"}
    resp = http.get("/api/v1/advisor", params={"country": ["CN"], "lang": "it"}, headers=headers)
    assert resp.status_code == 200, resp.text
    top = resp.json()["ranking"][0]
    assert top["app"] == "WeChat/Weixin"
    assert top["figures"][0]["source_title"].startswith("Statista chart")
    assert top["global_mau"]["millions"] == 1414 and top["global_mau"]["source"] == "S09"
    assert "87.3% in CN" in top["reasons"][0]["text"] and "fonte S49" in top["reasons"][0]["text"]
    bad = http.get("/api/v1/advisor", params={"country": ["IT"], "goal": "world domination"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["field"] == "goal"
    bad = http.get("/api/v1/advisor", params={"age": "old"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["field"] == "age"


def test_an_admin_replaces_a_data_set_and_others_may_not(rt: Runtime, ws: Workspace, http: TestClient) -> None:
    owner = {"Authorization": f"Bearer {api_token(rt, ws.owner)}"}
    agent_user = accounts.create_user(rt, ws.owner, email="a@ds.test", name="Agente", role=Role.AGENT,
                                      password="password-123")
    agent = {"Authorization": f"Bearer {api_token(rt, Actor(ws.id, agent_user.id, Role.AGENT))}"}
    new_csv = PEN_HEADER + "IT,Telegram,99,2026-05,https://example.org/survey,survey,no,Our own survey\n"
    resp = http.put("/api/v1/advisor/datasets", json={"name": "country_penetration", "csv": new_csv}, headers=agent)
    assert resp.status_code == 403
    bad = http.put("/api/v1/advisor/datasets", headers=owner,
                   json={"name": "country_penetration", "csv": PEN_HEADER + "IT,Telegram,199,2026,S1,m,no,\n"})
    assert bad.status_code == 400 and bad.json()["field"] == "share_pct" and "line 2" in bad.json()["detail"]
    resp = http.put("/api/v1/advisor/datasets", json={"name": "country_penetration", "csv": new_csv}, headers=owner)
    assert resp.status_code == 200 and resp.json()["rows"] == 1

    ranked = http.get("/api/v1/advisor", params={"country": "IT", "own": "false"}, headers=owner).json()
    assert [r["app"] for r in ranked["ranking"]] == ["Telegram"]
    assert ranked["ranking"][0]["figures"][0]["source"] == "https://example.org/survey"
    assert ranked["replaced_datasets"] == ["country_penetration"]
    listing = http.get("/api/v1/advisor/datasets", headers=owner).json()["datasets"]
    assert {d["name"]: d["origin"] for d in listing}["country_penetration"] == "uploaded"
    exported = http.get("/api/v1/advisor/datasets/export.csv", params={"name": "country_penetration"}, headers=owner)
    assert exported.text == new_csv

    assert http.delete("/api/v1/advisor/datasets", params={"name": "country_penetration"},
                       headers=owner).status_code == 204
    again = http.get("/api/v1/advisor", params={"country": "IT", "own": "false"}, headers=owner).json()
    assert again["ranking"][0]["app"] == "WhatsApp" and again["replaced_datasets"] == []
