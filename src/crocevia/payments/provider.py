"""The payment provider interface and the Stripe Checkout adapter.

Stripe's webhook signature: header ``Stripe-Signature: t=<unix>,v1=<hex>`` where
``v1 = HMAC-SHA256(webhook_secret, f"{t}.{raw body}")``; events older than the tolerance are
refused so a captured webhook cannot be replayed later.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from crocevia.errors import ProviderError, SignatureInvalid, ValidationFailed
from crocevia.security import constant_time_equals, hmac_sha256_hex

SIGNATURE_HEADER = "Stripe-Signature"
TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class PaymentLink:
    ref: str  # the provider's id of the checkout
    url: str


@dataclass(frozen=True)
class PaymentEvent:
    kind: str  # "paid" | "refunded" | "ignored"
    ref: str
    raw_type: str


class PaymentProvider(Protocol):
    def create_link(self, *, order_id: int, description: str, amount_minor: int, currency: str,
                    success_url: str, http: httpx.Client) -> PaymentLink: ...

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> PaymentEvent: ...


def stripe_signature(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={hmac_sha256_hex(secret.encode(), f'{t}.'.encode() + body)}"


class StripeCheckout:
    def __init__(self, *, api_base: str, secret_key: str, webhook_secret: str) -> None:
        self.api_base = api_base.rstrip("/")
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret

    def create_link(self, *, order_id: int, description: str, amount_minor: int, currency: str,
                    success_url: str, http: httpx.Client) -> PaymentLink:
        form = {
            "mode": "payment", "success_url": success_url, "client_reference_id": str(order_id),
            "metadata[order_id]": str(order_id),
            "line_items[0][quantity]": "1",
            "line_items[0][price_data][currency]": currency.lower(),
            "line_items[0][price_data][unit_amount]": str(amount_minor),
            "line_items[0][price_data][product_data][name]": description,
        }
        try:
            # The same key for the same order: a retried task gets the same checkout, not a second one.
            resp = http.post(f"{self.api_base}/v1/checkout/sessions", data=form,
                             headers={"Authorization": f"Bearer {self.secret_key}",
                                      "Idempotency-Key": f"crocevia-order-{order_id}"})
        except httpx.TransportError as exc:
            raise ProviderError(f"payment provider unreachable: {exc}", retryable=True) from exc
        if resp.status_code >= 400:
            raise ProviderError(f"payment provider answered {resp.status_code}: {resp.text[:200]}",
                                retryable=resp.status_code == 429 or resp.status_code >= 500)
        data = resp.json()
        return PaymentLink(ref=str(data["id"]), url=str(data["url"]))

    def parse_webhook(self, body: bytes, headers: dict[str, str]) -> PaymentEvent:
        given = headers.get(SIGNATURE_HEADER.lower(), "")
        parts = dict(p.split("=", 1) for p in given.split(",") if "=" in p)
        if "t" not in parts or "v1" not in parts or not parts["t"].isdigit():
            raise SignatureInvalid(f"missing or malformed {SIGNATURE_HEADER} header")
        if abs(time.time() - int(parts["t"])) > TOLERANCE_SECONDS:
            raise SignatureInvalid(f"{SIGNATURE_HEADER} timestamp is outside the tolerance")
        expected = stripe_signature(self.webhook_secret, body, int(parts["t"])).split("v1=", 1)[1]
        if not constant_time_equals(parts["v1"], expected):
            raise SignatureInvalid(f"{SIGNATURE_HEADER} does not match the body")
        try:
            event: dict[str, Any] = json.loads(body)
            etype, obj = str(event["type"]), event["data"]["object"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationFailed("not a Stripe event", field="body") from exc
        if etype == "checkout.session.completed" and obj.get("payment_status") == "paid":
            return PaymentEvent("paid", str(obj["id"]), etype)
        if etype == "charge.refunded" and obj.get("checkout_session"):
            return PaymentEvent("refunded", str(obj["checkout_session"]), etype)
        return PaymentEvent("ignored", str(obj.get("id", "")), etype)
