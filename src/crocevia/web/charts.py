"""Charts drawn on the server as inline SVG: no script, no CDN, readable without JS and by screen
readers (each chart has a title, and each bar a <title> with its exact value).

Only presentation attributes and classes are used (never style="..."), so the page's CSP holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

LABEL_WIDTH = 170
BAR_HEIGHT = 18
GAP = 8
WIDTH = 640


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str = ""  # what to print next to the bar (default: the value)
    series: int = 0  # 0, 1, 2...: the colour class


def _num(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def hbar(bars: Sequence[Bar], *, title: str, testid: str, legend: Sequence[str] = ()) -> Markup:
    """Horizontal bars, one row per bar; a bar without a value is drawn as 'n/a' (no data ≠ zero)."""
    top = 22 if legend else 0
    height = top + len(bars) * (BAR_HEIGHT + GAP) + GAP
    peak = max([b.value for b in bars if b.value is not None] + [0.0]) or 1.0
    span = WIDTH - LABEL_WIDTH - 70
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
             f'preserveAspectRatio="xMinYMin meet" data-testid="{escape(testid)}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i, name in enumerate(legend):
        x = LABEL_WIDTH + i * 150
        parts.append(f'<rect class="series-{i}" x="{x}" y="4" width="12" height="12" rx="2"/>'
                     f'<text class="chart-legend" x="{x + 18}" y="14">{escape(name)}</text>')
    for i, b in enumerate(bars):
        y = top + GAP + i * (BAR_HEIGHT + GAP)
        shown = b.text or ("n/a" if b.value is None else _num(b.value))
        parts.append(f'<g class="chart-row" data-label="{escape(b.label)}" data-value="'
                     f'{"" if b.value is None else _num(b.value)}">')
        parts.append(f"<title>{escape(b.label)}: {escape(shown)}</title>")
        parts.append(f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{y + 13}" text-anchor="end">'
                     f"{escape(b.label[:26])}</text>")
        w = 0.0 if b.value is None else max(1.0, span * b.value / peak) if b.value > 0 else 0.0
        parts.append(f'<rect class="series-{b.series}" x="{LABEL_WIDTH}" y="{y}" width="{w:.1f}" '
                     f'height="{BAR_HEIGHT}" rx="3"/>')
        parts.append(f'<text class="chart-value" x="{LABEL_WIDTH + w + 6:.1f}" y="{y + 13}">{escape(shown)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def columns(days: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str,
            testid: str) -> Markup:
    """Grouped columns per day (e.g. messages in and out), with a legend and the peak on the axis."""
    height, top, bottom, left = 220, 26, 34, 44
    n = max(1, len(days))
    group = (WIDTH - left - 8) / n
    per = max(1.0, (group - 4) / max(1, len(series)))
    peak = max([v for _, values in series for v in values] + [0.0]) or 1.0
    plot = height - top - bottom
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
             f'preserveAspectRatio="xMinYMin meet" data-testid="{escape(testid)}" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line class="chart-axis" x1="{left}" y1="{top + plot}" x2="{WIDTH - 4}" y2="{top + plot}"/>',
             f'<text class="chart-label" x="{left - 6}" y="{top + 4}" text-anchor="end">{_num(peak)}</text>',
             f'<text class="chart-label" x="{left - 6}" y="{top + plot}" text-anchor="end">0</text>']
    for i, (name, _) in enumerate(series):
        x = left + i * 150
        parts.append(f'<rect class="series-{i}" x="{x}" y="4" width="12" height="12" rx="2"/>'
                     f'<text class="chart-legend" x="{x + 18}" y="14">{escape(name)}</text>')
    label_every = max(1, n // 10)
    for d, day in enumerate(days):
        gx = left + d * group + 2
        for s, (name, values) in enumerate(series):
            v = values[d]
            h = plot * v / peak
            parts.append(f'<rect class="series-{s}" x="{gx + s * per:.1f}" y="{top + plot - h:.1f}" '
                         f'width="{max(1.0, per - 1):.1f}" height="{h:.1f}"><title>{escape(day)} · {escape(name)}: '
                         f"{_num(v)}</title></rect>")
        if d % label_every == 0:
            parts.append(f'<text class="chart-label" x="{gx:.1f}" y="{height - 12}">{escape(day[5:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
