"""Typed access to webhook JSON that names the exact field when the payload is malformed.

Meta documents its payloads but does not promise that every optional object is present, so the
parsers read only the fields they need through these helpers: a missing or mistyped *required*
field raises ``ValidationFailed(field="entry[0].changes[0].value.messages[0].id")``; optional
fields fall back to empty values.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from crocevia.errors import ValidationFailed


def load_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed("webhook body is not JSON", field="body") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("webhook body must be a JSON object", field="body")
    return data


def req_obj(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise ValidationFailed(f"{_join(path, key)} must be an object", field=_join(path, key))
    return value


def opt_obj(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{_join(path, key)} must be an object", field=_join(path, key))
    return value


def req_list(parent: dict[str, Any], key: str, path: str) -> list[Any]:
    value = parent.get(key)
    if not isinstance(value, list):
        raise ValidationFailed(f"{_join(path, key)} must be a list", field=_join(path, key))
    return value


def opt_list(parent: dict[str, Any], key: str, path: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(f"{_join(path, key)} must be a list", field=_join(path, key))
    return value


def req_str(parent: dict[str, Any], key: str, path: str) -> str:
    """A required identifier: Meta sends ids as strings, but numbers are accepted too."""
    value = parent.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValidationFailed(f"{_join(path, key)} is required", field=_join(path, key))
    return str(value)


def opt_str(parent: dict[str, Any], key: str, path: str) -> str:
    value = parent.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValidationFailed(f"{_join(path, key)} must be a string", field=_join(path, key))
    return str(value)


def items(values: list[Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    """Each element with its own path; every element of these arrays must be an object."""
    out: list[tuple[str, dict[str, Any]]] = []
    for i, value in enumerate(values):
        if not isinstance(value, dict):
            raise ValidationFailed(f"{path}[{i}] must be an object", field=f"{path}[{i}]")
        out.append((f"{path}[{i}]", value))
    return out


def unix_time(parent: dict[str, Any], key: str, path: str, *, millis: bool) -> datetime | None:
    """WhatsApp sends seconds as a string; Messenger and Instagram send milliseconds."""
    value = parent.get(key)
    if value is None or value == "":
        return None
    try:
        number = float(value)
        return datetime.fromtimestamp(number / 1000 if millis else number, UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise ValidationFailed(f"{_join(path, key)} is not a unix timestamp", field=_join(path, key)) from exc


def number(parent: dict[str, Any], key: str, path: str) -> float:
    value = parent.get(key)
    if isinstance(value, bool):
        value = None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{_join(path, key)} must be a number", field=_join(path, key)) from exc


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
