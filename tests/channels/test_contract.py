"""The contract every channel adapter keeps, run over every kind in the registry.

For each fixture (a payload in the platform's own wire format): a correctly signed request
verifies and parses; the same request with one authenticated byte changed is refused; with no
signature it is refused; re-delivering it stores nothing new.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import func, select
from tests.conftest import new_workspace

from crocevia.channels.base import (
    Capabilities,
    ChannelAdapter,
    IgnoredEvent,
    InboundMessage,
    WebhookRequest,
)
from crocevia.channels.registry import all_kinds, get_adapter
from crocevia.errors import SignatureInvalid
from crocevia.runtime import Runtime
from crocevia.services import channels, ingest
from crocevia.storage.tables import Message


def _testkit(kind: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"crocevia.channels.{kind}.testkit")
    except ModuleNotFoundError:
        return None


def _cases() -> list[tuple[str, Path]]:
    cases = []
    for kind in sorted(all_kinds()):
        kit = _testkit(kind)
        if kit is None:
            continue
        folder = Path(kit.FIXTURES)
        cases += [(kind, f) for f in sorted(folder.iterdir()) if f.is_file()] if folder.exists() else []
    return cases


CASES = _cases()
IDS = [f"{k}/{f.name}" for k, f in CASES]


def _flip_body_byte(req: WebhookRequest) -> WebhookRequest:
    body = bytearray(req.body)
    # Change a character inside the payload (not trailing whitespace, which some parsers ignore).
    i = len(body) // 2
    body[i] = ord("x") if body[i] != ord("x") else ord("y")
    return dataclasses.replace(req, body=bytes(body))


def _signed(kind: str, fixture: Path) -> tuple[ChannelAdapter, ModuleType, WebhookRequest]:
    kit = _testkit(kind)
    assert kit is not None
    cfg = kit.config()
    return get_adapter(kind), kit, kit.signed_request(fixture.read_bytes(), cfg, fixture.name)


def test_every_registered_kind_has_a_testkit_and_fixtures() -> None:
    kinds_with_fixtures = {k for k, _ in CASES}
    missing = sorted(set(all_kinds()) - kinds_with_fixtures)
    assert not missing, f"channel kinds without testkit fixtures: {missing}"


@pytest.mark.parametrize(("kind", "fixture"), CASES, ids=IDS)
def test_fixture_verifies_and_parses(kind: str, fixture: Path) -> None:
    adapter, kit, req = _signed(kind, fixture)
    cfg = kit.config()
    adapter.verify(req, cfg)
    events = adapter.parse(req, cfg)
    assert events, "a fixture should produce at least one event (IgnoredEvent for unknown types)"
    if fixture.name.startswith("unknown"):
        assert all(isinstance(e, IgnoredEvent) for e in events)


@pytest.mark.parametrize(("kind", "fixture"), CASES, ids=IDS)
def test_one_changed_byte_is_refused(kind: str, fixture: Path) -> None:
    adapter, kit, req = _signed(kind, fixture)
    tamper = getattr(kit, "tamper", _flip_body_byte)
    with pytest.raises(SignatureInvalid):
        adapter.verify(tamper(req), kit.config())


@pytest.mark.parametrize(("kind", "fixture"), CASES, ids=IDS)
def test_missing_signature_is_refused(kind: str, fixture: Path) -> None:
    adapter, kit, req = _signed(kind, fixture)
    bare = dataclasses.replace(req, headers={"content-type": req.headers.get("content-type", "")}, query={})
    with pytest.raises(SignatureInvalid):
        adapter.verify(bare, kit.config())


@pytest.mark.parametrize("kind", sorted(all_kinds()))
def test_capabilities_and_credentials_are_declared(kind: str) -> None:
    adapter = get_adapter(kind)
    assert isinstance(adapter.capabilities, Capabilities)
    assert adapter.capabilities.rate_per_second > 0
    assert adapter.capabilities.max_text_length > 0
    if adapter.capabilities.reply_window is not None:
        assert adapter.capabilities.reply_window_rule, "a reply window needs a rule name agents are told"
    kit = _testkit(kind)
    if kit is not None:
        adapter.credentials_model.model_validate(dict(kit.config().credentials))


@pytest.mark.parametrize(("kind", "fixture"), [c for c in CASES if "message" in c[1].name], ids=lambda v: str(v))
def test_redelivery_is_stored_once(rt: Runtime, kind: str, fixture: Path) -> None:
    adapter, kit, req = _signed(kind, fixture)
    cfg = kit.config()
    w = new_workspace(rt)
    channel = channels.create_channel(rt, w.owner, kind=kind, name=kind, credentials=dict(cfg.credentials))
    events = adapter.parse(req, cfg)
    if not any(isinstance(e, InboundMessage) for e in events):
        pytest.skip("fixture holds no customer message")
    ingest.ingest(rt, channel, events)
    ingest.ingest(rt, channel, adapter.parse(req, cfg))
    with rt.db.read() as s:
        stored = s.scalar(select(func.count(Message.id)).where(Message.channel_id == channel.id))
    assert stored == sum(1 for e in events if isinstance(e, InboundMessage))
