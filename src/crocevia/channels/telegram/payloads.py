"""The parts of the Bot API's Update object the hub reads (https://core.telegram.org/bots/api#update).

Only the fields we use are modelled; Telegram adds fields often and the rest is ignored.
Field names follow the Bot API exactly (python-telegram-bot ``Update.to_dict()`` emits the same).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class TgUser(_Model):
    id: int
    is_bot: bool = False
    first_name: str = ""
    last_name: str = ""
    username: str = ""
    language_code: str = ""

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class TgChat(_Model):
    id: int
    type: str  # private, group, supergroup, channel
    title: str = ""
    username: str = ""


class TgPhotoSize(_Model):
    file_id: str
    file_unique_id: str = ""
    width: int = 0
    height: int = 0
    file_size: int | None = None


class TgFile(_Model):
    """Document, video, voice, audio, animation, video note: what we need is the same."""

    file_id: str
    file_unique_id: str = ""
    file_name: str = ""
    mime_type: str = ""
    file_size: int | None = None


class TgSticker(TgFile):
    emoji: str = ""
    is_animated: bool = False
    is_video: bool = False


class TgLocation(_Model):
    latitude: float
    longitude: float


class TgVenue(_Model):
    location: TgLocation
    title: str = ""
    address: str = ""


class TgContact(_Model):
    phone_number: str
    first_name: str = ""
    last_name: str = ""
    user_id: int | None = None
    vcard: str = ""


class TgInlineButton(_Model):
    text: str
    callback_data: str = ""


class TgInlineKeyboard(_Model):
    inline_keyboard: list[list[TgInlineButton]] = []


class TgMessage(_Model):
    # Unknown content (polls, dice, service messages...) is kept to tell them apart.
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    message_id: int
    date: int
    chat: TgChat
    from_: TgUser | None = Field(default=None, alias="from")
    sender_chat: TgChat | None = None
    message_thread_id: int | None = None
    edit_date: int | None = None
    text: str = ""
    caption: str = ""
    photo: list[TgPhotoSize] = []
    document: TgFile | None = None
    video: TgFile | None = None
    voice: TgFile | None = None
    audio: TgFile | None = None
    animation: TgFile | None = None
    video_note: TgFile | None = None
    sticker: TgSticker | None = None
    location: TgLocation | None = None
    venue: TgVenue | None = None
    contact: TgContact | None = None
    reply_to_message: TgMessage | None = None
    reply_markup: TgInlineKeyboard | None = None


class TgCallbackQuery(_Model):
    id: str
    from_: TgUser = Field(alias="from")
    # Absent for buttons under inline-mode messages; date 0 when the message is too old.
    message: TgMessage | None = None
    inline_message_id: str = ""
    chat_instance: str = ""
    data: str = ""


class TgReactionType(_Model):
    type: str  # emoji, custom_emoji, paid
    emoji: str = ""
    custom_emoji_id: str = ""


class TgMessageReaction(_Model):
    chat: TgChat
    message_id: int
    date: int
    user: TgUser | None = None
    actor_chat: TgChat | None = None  # anonymous group admins react as the chat
    old_reaction: list[TgReactionType] = []
    new_reaction: list[TgReactionType] = []


class TgChatMemberStatus(_Model):
    status: str


class TgChatMemberUpdated(_Model):
    chat: TgChat
    from_: TgUser = Field(alias="from")
    date: int
    new_chat_member: TgChatMemberStatus


class TgUpdate(_Model):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    update_id: int
    message: TgMessage | None = None
    edited_message: TgMessage | None = None
    channel_post: TgMessage | None = None
    edited_channel_post: TgMessage | None = None
    callback_query: TgCallbackQuery | None = None
    message_reaction: TgMessageReaction | None = None
    my_chat_member: TgChatMemberUpdated | None = None
