"""Detectors a business adds without forking: regexes declared as data, and plugins.

Data form (a dict, a list of dicts, or a JSON file holding either, or
``{"detectors": [...]}``)::

    {
      "name": "employee_id",            # required, reported as Finding.detector
      "label": "EMPLOYEE_ID",           # required, any string
      "pattern": "\\\\bEMP-\\\\d{6}\\\\b",     # required, Python regex
      "validator": "stdnum.luhn",       # optional: a python-stdnum module name
                                        #   ("stdnum.es.dni" or "es.dni": its is_valid)
                                        #   or a dotted path to a callable ("pkg.mod:func")
      "context": ["matricola", "badge"],  # optional words near the match
      "context_required": false,        # drop matches without context
      "negative_context": ["ordine"],   # drop matches near these words (unless context)
      "score": 0.6,                     # confidence without context
      "context_score": 0.9,             # confidence with context
      "flags": ["IGNORECASE"],          # re flags by name
      "group": 0                        # regex group that is the span
    }

Plugins: a distribution declares entry points in the group ``crocevia.dlp_detectors``;
each may point at a Detector instance, a Detector class (called without
arguments), a factory returning one or more detectors, or a data spec as above.
"""

from __future__ import annotations

import importlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from crocevia.dlp.base import Detector, RegexDetector, Validator

ENTRY_POINT_GROUP = "crocevia.dlp_detectors"

log = logging.getLogger(__name__)

_ALLOWED_KEYS = frozenset(
    {
        "name", "label", "pattern", "validator", "context", "context_required", "negative_context",
        "score", "context_score", "flags", "group", "description",
    }
)
_FLAGS = {
    "IGNORECASE": re.IGNORECASE, "I": re.IGNORECASE,
    "MULTILINE": re.MULTILINE, "M": re.MULTILINE,
    "DOTALL": re.DOTALL, "S": re.DOTALL,
    "VERBOSE": re.VERBOSE, "X": re.VERBOSE,
    "ASCII": re.ASCII, "A": re.ASCII,
}


class CustomDetectorError(ValueError):
    """A custom detector spec is wrong; the message names the detector and the field."""


def resolve_validator(path: str) -> Validator:
    """Turn a validator name into a ``str -> bool`` callable.

    Tried in order: a module with ``is_valid`` (``stdnum.es.dni``, or ``es.dni``
    which is looked up under ``stdnum``), then ``module:attr`` or ``module.attr``.
    """
    path = path.strip()
    module_candidates = [path] if path.startswith("stdnum.") or ":" in path else [path, f"stdnum.{path}"]
    if ":" not in path:
        for name in module_candidates:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            func = getattr(module, "is_valid", None)
            if callable(func):
                return _safe(func)
    module_name, sep, attr = path.partition(":") if ":" in path else path.rpartition(".")
    if not sep or not module_name or not attr:
        raise CustomDetectorError(f"validator {path!r}: not a module with is_valid nor module:function")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise CustomDetectorError(f"validator {path!r}: cannot import {module_name!r} ({exc})") from exc
    for part in attr.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise CustomDetectorError(f"validator {path!r}: {attr!r} is not a callable in {module_name!r}")
    return _safe(target)


def _safe(func: Callable[[str], Any]) -> Validator:
    """A validator that raises means "not valid", never a failed scan."""

    def validate(value: str) -> bool:
        try:
            return bool(func(value))
        except Exception:
            return False

    validate.__name__ = getattr(func, "__name__", "validator")
    return validate


def _words(spec: Mapping[str, Any], key: str, name: str) -> tuple[str, ...]:
    value = spec.get(key, ())
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(w, str) for w in value):
        raise CustomDetectorError(f"detector {name!r}: {key!r} must be a list of strings")
    return tuple(value)


def _score(spec: Mapping[str, Any], key: str, name: str, default: float | None) -> float | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise CustomDetectorError(f"detector {name!r}: {key!r} must be a number between 0 and 1")
    return float(value)


