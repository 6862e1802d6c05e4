"""The ticket report as bar charts: plain data the template draws as inline SVG (no script, no CDN).

Each chart is a list of bars (a label, a value, the text shown at the end of the bar); the bar's
length is its value over the chart's largest, so charts of minutes and of percentages read alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crocevia.services.ticket_texts import STATUSES


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    tone: str = ""  # "" | "ok" | "warn" | "danger": the bar's colour class


@dataclass(frozen=True)
class Chart:
    kind: str  # the template names it in the reader's language
    bars: list[Bar] = field(default_factory=list)

    @property
    def top(self) -> float:
        return max([b.value for b in self.bars] + [1.0])


def _duration(minutes: float) -> str:
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def _tone(pct: float) -> str:
    return "ok" if pct >= 90 else "warn" if pct >= 70 else "danger"


def charts(report: dict[str, Any], *, team_names: dict[int, str], channel_names: dict[int, str],
           none_label: str) -> list[Chart]:
    out = [Chart("backlog", [Bar(s, float(report["backlog"].get(s, 0)), str(report["backlog"].get(s, 0)))
                             for s in STATUSES if s != "closed"])]
    dims: list[tuple[str, str, dict[int, str]]] = [("team", "by_team", team_names),
                                                   ("channel", "by_channel", channel_names)]
    for dim, key, names in dims:
        def name(row: dict[str, Any], names: dict[int, str] = names, dim: str = dim) -> str:
            ident = row[f"{dim}_id"]
            return none_label if ident is None else names.get(ident, f"#{ident}")

        rows = report[key]
        metric: Callable[[dict[str, Any]], float | None]
        compliance = [Bar(name(r), pct, f"{pct:.0f}%", _tone(pct)) for r in rows
                      if (pct := r["sla_first_response"]["compliance_pct"]) is not None]
        out.append(Chart(f"sla_{dim}", compliance))
        for kind, metric in (("first_response", lambda r: r["median_first_response_minutes"]),
                             ("resolution", lambda r: r["median_resolution_minutes"])):
            bars = [Bar(name(r), m, _duration(m)) for r in rows if (m := metric(r)) is not None]
            out.append(Chart(f"{kind}_{dim}", bars))
    return out
