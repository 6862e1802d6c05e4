"""Ranking chat apps for an audience: public figures combined with the business's own contacts.

The arithmetic is deliberately simple so a person can redo it by hand:

* **public reach** of an app = Σ weight(country) × share(country) / Σ weight(all countries), where
  share is the most specific figure found (an age-group figure overlapping the asked ages, else the
  most recent all-ages figure). A country without a figure adds nothing and is named as missing:
  the result is a lower bound, never a guess.
* **own share** = contacts matching the audience that have an identity on the app / matching contacts.
* **blended reach** = public reach when fewer than ``MIN_OWN_SAMPLE`` contacts match, else
  (public reach + own share) / 2.
* **fit** for the goal = api × goal factor (tables below), from the business features.
* **score** = blended reach × fit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crocevia.advisor.figures import AgeFigure, Features, Figures, MauFigure, Penetration
from crocevia.advisor.reasons import Reason
from crocevia.errors import ValidationFailed

GOALS = ("sales", "promotion", "support", "automation")
STALE_AFTER_DAYS = 3 * 365
MIN_OWN_SAMPLE = 10
OWN_WEIGHT = 0.5
ACTIVE_DAYS = 90
API_FACTOR = {"yes": 1.0, "templates": 1.0, "partial": 0.5, "unknown": 0.2, "no": 0.2}
GOAL_FACTOR: dict[str, tuple[str, dict[str, float]]] = {
    # goal -> (feature it depends on, level -> factor)
    "sales": ("payments", {"yes": 1.0, "partial": 0.8, "templates": 0.8, "no": 0.6, "unknown": 0.6}),
    "promotion": ("business_initiated", {"yes": 1.0, "templates": 0.9, "partial": 0.7, "unknown": 0.6, "no": 0.5}),
    "automation": ("bots", {"yes": 1.0, "partial": 0.7, "templates": 0.7, "unknown": 0.5, "no": 0.5}),
    "support": ("", {}),
}
# Crocevia's channel kinds and the app each one is in the public figures.
KIND_APP = {"whatsapp": "WhatsApp", "messenger": "Facebook Messenger", "instagram": "Instagram",
            "telegram": "Telegram", "wechat": "WeChat/Weixin", "qq": "QQ", "sms": "SMS"}
APP_KINDS: dict[str, list[str]] = {}
for _kind, _app in KIND_APP.items():
    APP_KINDS.setdefault(_app, []).append(_kind)


@dataclass(frozen=True)
class Audience:
    countries: tuple[tuple[str, float], ...] = ()
    age_min: int | None = None
    age_max: int | None = None
    interests: tuple[str, ...] = ()
    goal: str = "support"

    def to_dict(self) -> dict[str, Any]:
        return {"countries": [{"country": c, "weight": w} for c, w in self.countries], "age_min": self.age_min,
                "age_max": self.age_max, "interests": list(self.interests), "goal": self.goal}


def parse_countries(items: Iterable[str]) -> tuple[tuple[str, float], ...]:
    """'IT', 'IT:0.7', 'IT=70' → (('IT', 0.7), ...); weights need not add up to anything."""
    out: dict[str, float] = {}
    for raw in items:
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            code, _, weight_text = part.replace("=", ":").partition(":")
            code = code.strip().upper()
            if len(code) != 2 or not code.isalpha():
                raise ValidationFailed(f"{code!r} is not an ISO 3166 alpha-2 country code, e.g. IT", field="country")
            try:
                weight = float(weight_text) if weight_text.strip() else 1.0
            except ValueError as exc:
                raise ValidationFailed(f"weight {weight_text!r} of {code} is not a number", field="country") from exc
            if not 0 < weight <= 1000:
                raise ValidationFailed(f"weight of {code} must be above 0", field="country")
            out[code] = out.get(code, 0.0) + weight
    return tuple(out.items())


def parse_age(text: str | None) -> tuple[int | None, int | None]:
    """'18-34' → (18, 34); '65+' → (65, None); '' → (None, None)."""
    if not text or not text.strip():
        return None, None
    t = text.strip()
    try:
        if t.endswith("+"):
            low, high = int(t[:-1]), None
        else:
            a, _, b = t.partition("-")
            low, high = int(a), int(b)
    except ValueError as exc:
        raise ValidationFailed(f"age {text!r} must look like 18-34 or 65+", field="age") from exc
    if low < 0 or low > 120 or (high is not None and (high < low or high > 120)):
        raise ValidationFailed(f"age {text!r} is not a valid range", field="age")
    return low, high


def make_audience(*, countries: Iterable[str] = (), age: str | None = None, interests: Iterable[str] = (),
                  goal: str = "support") -> Audience:
    if goal not in GOALS:
        raise ValidationFailed(f"goal must be one of {', '.join(GOALS)}", field="goal")
    low, high = parse_age(age)
    tags = tuple(sorted({i.strip().lower() for raw in interests for i in raw.split(",") if i.strip()}))
    return Audience(countries=parse_countries(countries), age_min=low, age_max=high, interests=tags, goal=goal)


@dataclass(frozen=True)
class OwnApp:
    users: int
    answered: int


@dataclass(frozen=True)
class OwnAudience:
    """The business's contacts that match the audience, and which apps they are on."""

    sample: int
    apps: dict[str, OwnApp]


