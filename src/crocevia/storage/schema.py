"""The whole schema in one metadata: core tables plus every feature package's tables."""

from __future__ import annotations

from sqlalchemy import MetaData

from crocevia.storage import tables


def metadata() -> MetaData:
    # Feature packages register tables by being imported here.
    return tables.Base.metadata
