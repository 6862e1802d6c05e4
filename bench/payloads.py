"""The webhook stream the load generator sends: signed sandbox deliveries, as the provider sends them.

Deterministic for a seed. Every delivery carries a new provider message id, except a small
share of re-deliveries (providers retry on timeouts) that repeat an earlier body byte for byte.
Senders follow a skewed distribution over a pool, so the run both creates contacts and
conversations and keeps finding existing ones; a tenth of the messages are group messages.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from crocevia.channels.sandbox.adapter import SIGNATURE_HEADER, sign

_NAMES = ("Mario Rossi", "Giulia Bianchi", "Luca Verdi", "Sofia Russo", "Marco Ferrari", "Anna Esposito",
          "John Smith", "Emma Brown", "Ahmed Ali", "Chen Wei")
_TEXTS = (
    "Buongiorno, avete un tavolo per stasera?",
    "Ok grazie",
    "A che ora aprite domenica?",
    "Vorrei spostare la prenotazione di venerdì alle 21, siamo in sei invece di quattro. È possibile?",
    "Hi! Is my order #48213 shipped yet? The tracking page says nothing since Monday.",
    "👍",
    "Can I pay by bank transfer?",
    "Perfetto, a domani",
    "Il pacco è arrivato danneggiato, posso mandare una foto?",
    "What's the price of the large one in blue? And do you deliver to Milano?",
)


@dataclass
class Delivery:
    """One HTTP request, serialised, plus the provider message id it carries."""

    raw: bytes
    message_id: str
    redelivery: bool


@dataclass
class SandboxStream:
    """An endless iterator of signed ``POST /webhooks/sandbox/<public_id>`` requests."""

    public_id: str
    secret: str
    host: str
    seed: int = 1
    senders: int = 2000
    groups: int = 50
    redelivery_rate: float = 0.01
    run_tag: str = "r"
    _rng: random.Random = field(init=False)
    _recent: list[Delivery] = field(init=False, default_factory=list)
    _n: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def __iter__(self) -> Iterator[Delivery]:
        return self

    def __next__(self) -> Delivery:
        rng = self._rng
        if self._recent and rng.random() < self.redelivery_rate:
            prev = rng.choice(self._recent)
            return Delivery(prev.raw, prev.message_id, True)
        self._n += 1
        # r² skews towards the low end of the pool: a few chatty senders, a long tail of new ones.
        who = int(self.senders * rng.random() ** 2)
        event: dict[str, object] = {
            "type": "message",
            "id": f"{self.run_tag}-{self._n}",
            "from": f"+39333{who:07d}",
            "name": _NAMES[who % len(_NAMES)],
            "text": rng.choice(_TEXTS),
            "timestamp": 1_700_000_000 + self._n,
        }
        if rng.random() < 0.1:
            event["group"] = f"grp-{rng.randrange(self.groups)}"
        body = json.dumps({"events": [event]}, separators=(",", ":")).encode()
        delivery = Delivery(self.render(body), str(event["id"]), False)
        self._recent.append(delivery)
        if len(self._recent) > 200:
            del self._recent[:100]
        return delivery

    def render(self, body: bytes) -> bytes:
        head = (
            f"POST /webhooks/sandbox/{self.public_id} HTTP/1.1\r\n"
            f"Host: {self.host}\r\n"
            "User-Agent: sandbox-webhooks/1.0\r\n"
            "Content-Type: application/json\r\n"
            f"{SIGNATURE_HEADER}: {sign(self.secret, body)}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "\r\n"
        )
        return head.encode() + body


def retarget(raw: bytes, path: str) -> bytes:
    """The same request sent to another path (the bare-insert baseline gets identical bytes)."""
    line_end = raw.index(b"\r\n")
    method, _old, version = raw[:line_end].split(b" ")
    return b" ".join((method, path.encode(), version)) + raw[line_end:]