@dataclass
class CountryFigure:
    country: str
    weight: float
    share_pct: float
    metric: str
    as_of: str
    source: str
    source_title: str
    age_band: str
    stale: bool
    estimate: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AppAdvice:
    app: str
    score: float
    fit: float
    public_reach_pct: float
    coverage_pct: float
    blended_reach_pct: float
    figures: list[CountryFigure]
    missing_countries: list[str]
    own_share_pct: float | None
    own: OwnApp | None
    mau: MauFigure | None
    features: Features | None
    channel_kinds: list[str]
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class Advice:
    audience: Audience
    ranked: list[AppAdvice]
    no_data_countries: list[str]
    own_sample: int
    warnings: list[Reason]
    replaced: list[str]


def _overlap(lo: int, hi: int, age_min: int | None, age_max: int | None) -> int:
    a = age_min if age_min is not None else 0
    b = age_max if age_max is not None else 120
    return min(hi, b) - max(lo, a) + 1


def _is_stale(d: date | None, today: date) -> bool:
    return d is not None and (today - d).days > STALE_AFTER_DAYS


def _pick(country: str, app: str, figures: Figures, audience: Audience) -> Penetration | AgeFigure | None:
    """The most specific figure: an age-group figure for the asked ages, else the newest all-ages one."""
    if audience.age_min is not None or audience.age_max is not None:
        by_age = [a for a in figures.ages
                  if a.region == country and a.app == app and a.metric == "pct_of_age_group_using"
                  and not a.qualifier and a.share_pct is not None
                  and _overlap(a.age_low, a.age_high, audience.age_min, audience.age_max) > 0]
        if by_age:
            return max(by_age, key=lambda a: (_overlap(a.age_low, a.age_high, audience.age_min, audience.age_max),
                                              a.as_of or date.min))
    rows = [p for p in figures.penetration if p.country == country and p.app == app and p.share_pct is not None]
    return max(rows, key=lambda p: p.as_of or date.min) if rows else None


def _latest_mau(figures: Figures, app: str) -> MauFigure | None:
    rows = [m for m in figures.mau if m.app == app]
    return max(rows, key=lambda m: (m.metric == "MAU", m.as_of or date.min)) if rows else None


