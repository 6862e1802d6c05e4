"""`crocevia advisor`: rank chat apps for an audience, as a table with sources (or JSON)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crocevia.advisor.figures import shipped
from crocevia.advisor.scoring import GOALS, advice_dict, make_audience, recommend


def register(sub: Any) -> None:
    p = sub.add_parser("advisor", help="which chat apps reach an audience (public figures with sources)",
                       description="Rank chat apps for an audience from the public figures shipped with Crocevia "
                                   "and, with --workspace, the workspace's own contacts.")
    p.add_argument("--country", action="append", default=[],
                   help="ISO country code, optionally weighted: IT or IT:0.7 (repeat for several)")
    p.add_argument("--age", help="age range, e.g. 18-34 or 65+")
    p.add_argument("--interest", action="append", default=[], help="interest, matched to contact tags (repeatable)")
    p.add_argument("--goal", default="support", choices=GOALS, help="what the business wants (default: support)")
    p.add_argument("--workspace", help="also use this workspace's contacts (slug); needs the database")
    p.add_argument("--lang", default="en", choices=["en", "it"], help="language of the reasons")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(handler=cmd_advisor)


def _workspace_advice(args: argparse.Namespace, audience: Any) -> dict[str, Any]:
    from sqlalchemy import select

    from crocevia.errors import NotFound
    from crocevia.runtime import Runtime
    from crocevia.services import advisor
    from crocevia.services.actor import Actor
    from crocevia.settings import Settings
    from crocevia.storage.tables import Workspace

    rt = Runtime.from_settings(Settings())
    try:
        with rt.db.read() as s:
            ws = s.scalar(select(Workspace).where(Workspace.slug == args.workspace))
        if ws is None:
            raise NotFound(f"no workspace {args.workspace!r}", field="workspace")
        return advisor.advise(rt, Actor.system(ws.id), audience, lang=args.lang)
    finally:
        rt.close()


def cmd_advisor(args: argparse.Namespace) -> int:
    audience = make_audience(countries=args.country, age=args.age, interests=args.interest, goal=args.goal)
    if args.workspace:
        result = _workspace_advice(args, audience)
    else:
        figures = shipped()
        result = advice_dict(recommend(figures, audience), figures, args.lang)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(format_table(result))
    return 0 if result["ranking"] else 1


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def format_table(result: dict[str, Any]) -> str:
    aud = result["audience"]
    who = ", ".join(f"{c['country']}" + (f" ×{c['weight']:g}" if c["weight"] != 1 else "") for c in aud["countries"])
    ages = "" if aud["age_min"] is None and aud["age_max"] is None else \
        f" · age {aud['age_min'] if aud['age_min'] is not None else 0}-{aud['age_max'] or ''}".rstrip("-")
    lines = [f"Audience: {who or 'any country'}{ages} · goal {aud['goal']}"
             + (f" · interests {', '.join(aud['interests'])}" if aud["interests"] else "")]
    if result["own_sample"]:
        lines.append(f"Own contacts matching: {result['own_sample']}")
    lines.append("")
    header = f"{'#':>2}  {'App':<20} {'Score':>6} {'Reach%':>7} {'Own%':>6} {'Fit':>5}  {'API':<8} {'Pay':<8} " \
             f"{'Bots':<8} {'Starts':<10} Figures used (country share, date, source)"
    lines += [header, "-" * len(header)]
    used: dict[str, str] = {}
    for r in result["ranking"]:
        f = r["features"] or {}
        figs = "; ".join(
            f"{x['country']} {x['share_pct']:g}%" + (f" aged {x['age_band']}" if x["age_band"] else "")
            + f" ({x['as_of']}, {x['source']}{', OLD' if x['stale'] else ''})" for x in r["figures"])
        if r["missing_countries"]:
            figs += ("; " if figs else "") + "no figure: " + ", ".join(r["missing_countries"])
        for x in r["figures"]:
            used[x["source"]] = x["source_title"]
        lines.append(f"{r['rank']:>2}  {r['app'][:20]:<20} {r['score']:>6.1f} {r['public_reach_pct']:>7.1f} "
                     f"{_fmt(r['own_share_pct']):>6} {r['fit']:>5.2f}  {f.get('official_api', '?'):<8} "
                     f"{f.get('payments', '?'):<8} {f.get('bots', '?'):<8} {f.get('business_initiated', '?'):<10} "
                     f"{figs}")
    if not result["ranking"]:
        lines.append("(nothing to rank: no figures for this audience)")
    if result["warnings"]:
        lines += ["", "Warnings:"] + [f"  - {w['text']}" for w in result["warnings"]]
    if used:
        lines += ["", "Sources:"] + [f"  {sid:<5} {title}" for sid, title in sorted(used.items(),
                                                                                 key=lambda kv: int(kv[0][1:])
                                                                                 if kv[0][1:].isdigit() else 0)]
    lines += ["", "Score = reach% × fit for the goal. Reach% = weighted share of people using the app in the "
                  "given countries (countries without a figure add nothing). Figures: advisor/data/SOURCES.md."]
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="crocevia")
    register(parser.add_subparsers(dest="command"))
    ns = parser.parse_args()
    sys.exit(ns.handler(ns))
