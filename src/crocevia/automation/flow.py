"""The flow definition language: a pydantic model of steps, validated with errors that name the field.

A flow is JSON or YAML::

    name: tavolo
    triggers: {keywords: [prenota, book, tavolo, table], default: true}
    start: menu
    steps:
      - {id: menu, type: send, text: {it: "Ciao!", en: "Hi!"},
         buttons: [{id: book, title: {it: Prenota, en: Book}, next: when}]}
      - {id: when, type: ask, slot: day, kind: date, prompt: {it: "Per quando?", en: "For when?"}, next: pick}
      - {id: pick, type: availability, resource: Tavoli, date_slot: day, slot: time, next: size}
      ...

Texts are a plain string or ``{it: ..., en: ...}``; ``{slot}`` placeholders are filled from what
the customer said.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crocevia.errors import ValidationFailed

Text = str | dict[str, str]
STEP_ID = r"^[A-Za-z0-9_\-]{1,100}$"
MAX_STEPS = 200


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ButtonDef(_Model):
    id: str = Field(pattern=STEP_ID)
    title: Text
    next: str | None = None


class _Step(_Model):
    id: str = Field(pattern=STEP_ID)
    next: str | None = None


class SendStep(_Step):
    """Say something; with buttons that have ``next`` it waits for the customer's choice."""
    type: Literal["send"]
    text: Text
    buttons: list[ButtonDef] = Field(default_factory=list, max_length=10)


class AskStep(_Step):
    """Ask for a typed value and store it in ``slot``; asks again (``retry``) when it is not understood."""
    type: Literal["ask"]
    slot: str = Field(pattern=STEP_ID)
    kind: Literal["text", "number", "date", "email", "phone", "choice"] = "text"
    prompt: Text
    retry: Text | None = None
    choices: list[ButtonDef] = Field(default_factory=list, max_length=10)
    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _choices(self) -> AskStep:
        if self.kind == "choice" and not self.choices:
            raise ValueError("an ask of kind 'choice' needs choices")
        return self


class Rule(_Model):
    slot: str
    equals: Any = None
    in_: list[Any] | None = Field(default=None, alias="in")
    gte: float | None = None
    lte: float | None = None
    next: str


class ConditionStep(_Step):
    type: Literal["condition"]
    rules: list[Rule] = Field(min_length=1)
    else_: str | None = Field(default=None, alias="else")


class SetStep(_Step):
    type: Literal["set"]
    values: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)


class AvailabilityStep(_Step):
    """Offer the free slots of a bookable resource on the date in ``date_slot``; the pick goes to ``slot``."""
    type: Literal["availability"]
    resource: str
    date_slot: str
    slot: str = Field(pattern=STEP_ID)
    # Where the party size is: a resource counted per person offers only slots with that many places.
    party_slot: str | None = None
    prompt: Text = {"it": "Ecco gli orari liberi:", "en": "These times are free:"}
    none: Text = {"it": "Mi dispiace, non ci sono posti liberi quel giorno.",
                  "en": "Sorry, nothing is free that day."}
    none_next: str | None = None


class BookStep(_Step):
    """Book the slot in ``time_slot``; ``full_next`` when someone else took the last place meanwhile."""
    type: Literal["book"]
    resource: str
    time_slot: str
    party_slot: str | None = None
    confirm: Text = {"it": "Prenotato per {when}. Per annullare scrivi ANNULLA.",
                     "en": "Booked for {when}. To cancel, write CANCEL."}
    full: Text = {"it": "Mi dispiace, quell'orario è appena stato preso.",
                  "en": "Sorry, that time was just taken."}
    full_next: str | None = None


class CatalogStep(_Step):
    """Show the products (as buttons or a numbered list); the chosen SKU goes to ``slot``."""
    type: Literal["catalog"]
    slot: str = Field(pattern=STEP_ID)
    prompt: Text = {"it": "Ecco il nostro menu:", "en": "Here is our menu:"}


class OrderStep(_Step):
    """Order the product in ``product_slot`` (× ``quantity_slot``); the payment link follows in chat."""
    type: Literal["order"]
    product_slot: str
    quantity_slot: str | None = None
    text: Text = {"it": "Ordine n. {order_id}: {total}. Ti mando il link per pagare.",
                  "en": "Order #{order_id}: {total}. Here comes your payment link."}


class HttpStep(_Step):
    """Call the business's own endpoint with the slots (JSON, HMAC-signed, short timeout); values of the
    JSON answer go to slots (``save: {slot: key}``); ``error_next`` on a timeout or an error status."""
    type: Literal["http"]
    url: str = Field(pattern=r"^https?://\S+$", max_length=2000)
    method: Literal["GET", "POST"] = "POST"
    secret: str = Field(min_length=16, max_length=200, description="shared with the endpoint, to check the signature")
    timeout: float = Field(default=5.0, gt=0, le=10)
    save: dict[str, str] = Field(default_factory=dict)
    error_next: str | None = None


class OpenTicketStep(_Step):
    """Open a ticket from the conversation and tell the customer its number (``{ticket_number}``); the
    subject, description, priority and type may use ``{slot}`` placeholders. A priority or type that a
    slot fills with something else falls back to normal / question."""
    type: Literal["open_ticket"]
    subject: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=5000)
    priority: str = "normal"
    ticket_type: str = "question"
    text: Text | None = None  # default: "We opened ticket no. N: «subject»…" in the customer's language

    @field_validator("priority")
    @classmethod
    def _priority(cls, v: str) -> str:
        if v not in ("low", "normal", "high", "urgent") and not re.fullmatch(r"\{[A-Za-z0-9_\-]{1,100}\}", v):
            raise ValueError("priority is low, normal, high, urgent or a {slot}")
        return v

    @field_validator("ticket_type")
    @classmethod
    def _ticket_type(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z][a-z0-9_\-]{0,39}|\{[A-Za-z0-9_\-]{1,100}\}", v):
            raise ValueError("ticket_type is a short lowercase word (question, incident...) or a {slot}")
        return v