def _fit(features: Features | None, goal: str) -> tuple[float, list[Reason]]:
    if features is None:
        return API_FACTOR["unknown"], [Reason("api_unknown")]
    reasons = []
    level = features.official_api
    if level in ("yes", "templates"):
        reasons.append(Reason("api_yes", {"api": features.api_name or features.app}))
    elif level == "no":
        reasons.append(Reason("api_no"))
    else:
        reasons.append(Reason("api_unknown"))
    fit = API_FACTOR[level]
    feature, table = GOAL_FACTOR[goal]
    if feature:
        goal_level = getattr(features, feature)
        fit *= table[goal_level]
        if feature == "payments":
            code = {"yes": "payments_yes", "partial": "payments_partial"}.get(goal_level, "payments_none")
            reasons.append(Reason(code, {"detail": features.payments_detail or "-"}))
        elif feature == "business_initiated":
            reasons.append(Reason(f"initiate_{goal_level if goal_level in ('yes', 'templates', 'no') else 'unknown'}",
                                  {"rules": features.conversation_rules or "-"}))
        else:
            code = {"yes": "bots_yes", "partial": "bots_partial"}.get(goal_level, "bots_none")
            reasons.append(Reason(code))
    return fit, reasons


def _apps_in_scope(figures: Figures, audience: Audience, own: OwnAudience | None) -> set[str]:
    codes = {c for c, _ in audience.countries}
    apps = {p.app for p in figures.penetration if p.country in codes and p.share_pct is not None}
    if audience.age_min is not None or audience.age_max is not None:
        apps |= {a.app for a in figures.ages if a.region in codes and a.metric == "pct_of_age_group_using"
                 and not a.qualifier and a.share_pct is not None
                 and _overlap(a.age_low, a.age_high, audience.age_min, audience.age_max) > 0}
    if own is not None:
        apps |= {app for app, o in own.apps.items() if o.users}
    if not codes:
        apps |= set(figures.features)
    apps.discard("any messaging app")  # a survey total, not an app one can use
    return apps


def recommend(figures: Figures, audience: Audience, *, own: OwnAudience | None = None,
              today: date | None = None) -> Advice:
    today = today or date.today()
    total_weight = sum(w for _, w in audience.countries)
    warnings: list[Reason] = []
    if not audience.countries and not audience.interests and audience.age_min is None and audience.age_max is None:
        warnings.append(Reason("no_audience"))
    if figures.replaced:
        warnings.append(Reason("replaced", {"datasets": ", ".join(sorted(figures.replaced))}))
    covered = {p.country for p in figures.penetration if p.share_pct is not None}
    covered |= {a.region for a in figures.ages if a.share_pct is not None}
    no_data = [c for c, _ in audience.countries if c not in covered]
    for c in no_data:
        warnings.append(Reason("no_country_data", {"country": c}))
    sample = own.sample if own else 0
    use_own = own is not None and sample >= MIN_OWN_SAMPLE
    if own is not None and 0 < sample < MIN_OWN_SAMPLE:
        warnings.append(Reason("small_sample", {"sample": sample}))

    ranked = []
    for app in _apps_in_scope(figures, audience, own):
        found: list[CountryFigure] = []
        missing: list[str] = []
        reasons: list[Reason] = []
        for country, weight in audience.countries:
            fig = _pick(country, app, figures, audience)
            if fig is None:
                missing.append(country)
                if country not in no_data:
                    reasons.append(Reason("no_figure", {"country": country}))
                continue
            band = fig.band if isinstance(fig, AgeFigure) else ""
            share = float(fig.share_pct or 0.0)
            cf = CountryFigure(country=country, weight=weight, share_pct=share, metric=fig.metric,
                               as_of=fig.as_of_text, source=fig.source,
                               source_title=figures.sources.get(fig.source, fig.source), age_band=band,
                               stale=_is_stale(fig.as_of, today), estimate=fig.estimate)
            found.append(cf)
            params = {"share": f"{share:g}", "country": country, "metric": fig.metric, "as_of": fig.as_of_text,
                      "source": fig.source, "band": band}
            reasons.append(Reason("age_figure" if band else "figure", params))
            if cf.stale:
                reasons.append(Reason("stale", {"country": country, "as_of": fig.as_of_text}))
            if cf.estimate:
                reasons.append(Reason("estimate", {"country": country}))
        public = sum(f.weight * f.share_pct for f in found) / total_weight if total_weight else 0.0
        coverage = 100.0 * sum(f.weight for f in found) / total_weight if total_weight else 0.0
        for a in figures.ages:
            if (a.app == app and a.region == "Global" and a.metric == "pct_of_platform_audience" and not a.qualifier
                    and a.share_pct is not None and (audience.age_min is not None or audience.age_max is not None)
                    and _overlap(a.age_low, a.age_high, audience.age_min, audience.age_max) > 0):
                reasons.append(Reason("audience_age", {"share": f"{a.share_pct:g}", "band": a.band,
                                                       "as_of": a.as_of_text, "source": a.source}))
        own_app = own.apps.get(app) if own else None
        own_share = 100.0 * own_app.users / sample if own_app is not None and sample else (0.0 if sample else None)
        if own is not None and sample:
            o = own_app or OwnApp(0, 0)
            reasons.append(Reason("own", {"users": o.users, "sample": sample, "answered": o.answered,
                                          "days": ACTIVE_DAYS}))
        blended = public
        if use_own and own_share is not None:
            blended = (1 - OWN_WEIGHT) * public + OWN_WEIGHT * own_share
        features = figures.features.get(app)
        fit, fit_reasons = _fit(features, audience.goal)
        kinds = APP_KINDS.get(app, [])
        reasons += fit_reasons
        reasons.append(Reason("supported" if kinds else "not_supported"))
        ranked.append(AppAdvice(app=app, score=blended * fit, fit=fit, public_reach_pct=public,
                                coverage_pct=coverage, blended_reach_pct=blended, figures=found,
                                missing_countries=missing, own_share_pct=own_share, own=own_app,
                                mau=_latest_mau(figures, app), features=features, channel_kinds=kinds,
                                reasons=reasons))
    ranked.sort(key=lambda a: (-a.score, a.app))
    ranked = [a for a in ranked if a.score > 0 or a.figures or (a.own and a.own.users)]
    return Advice(audience=audience, ranked=ranked, no_data_countries=no_data, own_sample=sample,
                  warnings=warnings, replaced=sorted(figures.replaced))


