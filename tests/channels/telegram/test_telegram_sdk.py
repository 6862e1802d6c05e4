"""Payloads built with python-telegram-bot, Telegram's most used Python SDK, are accepted.

PTB's objects serialise to the Bot API's exact JSON (``to_dict``), so they stand in for what
Telegram posts; and PTB's own Bot client, pointed at the emulator, must understand its answers.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from crocevia.channels.base import ChannelConfig, InboundMessage, MessageEdit, Reaction
from crocevia.channels.emulator.server import RunningServer
from crocevia.channels.registry import get_adapter
from crocevia.channels.telegram import testkit
from crocevia.domain.enums import MessageKind
from crocevia.errors import SignatureInvalid

ADAPTER = get_adapter("telegram")
CFG = testkit.config()
WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
ANA = telegram.User(id=123456789, first_name="Ana", is_bot=False, last_name="Bianchi", username="ana_b")
PRIVATE = telegram.Chat(id=123456789, type=telegram.constants.ChatType.PRIVATE)
GROUP = telegram.Chat(id=-1001987654321, type=telegram.constants.ChatType.SUPERGROUP, title="Clienti")


def _request(update: telegram.Update) -> bytes:
    return json.dumps(update.to_dict()).encode()


def _parse(update: telegram.Update) -> object:
    req = testkit.signed_request(_request(update), CFG)
    ADAPTER.verify(req, CFG)
    events = ADAPTER.parse(req, CFG)
    assert len(events) == 1
    return events[0]


def test_ptb_text_message_in_a_group() -> None:
    msg = telegram.Message(message_id=7, date=WHEN, chat=GROUP, from_user=ANA, text="Ciao a tutti")
    ev = _parse(telegram.Update(update_id=1, message=msg))
    assert isinstance(ev, InboundMessage)
    assert (ev.external_message_id, ev.sender_id, ev.thread_id, ev.text, ev.timestamp) == (
        "-1001987654321:7", "123456789", "-1001987654321", "Ciao a tutti", WHEN)


def test_ptb_photo_message() -> None:
    sizes = (telegram.PhotoSize("small-id", "u1", 90, 90), telegram.PhotoSize("big-id", "u2", 1280, 960))
    msg = telegram.Message(message_id=8, date=WHEN, chat=PRIVATE, from_user=ANA, photo=sizes, caption="Eccola")
    ev = _parse(telegram.Update(update_id=2, message=msg))
    assert isinstance(ev, InboundMessage)
    assert ev.kind is MessageKind.MEDIA
    assert ev.media[0].provider_media_id == "big-id"
    assert ev.text == "Eccola"


def test_ptb_callback_query_from_an_inline_keyboard() -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Domani", callback_data="day_tomorrow")]])
    shown = telegram.Message(message_id=9, date=WHEN, chat=PRIVATE, text="Quando?", reply_markup=keyboard)
    cq = telegram.CallbackQuery(id="cq-1", from_user=ANA, chat_instance="ci", data="day_tomorrow", message=shown)
    ev = _parse(telegram.Update(update_id=3, callback_query=cq))
    assert isinstance(ev, InboundMessage)
    assert ev.kind is MessageKind.BUTTON_REPLY
    assert ev.content["button_id"] == "day_tomorrow"
    assert ev.text == "Domani"


def test_ptb_reaction_update_without_old_reactions() -> None:
    # PTB leaves out empty lists, so old_reaction may be absent altogether.
    upd = telegram.MessageReactionUpdated(chat=PRIVATE, message_id=9, date=WHEN, old_reaction=(),
                                          new_reaction=(telegram.ReactionTypeEmoji("❤"),), user=ANA)
    assert _parse(telegram.Update(update_id=4, message_reaction=upd)) == Reaction(
        target_external_id="123456789:9", sender_id="123456789", emoji="❤", timestamp=WHEN)


def test_ptb_edited_message() -> None:
    msg = telegram.Message(message_id=10, date=WHEN, chat=PRIVATE, from_user=ANA, text="corretto",
                           edit_date=datetime(2025, 3, 1, 9, 31, tzinfo=UTC))
    ev = _parse(telegram.Update(update_id=5, edited_message=msg))
    assert isinstance(ev, MessageEdit)
    assert ev.new_text == "corretto"
    assert ev.external_message_id == "123456789:10"


def test_ptb_update_with_a_changed_secret_byte_is_refused() -> None:
    msg = telegram.Message(message_id=11, date=WHEN, chat=PRIVATE, from_user=ANA, text="x")
    req = testkit.tamper(testkit.signed_request(_request(telegram.Update(update_id=6, message=msg)), CFG))
    with pytest.raises(SignatureInvalid):
        ADAPTER.verify(req, CFG)


def test_ptb_bot_client_understands_the_emulator(tg_emulator: RunningServer, tg_cfg: ChannelConfig) -> None:
    """PTB's own client, pointed at the emulator, sends and decodes the answers."""

    async def run() -> tuple[telegram.User, telegram.Message]:
        bot = telegram.Bot(testkit.BOT_TOKEN, base_url=f"{tg_emulator.url}/bot",
                           base_file_url=f"{tg_emulator.url}/file/bot")
        async with bot:
            me = await bot.get_me()
            sent = await bot.send_message(
                chat_id=123456789, text="Prenotazione confermata",
                reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Annulla", callback_data="cancel")]]),
            )
            return me, sent

    me, sent = asyncio.run(run())
    assert me.username == "trattoria_bot"
    assert sent.text == "Prenotazione confermata"
    assert sent.chat.id == 123456789
    assert sent.message_id >= 1
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "cancel"


def test_ptb_sees_blocked_user_as_forbidden(tg_emulator: RunningServer, tg_cfg: ChannelConfig) -> None:
    async def run() -> None:
        bot = telegram.Bot(testkit.BOT_TOKEN, base_url=f"{tg_emulator.url}/bot")
        async with bot:
            await bot.send_message(chat_id=666, text="hello")

    with pytest.raises(telegram.error.Forbidden, match="bot was blocked by the user"):
        asyncio.run(run())
