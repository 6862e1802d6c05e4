"""Turn a channel's stored credential mapping into its typed model, or a named ValidationFailed."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

from crocevia.channels.base import ChannelConfig
from crocevia.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


def load_credentials(model: type[M], cfg: ChannelConfig) -> M:
    try:
        return model.model_validate(dict(cfg.credentials))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "credentials"
        raise ValidationFailed(f"credentials.{field}: {first['msg']}", field=f"credentials.{field}") from exc
