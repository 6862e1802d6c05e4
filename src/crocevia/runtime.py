"""The long-lived parts a process shares, built once from settings (the composition root's box)."""

from __future__ import annotations

from dataclasses import dataclass, field

from crocevia.clock import Clock, SystemClock
from crocevia.events.bus import Event, EventBus, make_bus
from crocevia.media.storage import MediaStorage, make_media_storage
from crocevia.security import SecretBox
from crocevia.settings import Settings
from crocevia.storage.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: EventBus
    box: SecretBox
    media: MediaStorage
    clock: Clock = field(default_factory=SystemClock)

    @classmethod
    def from_settings(cls, settings: Settings, *, clock: Clock | None = None) -> Runtime:
        db = Database(settings.effective_database_url)
        bus = make_bus(settings.redis_url)
        rt = cls(
            settings=settings,
            db=db,
            bus=bus,
            box=SecretBox(settings.secret_key),
            media=make_media_storage(settings),
            clock=clock or SystemClock(),
        )

        def _publish(events: list[object]) -> None:
            bus.publish_many([e for e in events if isinstance(e, Event)])

        db.add_after_commit_hook(_publish)
        return rt

    def close(self) -> None:
        self.bus.stop()
        self.db.dispose()
