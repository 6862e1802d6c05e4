"""What a customer's message means for promotion, decided inside the inbound transaction.

- An unsubscribe word ("STOP", "ANNULLA", "DISISCRIVIMI"...) on any channel opts the contact out of
  marketing on that channel at once (SMS keywords are already handled by the SMS adapter).
- An opt-in word sent as the whole message ("START", "ISCRIVIMI", "RIATTIVA"...) opts them back in on
  that channel, recorded with the message as proof. "YES" is not one here: it answers too many questions
  to mean consent to marketing.
- A reply to an open CSAT/NPS question is scored (services/surveys.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from crocevia.channels.sms.keywords import classify, normalize
from crocevia.domain.enums import ConsentStatus
from crocevia.services import surveys
from crocevia.services.contacts import set_consent_in

UNSUBSCRIBE_BUTTON = "unsubscribe"
# Opt-in words that only mean "send me your messages" (channels/sms/keywords.py has the full SMS list).
NOT_CONSENT = frozenset({"YES"})


def on_inbound_in(s: Session, *, workspace_id: int, channel_id: int, contact_id: int, conversation_id: int,
                  message_id: int, text: str, content: dict[str, Any], now: datetime,
                  survey_waiting: bool = True) -> None:
    """Consent keywords, then survey answers (``survey_waiting``: False when the caller already
    knows no survey question waits for this contact on this channel)."""
    # The SMS adapter already acted on its own keywords ("keyword" in content).
    kind = None if "keyword" in content else classify(text)
    status = None
    if "keyword" not in content and (kind == "opt_out" or content.get("id") == UNSUBSCRIBE_BUTTON):
        status = ConsentStatus.OPTED_OUT
    elif kind == "opt_in" and normalize(text) not in NOT_CONSENT:
        status = ConsentStatus.OPTED_IN
    if status is not None:
        # The reply itself is the proof: its words as the source, the message as the evidence.
        set_consent_in(s, workspace_id=workspace_id, contact_id=contact_id, channel_id=channel_id, status=status,
                       source=f"reply:{text.strip()[:20]}", evidence=f"message {message_id}", now=now)
        return
    if survey_waiting:
        surveys.on_inbound_in(s, channel_id=channel_id, contact_id=contact_id, conversation_id=conversation_id,
                              text=text, content=content, now=now)
