"""Which campaign a customer's message answers: the flows with a ``campaign_reply`` or ``campaigns``
trigger start on it.

A message answers a campaign when it quotes the campaign's message (the channel's reply-to), or when the
last thing said in the conversation before it was the campaign's message, sent within ``REPLY_WINDOW``.
Asked only when some active flow has such a trigger, so other workspaces' turns pay nothing for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crocevia.storage.tables import Campaign, CampaignRecipient, Conversation, Message

REPLY_WINDOW = timedelta(days=7)


def campaign_answered_in(s: Session, msg: Message, conv: Conversation, now: datetime) -> str | None:
    """The name of the campaign whose message ``msg`` answers, or None."""
    target = msg.reply_to_id
    if target is None:
        last_out = s.execute(select(Message.id, Message.created_at).where(
            Message.conversation_id == conv.id, Message.direction == "out", Message.id < msg.id)
            .order_by(Message.id.desc()).limit(1)).first()
        if last_out is None or last_out[1] < now - REPLY_WINDOW:
            return None
        target = int(last_out[0])
    return s.scalar(select(Campaign.name).join(CampaignRecipient, CampaignRecipient.campaign_id == Campaign.id).where(
        CampaignRecipient.workspace_id == conv.workspace_id, CampaignRecipient.contact_id == conv.contact_id,
        CampaignRecipient.message_id == target).limit(1))

