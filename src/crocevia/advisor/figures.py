"""Public figures about chat apps (global MAU, use per country, age bands, business features), each with
its source and date, loaded from CSV and validated.

The shipped copy lives in ``advisor/data`` (see its SOURCES.md). An admin may replace one data set for
a workspace by uploading a CSV with the same columns; it goes through the same validation.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path

from crocevia.errors import ValidationFailed

DATA_DIR = Path(__file__).parent / "data"
DATASETS = ("global_mau", "country_penetration", "age_bands", "business_features")
MAX_CSV_BYTES = 1_000_000
MAX_ROWS = 5000

COLUMNS: dict[str, tuple[str, ...]] = {
    "global_mau": ("app", "mau_millions", "as_of", "source", "metric", "estimate", "note"),
    "country_penetration": ("country_iso2", "app", "share_pct", "as_of", "source", "metric", "estimate", "note"),
    "age_bands": ("app", "region", "age_band", "share_pct", "as_of", "source", "metric", "estimate", "note"),
    "business_features": ("app", "official_business_api", "api_name", "payments_in_chat", "payments_detail", "bots",
                          "conversation_rules", "source", "note"),
}
# Columns a CSV may lack (older exports): they read as empty.
OPTIONAL_COLUMNS = {"business_features": ("business_initiated",)}

_AS_OF = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?|-Q([1-4]))?$")
_BAND = re.compile(r"^(\d{1,3})(?:-(\d{1,3})|\+)(?:\s*\((\w+)\))?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SOURCE_ROW = re.compile(r"^\|\s*(S\d+)\s*\|\s*(.*?)\s*\|\s*(.*?)\s*\|\s*$")
# Feature cells say more than yes/no ("yes (IN, BR)", "keyword/auto-reply only"); this is the gist.
FEATURE_LEVELS = ("yes", "templates", "partial", "no", "unknown")


def parse_as_of(text: str) -> date | None:
    """'2024', '2024-01', '2024-01-31', '2024-Q3' → the first day of the period; '' → None."""
    text = text.strip()
    if not text:
        return None
    m = _AS_OF.match(text)
    if not m:
        raise ValueError(f"date {text!r} is not YYYY, YYYY-MM, YYYY-MM-DD or YYYY-Qn")
    year, month, day, quarter = m.groups()
    if quarter:
        return date(int(year), 3 * int(quarter) - 2, 1)
    return date(int(year), int(month or 1), int(day or 1))


def parse_band(text: str) -> tuple[int, int, str]:
    """'18-24' → (18, 24, ''); '65+' → (65, 120, ''); '18-24 (male)' → (18, 24, 'male')."""
    m = _BAND.match(text.strip())
    if not m:
        raise ValueError(f"age band {text!r} is not like 18-24, 65+ or 18-24 (male)")
    low = int(m.group(1))
    high = int(m.group(2)) if m.group(2) else 120
    if high < low:
        raise ValueError(f"age band {text!r} ends before it starts")
    return low, high, (m.group(3) or "").lower()


def feature_level(text: str) -> str:
    t = text.strip().lower()
    if t.startswith("yes"):
        return "yes"
    if t.startswith("templates"):
        return "templates"
    if t in ("", "not_found", "not_researched", "not_verified"):
        return "unknown"
    if t.startswith("no"):
        return "no"
    return "partial"


def canonical_app(name: str) -> str:
    """'SMS (unique mobile subscribers)' → 'SMS': MAU rows qualify the name; other files do not."""
    base = re.sub(r"\s*\((unique mobile subscribers)\)$", "", name.strip())
    return base


@dataclass(frozen=True)
class Sourced:
    source: str
    as_of: date | None
    as_of_text: str
    metric: str
    estimate: bool
    note: str


@dataclass(frozen=True)
class MauFigure(Sourced):
    app: str = ""
    mau_millions: float = 0.0


@dataclass(frozen=True)
class Penetration(Sourced):
    country: str = ""
    app: str = ""
    share_pct: float | None = None


@dataclass(frozen=True)
class AgeFigure(Sourced):
    app: str = ""
    region: str = ""
    band: str = ""
    age_low: int = 0
    age_high: int = 0
    qualifier: str = ""
    share_pct: float | None = None


@dataclass(frozen=True)
class Features:
    app: str
    official_api: str
    api_name: str
    payments: str
    payments_detail: str
    bots: str
    conversation_rules: str
    business_initiated: str
    source: str
    note: str


@dataclass(frozen=True)
class Figures:
    mau: tuple[MauFigure, ...]
    penetration: tuple[Penetration, ...]
    ages: tuple[AgeFigure, ...]
    features: dict[str, Features]
    sources: dict[str, str]
    # Which data sets came from an admin's upload instead of the shipped copy.
    replaced: frozenset[str] = field(default_factory=frozenset)

    def source_titles(self, ids: str) -> list[dict[str, str]]:
        """'S100;S101' → [{id, title}], unknown ids keep their text (an upload may cite a URL)."""
        return [{"id": sid, "title": self.sources.get(sid, sid)} for sid in re.split(r"[;,]\s*", ids) if sid]

    def countries(self) -> set[str]:
        return {p.country for p in self.penetration} | {a.region for a in self.ages if _COUNTRY.match(a.region)}

    def with_dataset(self, name: str, text: str) -> Figures:
        """These figures with one data set replaced by an uploaded CSV (validated)."""
        parsed = parse_dataset(name, text)
        key = {"global_mau": "mau", "country_penetration": "penetration", "age_bands": "ages",
               "business_features": "features"}[name]
        return replace(self, **{key: parsed}, replaced=self.replaced | {name})  # type: ignore[arg-type]


def _fail(name: str, line: int, column: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{name}.csv line {line}, column {column}: {message}", field=column,
                            dataset=name, line=line)


def _rows(name: str, text: str) -> list[tuple[int, dict[str, str]]]:
    if name not in COLUMNS:
        raise ValidationFailed(f"unknown data set {name!r}; one of {', '.join(DATASETS)}", field="dataset")
    if len(text.encode()) > MAX_CSV_BYTES:
        raise ValidationFailed(f"{name}.csv is larger than {MAX_CSV_BYTES} bytes", field="csv")
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple(h.strip() for h in (reader.fieldnames or ()))
    missing = [c for c in COLUMNS[name] if c not in header]
    if missing:
        raise ValidationFailed(f"{name}.csv lacks the column(s) {', '.join(missing)}", field="csv", dataset=name)
    out = []
    for row in reader:
        if reader.line_num > MAX_ROWS + 1:
            raise ValidationFailed(f"{name}.csv has more than {MAX_ROWS} rows", field="csv", dataset=name)
        if None in row:
            raise _fail(name, reader.line_num, "csv", "more cells than columns (a comma outside quotes?)")
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k}
        for col in OPTIONAL_COLUMNS.get(name, ()):
            clean.setdefault(col, "")
        out.append((reader.line_num, clean))
    if not out:
        raise ValidationFailed(f"{name}.csv has no rows", field="csv", dataset=name)
    return out


def _sourced(name: str, line: int, row: dict[str, str], *, needs_figure: bool) -> dict[str, object]:
    try:
        as_of = parse_as_of(row["as_of"])
    except ValueError as exc:
        raise _fail(name, line, "as_of", str(exc)) from exc
    if needs_figure and as_of is None:
        raise _fail(name, line, "as_of", "a figure needs the date it refers to")
    if needs_figure and not row["source"]:
        raise _fail(name, line, "source", "a figure needs a source")
    if row["estimate"] not in ("yes", "no", ""):
        raise _fail(name, line, "estimate", "must be yes or no")
    return {"source": row["source"], "as_of": as_of, "as_of_text": row["as_of"], "metric": row["metric"],
            "estimate": row["estimate"] == "yes", "note": row["note"]}


def _number(name: str, line: int, column: str, text: str, *, low: float, high: float) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise _fail(name, line, column, f"{text!r} is not a number") from exc
    if not low <= value <= high:
        raise _fail(name, line, column, f"{value:g} is outside {low:g}..{high:g}")
    return value


def _parse_mau(name: str, text: str) -> tuple[MauFigure, ...]:
    out = []
    for line, row in _rows(name, text):
        if not row["app"]:
            raise _fail(name, line, "app", "empty")
        value = _number(name, line, "mau_millions", row["mau_millions"], low=0.001, high=20_000)
        if value is None:
            raise _fail(name, line, "mau_millions", "empty")
        out.append(MauFigure(**_sourced(name, line, row, needs_figure=True),  # type: ignore[arg-type]
                             app=canonical_app(row["app"]), mau_millions=value))
    return tuple(out)


def _parse_penetration(name: str, text: str) -> tuple[Penetration, ...]:
    out = []
    for line, row in _rows(name, text):
        country = row["country_iso2"].upper()
        if not _COUNTRY.match(country):
            raise _fail(name, line, "country_iso2", f"{row['country_iso2']!r} is not an ISO 3166 alpha-2 code")
        if not row["app"]:
            raise _fail(name, line, "app", "empty")
        share = _number(name, line, "share_pct", row["share_pct"], low=0, high=100)
        if share is None and not row["note"]:
            raise _fail(name, line, "note", "a row without a figure must say why in its note")
        out.append(Penetration(**_sourced(name, line, row, needs_figure=share is not None),  # type: ignore[arg-type]
                               country=country, app=canonical_app(row["app"]), share_pct=share))
    return tuple(out)


def _parse_ages(name: str, text: str) -> tuple[AgeFigure, ...]:
    out = []
    for line, row in _rows(name, text):
        try:
            low, high, qualifier = parse_band(row["age_band"])
        except ValueError as exc:
            raise _fail(name, line, "age_band", str(exc)) from exc
        share = _number(name, line, "share_pct", row["share_pct"], low=0, high=100)
        region = row["region"] if row["region"] == "Global" else row["region"].upper()
        if region != "Global" and not _COUNTRY.match(region):
            raise _fail(name, line, "region", f"{row['region']!r} is neither Global nor a country code")
        out.append(AgeFigure(**_sourced(name, line, row, needs_figure=share is not None),  # type: ignore[arg-type]
                             app=canonical_app(row["app"]), region=region, band=row["age_band"], age_low=low,
                             age_high=high, qualifier=qualifier, share_pct=share))
    return tuple(out)


def _parse_features(name: str, text: str) -> dict[str, Features]:
    out: dict[str, Features] = {}
    for line, row in _rows(name, text):
        app = canonical_app(row["app"])
        if not app:
            raise _fail(name, line, "app", "empty")
        if app in out:
            raise _fail(name, line, "app", f"{app} is listed twice")
        out[app] = Features(app=app, official_api=feature_level(row["official_business_api"]),
                            api_name=row["api_name"], payments=feature_level(row["payments_in_chat"]),
                            payments_detail=row["payments_detail"], bots=feature_level(row["bots"]),
                            conversation_rules=row["conversation_rules"],
                            business_initiated=feature_level(row["business_initiated"]),
                            source=row["source"], note=row["note"])
    return out


_PARSERS = {"global_mau": _parse_mau, "country_penetration": _parse_penetration, "age_bands": _parse_ages,
            "business_features": _parse_features}


def parse_dataset(name: str, text: str) -> object:
    """Validate and parse one data set; a bad cell raises ValidationFailed naming file, line and column."""
    if name not in _PARSERS:
        raise ValidationFailed(f"unknown data set {name!r}; one of {', '.join(DATASETS)}", field="dataset")
    return _PARSERS[name](name, text)


def parse_sources(markdown: str) -> dict[str, str]:
    """Source id → what it is, from the tables in SOURCES.md."""
    found = {}
    for line in markdown.splitlines():
        m = _SOURCE_ROW.match(line.strip())
        if m:
            found[m.group(1)] = m.group(2)
    return found


def shipped_text(name: str) -> str:
    if name not in DATASETS:
        raise ValidationFailed(f"unknown data set {name!r}; one of {', '.join(DATASETS)}", field="dataset")
    return (DATA_DIR / f"{name}.csv").read_text(encoding="utf-8")


@cache
def shipped() -> Figures:
    """The figures shipped with Crocevia (parsed once per process)."""
    return Figures(
        mau=_parse_mau("global_mau", shipped_text("global_mau")),
        penetration=_parse_penetration("country_penetration", shipped_text("country_penetration")),
        ages=_parse_ages("age_bands", shipped_text("age_bands")),
        features=_parse_features("business_features", shipped_text("business_features")),
        sources=parse_sources((DATA_DIR / "SOURCES.md").read_text(encoding="utf-8")),
    )