def advice_dict(advice: Advice, figures: Figures, lang: str = "en") -> dict[str, Any]:
    """The advice as the API and the CLI's --json show it: every figure with its source and date."""
    def mau(m: MauFigure | None) -> dict[str, Any] | None:
        if m is None:
            return None
        return {"millions": m.mau_millions, "metric": m.metric, "as_of": m.as_of_text, "source": m.source,
                "source_title": figures.sources.get(m.source, m.source), "estimate": m.estimate, "note": m.note}

    def feats(f: Features | None) -> dict[str, Any] | None:
        if f is None:
            return None
        return {"official_api": f.official_api, "api_name": f.api_name, "payments": f.payments,
                "payments_detail": f.payments_detail, "bots": f.bots, "business_initiated": f.business_initiated,
                "conversation_rules": f.conversation_rules, "sources": figures.source_titles(f.source)}

    return {
        "audience": advice.audience.to_dict(),
        "own_sample": advice.own_sample,
        "no_data_countries": advice.no_data_countries,
        "warnings": [w.to_dict(lang) for w in advice.warnings],
        "replaced_datasets": advice.replaced,
        "ranking": [
            {"rank": i, "app": a.app, "score": round(a.score, 2), "fit": round(a.fit, 3),
             "public_reach_pct": round(a.public_reach_pct, 2), "coverage_pct": round(a.coverage_pct, 2),
             "blended_reach_pct": round(a.blended_reach_pct, 2),
             "own_share_pct": None if a.own_share_pct is None else round(a.own_share_pct, 2),
             "own_users": a.own.users if a.own else 0, "own_answered": a.own.answered if a.own else 0,
             "figures": [f.to_dict() for f in a.figures], "missing_countries": a.missing_countries,
             "global_mau": mau(a.mau), "features": feats(a.features), "channel_kinds": a.channel_kinds,
             "reasons": [r.to_dict(lang) for r in a.reasons]}
            for i, a in enumerate(advice.ranked, start=1)
        ],
    }
