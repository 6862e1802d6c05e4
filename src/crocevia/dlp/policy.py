"""Deciding what happens to sensitive data: per direction, per label, per channel.

Pure functions: given findings and a workspace's rules, which action wins for a message.
Actions, mildest to strongest: allow < mask < vault < block. ``alert`` is a flag on a rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from crocevia.dlp.findings import Finding, Label


class Direction(StrEnum):
    INBOUND = "inbound"  # customer → business
    OUTBOUND = "outbound"  # agent → customer
    BOT = "bot"  # bot → customer
    NOTE = "note"  # internal note between agents


class Action(StrEnum):
    ALLOW = "allow"
    MASK = "mask"
    VAULT = "vault"  # mask, and keep the original encrypted for roles allowed to reveal it
    BLOCK = "block"  # outbound only: refuse to send

    @property
    def strength(self) -> int:
        return _STRENGTH[self]


_STRENGTH = {Action.ALLOW: 0, Action.MASK: 1, Action.VAULT: 2, Action.BLOCK: 3}


@dataclass(frozen=True)
class Rule:
    action: Action
    alert: bool = False


RuleKey = tuple[int | None, str, str]  # (channel_id or None for every channel, direction, label)

_SECRETS = (Label.CREDIT_CARD, Label.PASSWORD, Label.API_KEY)

# The defaults a workspace starts with: cards, passwords and keys from customers are masked and
# vaulted (and alert); health data is vaulted; agents and bots can never send them out.
DEFAULT_RULES: dict[tuple[str, str], Rule] = {
    **{(Direction.INBOUND.value, lbl.value): Rule(Action.VAULT, alert=True) for lbl in _SECRETS},
    (Direction.INBOUND.value, Label.HEALTH.value): Rule(Action.VAULT),
    **{(Direction.OUTBOUND.value, lbl.value): Rule(Action.BLOCK, alert=True) for lbl in _SECRETS},
    **{(Direction.BOT.value, lbl.value): Rule(Action.BLOCK, alert=True) for lbl in _SECRETS},
    **{(Direction.NOTE.value, lbl.value): Rule(Action.VAULT) for lbl in _SECRETS},
    (Direction.NOTE.value, Label.HEALTH.value): Rule(Action.VAULT),
}

# What no workspace setting can weaken: a full card number or a password never goes out.
FLOORS: dict[tuple[str, str], Action] = {
    (d.value, lbl.value): Action.BLOCK
    for d in (Direction.OUTBOUND, Direction.BOT) for lbl in (Label.CREDIT_CARD, Label.PASSWORD)
}

# What an agent is offered instead, when a send is blocked.
SAFE_ALTERNATIVES: dict[str, str] = {
    Label.CREDIT_CARD.value: "Never ask for or send card numbers in chat: send a payment link instead.",
    Label.PASSWORD.value: "Never send passwords in chat: send a password-reset link instead.",
    Label.API_KEY.value: "Never send API keys or secrets in chat: share them through your secrets manager.",
    Label.IBAN.value: "Send bank details as a document or through your billing system.",
    Label.HEALTH.value: "Share health information only through the secure patient portal.",
}


def check_rule(direction: str, label: str, action: Action) -> None:
    """Raise ValueError for a rule that would break a floor or makes no sense."""
    floor = FLOORS.get((direction, label))
    if floor is not None and action.strength < floor.strength:
        raise ValueError(f"{label} in {direction} messages is always blocked; it cannot be set to {action.value}")
    if action is Action.BLOCK and direction in (Direction.INBOUND.value, Direction.NOTE.value):
        raise ValueError("block applies to what agents and bots send; for inbound data use mask or vault")


def rule_for(rules: Mapping[RuleKey, Rule], channel_id: int | None, direction: str, label: str) -> Rule:
    for key in ((channel_id, direction, label), (None, direction, label)):
        if key in rules:
            rule = rules[key]
            break
    else:
        rule = DEFAULT_RULES.get((direction, label), Rule(Action.ALLOW))
    floor = FLOORS.get((direction, label))
    if floor is not None and rule.action.strength < floor.strength:
        return Rule(floor, alert=True)
    return rule


@dataclass(frozen=True)
class Decision:
    findings: list[tuple[Finding, Rule]]

    @property
    def action(self) -> Action:
        return max((r.action for _, r in self.findings), key=lambda a: a.strength, default=Action.ALLOW)

    @property
    def to_mask(self) -> list[Finding]:
        return [f for f, r in self.findings if r.action.strength >= Action.MASK.strength]

    @property
    def blocked_labels(self) -> list[str]:
        return sorted({f.label for f, r in self.findings if r.action is Action.BLOCK})

    @property
    def alert(self) -> bool:
        return any(r.alert for _, r in self.findings)


def decide(findings: Iterable[Finding], rules: Mapping[RuleKey, Rule], *, channel_id: int | None,
           direction: str) -> Decision:
    return Decision([(f, rule_for(rules, channel_id, direction, f.label)) for f in findings])