class HandoffStep(_Step):
    type: Literal["handoff"]
    text: Text = {"it": "Ti passo a un collega, ti risponderà al più presto.",
                  "en": "I'm passing you to a colleague, who will answer soon."}


class EndStep(_Step):
    type: Literal["end"]
    text: Text | None = None


Step = Annotated[SendStep | AskStep | ConditionStep | SetStep | AvailabilityStep | BookStep | CatalogStep
                 | OrderStep | HttpStep | OpenTicketStep | HandoffStep | EndStep, Field(discriminator="type")]


class IntentDef(_Model):
    """What a customer means, recognised by its keywords and their synonyms (the built-in Italian/English
    ones and ``synonyms``), typo-tolerant; with a local embedding model installed, also by ``examples``."""
    name: str = Field(pattern=STEP_ID)
    keywords: list[str] = Field(min_length=1, max_length=100)
    synonyms: list[str] = Field(default_factory=list, max_length=100)
    examples: list[str] = Field(default_factory=list, max_length=100)


class Triggers(_Model):
    keywords: list[str] = Field(default_factory=list)
    buttons: list[str] = Field(default_factory=list)
    intents: list[IntentDef] = Field(default_factory=list, max_length=50)
    # A reply to a campaign's message: any campaign's (campaign_reply), or those named in ``campaigns``.
    campaign_reply: bool = False
    campaigns: list[str] = Field(default_factory=list, max_length=100)
    # Start on any message from a customer not already in a flow.
    default: bool = False


class FaqEntry(_Model):
    """A knowledge-list answer: given when the message has one of the keywords (typo-tolerant)."""
    keywords: list[str] = Field(min_length=1, max_length=50)
    answer: Text


class FlowDef(_Model):
    name: str = Field(min_length=1, max_length=100)
    triggers: Triggers = Field(default_factory=Triggers)
    # Answered outside a flow, and inside one when the answer to a question is not understood.
    faq: list[FaqEntry] = Field(default_factory=list, max_length=500)
    start: str
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _links(self) -> FlowDef:
        ids: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            if step.id in ids:
                raise _LinkError(f"step id {step.id!r} is used twice", f"steps.{i}.id")
            ids[step.id] = i
        if self.start not in ids:
            raise _LinkError(f"start names no step: {self.start!r}", "start")
        for i, step in enumerate(self.steps):
            for where, target in _targets(step):
                if target is not None and target not in ids:
                    raise _LinkError(f"{where.rsplit('.', 1)[-1]} names no step: {target!r}", f"steps.{i}.{where}")
        return self

    def step(self, step_id: str) -> Any:
        for s in self.steps:
            if s.id == step_id:
                return s
        return None


class _LinkError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _targets(step: Any) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = [("next", step.next)]
    for key in ("buttons", "choices"):
        for j, b in enumerate(getattr(step, key, []) or []):
            out.append((f"{key}.{j}.next", b.next))
    if isinstance(step, ConditionStep):
        out += [(f"rules.{j}.next", r.next) for j, r in enumerate(step.rules)]
        out.append(("else", step.else_))
    for key in ("none_next", "full_next", "error_next"):
        if hasattr(step, key):
            out.append((key, getattr(step, key)))
    return out


def parse_source(source: str, fmt: str = "yaml") -> dict[str, Any]:
    """JSON or YAML text → a mapping (syntax errors name the line)."""
    try:
        data = json.loads(source) if fmt == "json" else yaml.safe_load(source)
    except json.JSONDecodeError as exc:
        raise ValidationFailed(f"line {exc.lineno}: {exc.msg}", field="source", line=exc.lineno) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ValidationFailed(f"line {line}: {getattr(exc, 'problem', None) or exc}", field="source",
                               line=line) from exc
    if not isinstance(data, dict):
        raise ValidationFailed("a flow must be a mapping with name, start and steps", field="source")
    return data


def validate_flow(data: dict[str, Any], *, source: str | None = None, prefix: str = "definition") -> FlowDef:
    """Validate a flow; the error names the field (``definition.steps.2.next``) and, for YAML, the line."""
    try:
        return FlowDef.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        # Discriminated unions add the step type to the location: not a field the author wrote.
        loc = [p for i, p in enumerate(loc) if not (i > 0 and loc[i - 1].isdigit() and p in _STEP_TYPES)]
        ctx = err.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, _LinkError):
            loc, message = cause.field.split("."), str(cause)
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
        path = ".".join(loc)
        line = _line_of(source, loc) if source else None
        where = f" (line {line})" if line else ""
        raise ValidationFailed(f"{path}: {message}{where}", field=f"{prefix}.{path}" if path else prefix,
                               line=line) from exc


_STEP_TYPES = {"send", "ask", "condition", "set", "availability", "book", "catalog", "order", "http", "handoff",
               "end", "open_ticket"}


def _line_of(source: str, loc: list[str]) -> int | None:
    """The YAML/JSON line a location points at (JSON is YAML, so one walker serves both)."""
    try:
        node: Any = yaml.compose(source)
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == part), None)
            if found is None:
                break
            node = found
        elif isinstance(node, yaml.SequenceNode) and re.fullmatch(r"\d+", part) and int(part) < len(node.value):
            node = node.value[int(part)]
        else:
            break
        line = node.start_mark.line + 1
    return line