def detector_from_spec(spec: Mapping[str, Any]) -> RegexDetector:
    """Build a :class:`RegexDetector` from its data form (see the module docstring)."""
    if not isinstance(spec, Mapping):
        raise CustomDetectorError(f"a detector spec must be an object, not {type(spec).__name__}")
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip():
        raise CustomDetectorError("detector spec without a 'name'")
    unknown = set(spec) - _ALLOWED_KEYS
    if unknown:
        raise CustomDetectorError(f"detector {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
    for key in ("label", "pattern"):
        if not isinstance(spec.get(key), str) or not spec[key]:
            raise CustomDetectorError(f"detector {name!r}: {key!r} is required and must be a string")
    flags = 0
    for flag in _words(spec, "flags", name):
        if flag.upper() not in _FLAGS:
            raise CustomDetectorError(f"detector {name!r}: unknown regex flag {flag!r}")
        flags |= _FLAGS[flag.upper()]
    try:
        pattern = re.compile(spec["pattern"], flags)
    except re.error as exc:
        raise CustomDetectorError(f"detector {name!r}: bad pattern: {exc}") from exc
    group = spec.get("group", 0)
    if not isinstance(group, (int, str)) or isinstance(group, bool):
        raise CustomDetectorError(f"detector {name!r}: 'group' must be a group number or name")
    if (isinstance(group, int) and group > pattern.groups) or (
        isinstance(group, str) and group not in pattern.groupindex
    ):
        raise CustomDetectorError(f"detector {name!r}: pattern has no group {group!r}")
    validator_name = spec.get("validator")
    validator = None
    if validator_name is not None:
        if not isinstance(validator_name, str):
            raise CustomDetectorError(f"detector {name!r}: 'validator' must be a string")
        try:
            validator = resolve_validator(validator_name)
        except CustomDetectorError as exc:
            raise CustomDetectorError(f"detector {name!r}: {exc}") from exc
    context = _words(spec, "context", name)
    context_required = bool(spec.get("context_required", False))
    if context_required and not context:
        raise CustomDetectorError(f"detector {name!r}: 'context_required' needs 'context' words")
    return RegexDetector(
        name,
        spec["label"],
        pattern,
        validator=validator,
        score=_score(spec, "score", name, 0.6) or 0.0,
        context=context,
        context_score=_score(spec, "context_score", name, None),
        context_required=context_required,
        negative_context=_words(spec, "negative_context", name),
        group=group,
    )


def load_custom_detectors(
    source: str | Path | Mapping[str, Any] | Sequence[Mapping[str, Any]],
) -> list[RegexDetector]:
    """Detectors from a spec, a list of specs, or a JSON file path holding either."""
    data: Any = source
    if isinstance(source, (str, Path)):
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except OSError as exc:
            raise CustomDetectorError(f"cannot read {source}: {exc.strerror or exc}") from exc
        except ValueError as exc:
            raise CustomDetectorError(f"{source} is not valid JSON: {exc}") from exc
    if isinstance(data, Mapping) and "detectors" in data:
        data = data["detectors"]
    if isinstance(data, Mapping):
        data = [data]
    if not isinstance(data, list):
        raise CustomDetectorError("expected a detector spec or a list of them")
    return [detector_from_spec(spec) for spec in data]


def _as_detectors(obj: Any, origin: str) -> list[Detector]:
    if isinstance(obj, Mapping):
        return [detector_from_spec(obj)]
    if isinstance(obj, type) or (callable(obj) and not isinstance(obj, Detector)):
        obj = obj()
    if isinstance(obj, Detector):
        return [obj]
    if isinstance(obj, Iterable) and not isinstance(obj, (str, bytes)):
        found: list[Detector] = []
        for item in obj:
            found.extend(_as_detectors(item, origin))
        return found
    raise CustomDetectorError(f"{origin}: {obj!r} is not a detector")


def entry_point_detectors(group: str = ENTRY_POINT_GROUP) -> list[Detector]:
    """Detectors contributed by installed distributions.

    A broken plugin is logged and skipped: one bad add-on must not stop every
    message of the hub from being scanned by the others.
    """
    detectors: list[Detector] = []
    for entry_point in entry_points(group=group):
        origin = f"entry point {entry_point.name!r} ({entry_point.value})"
        try:
            detectors.extend(_as_detectors(entry_point.load(), origin))
        except Exception:
            log.exception("DLP plugin %s could not be loaded; it is skipped", origin)
    return detectors
