"""Post one or more Send API bodies for a single outbound message (Messenger and Instagram)."""

from __future__ import annotations

from typing import Any

import httpx

from crocevia.channels.base import SendResult
from crocevia.channels.meta.graph import IDEMPOTENCY_HEADER, graph_request, json_object
from crocevia.errors import ProviderError


def send_all(
    http: httpx.Client,
    url: str,
    bodies: list[dict[str, Any]],
    *,
    params: dict[str, str],
    idempotency_key: str,
    what: str,
) -> SendResult:
    """Send each body in order; the result carries the first message's id (the media, when
    there is one), which is the one delivery and read receipts will name first."""
    first_id = ""
    for i, body in enumerate(bodies):
        key = idempotency_key if i == 0 else f"{idempotency_key}:{i}"
        headers = {IDEMPOTENCY_HEADER: key} if key else {}
        data = json_object(
            graph_request(http, "POST", url, what=what, params=params, json_body=body, headers=headers), what
        )
        if not data.get("message_id"):
            raise ProviderError(f"{what} answered without a message_id: {data}", retryable=False)
        first_id = first_id or str(data["message_id"])
    return SendResult(provider_message_id=first_id)
