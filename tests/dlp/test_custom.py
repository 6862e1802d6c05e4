from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crocevia.dlp import (
    CustomDetectorError,
    Finding,
    RegexDetector,
    build_scanner,
    detector_from_spec,
    entry_point_detectors,
    load_custom_detectors,
)
from crocevia.dlp import custom as custom_module


def spans(detector: Any, text: str) -> list[tuple[str, str, float]]:
    return [(f.label, text[f.start : f.end], f.score) for f in detector.detect(text)]


def test_regex_with_context_words_from_data() -> None:
    detector = detector_from_spec(
        {
            "name": "employee_id",
            "label": "EMPLOYEE_ID",
            "pattern": r"\bEMP-\d{6}\b",
            "context": ["matricola", "badge"],
            "score": 0.5,
            "context_score": 0.9,
        }
    )
    assert spans(detector, "matricola EMP-123456") == [("EMPLOYEE_ID", "EMP-123456", 0.9)]
    assert spans(detector, "vedi EMP-123456") == [("EMPLOYEE_ID", "EMP-123456", 0.5)]


def test_context_required_and_negative_context() -> None:
    detector = detector_from_spec(
        {
            "name": "loyalty",
            "label": "LOYALTY_CARD",
            "pattern": r"\b\d{8}\b",
            "context": ["tessera"],
            "context_required": True,
        }
    )
    assert spans(detector, "tessera 12345678")[0][1] == "12345678"
    assert spans(detector, "codice 12345678") == []
    vetoed = detector_from_spec(
        {"name": "n", "label": "N", "pattern": r"\b\d{8}\b", "negative_context": ["ordine"]}
    )
    assert spans(vetoed, "ordine 12345678") == []
    assert len(spans(vetoed, "numero 12345678")) == 1


def test_stdnum_module_as_validator() -> None:
    for name in ("stdnum.luhn", "luhn"):
        detector = detector_from_spec(
            {"name": "member", "label": "MEMBER", "pattern": r"\b\d{8}\b", "validator": name}
        )
        assert spans(detector, "socio 12345674") == [("MEMBER", "12345674", 0.6)]
        assert spans(detector, "socio 12345678") == []


def test_dotted_path_callable_as_validator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A business's own module with its own check.
    (tmp_path / "acme_validators.py").write_text("def employee_id(value):\n    return value.endswith('7')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for path in ("acme_validators:employee_id", "acme_validators.employee_id"):
        detector = detector_from_spec({"name": "e", "label": "E", "pattern": r"E\d{3}", "validator": path})
        assert [v for _, v, _ in spans(detector, "E127 E128")] == ["E127"]


def test_named_group_and_flags() -> None:
    detector = detector_from_spec(
        {
            "name": "badge",
            "label": "BADGE",
            "pattern": r"badge:\s*(?P<code>[a-z]{2}\d{4})",
            "group": "code",
            "flags": ["IGNORECASE"],
        }
    )
    assert spans(detector, "Badge: AB1234") == [("BADGE", "AB1234", 0.6)]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"label": "X", "pattern": "x"}, "without a 'name'"),
        ({"name": "x", "pattern": "x"}, "'label' is required"),
        ({"name": "x", "label": "X", "pattern": "("}, "bad pattern"),
        ({"name": "x", "label": "X", "pattern": "x", "score": 2}, "between 0 and 1"),
        ({"name": "x", "label": "X", "pattern": "x", "validator": "no.such.module"}, "validator"),
        ({"name": "x", "label": "X", "pattern": "x", "colour": "red"}, "unknown field"),
        ({"name": "x", "label": "X", "pattern": "x", "context_required": True}, "needs 'context'"),
        ({"name": "x", "label": "X", "pattern": "x", "group": 3}, "no group"),
        ({"name": "x", "label": "X", "pattern": "x", "flags": ["NOPE"]}, "unknown regex flag"),
    ],
)
def test_bad_specs_are_explained(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(CustomDetectorError, match=message):
        detector_from_spec(spec)


def test_load_from_json_file_and_use_in_a_scanner(tmp_path: Path) -> None:
    path = tmp_path / "detectors.json"
    path.write_text(
        json.dumps({"detectors": [{"name": "ticket", "label": "TICKET", "pattern": r"\bTCK-\d{4}\b", "score": 0.7}]})
    )
    assert [d.name for d in load_custom_detectors(path)] == ["ticket"]
    scanner = build_scanner(path, plugins=False)
    text = "apri TCK-1234 e manda a mario@example.it"
    assert [(f.label, text[f.start : f.end]) for f in scanner.scan(text)] == [
        ("TICKET", "TCK-1234"),
        ("EMAIL", "mario@example.it"),
    ]


def test_unreadable_or_invalid_json(tmp_path: Path) -> None:
    with pytest.raises(CustomDetectorError, match="cannot read"):
        load_custom_detectors(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(CustomDetectorError, match="not valid JSON"):
        load_custom_detectors(bad)


class _EntryPoint:
    def __init__(self, name: str, obj: Any) -> None:
        self.name = name
        self.value = f"plugin:{name}"
        self._obj = obj

    def load(self) -> Any:
        if isinstance(self._obj, Exception):
            raise self._obj
        return self._obj


def test_entry_point_plugins(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    instance = RegexDetector("inst", "A", r"AAA\d")

    class PluginClass(RegexDetector):
        def __init__(self) -> None:
            super().__init__("cls", "B", r"BBB\d")

    def factory() -> list[RegexDetector]:
        return [RegexDetector("fac", "C", r"CCC\d")]

    plugins = [
        _EntryPoint("instance", instance),
        _EntryPoint("class", PluginClass),
        _EntryPoint("factory", factory),
        _EntryPoint("spec", {"name": "spec", "label": "D", "pattern": r"DDD\d"}),
        _EntryPoint("broken", ImportError("missing dependency")),
    ]
    seen_groups: list[str] = []

    def fake_entry_points(group: str) -> list[_EntryPoint]:
        seen_groups.append(group)
        return plugins

    monkeypatch.setattr(custom_module, "entry_points", fake_entry_points)
    detectors = entry_point_detectors()
    assert seen_groups == ["crocevia.dlp_detectors"]
    assert [d.name for d in detectors] == ["inst", "cls", "fac", "spec"]
    assert "broken" in caplog.text

    scanner = build_scanner(plugins=True)
    text = "AAA1 BBB2 CCC3 DDD4"
    found: list[Finding] = scanner.scan(text)
    assert [f.label for f in found] == ["A", "B", "C", "D"]
