"""Fixtures for the web chat tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.channels.webchat.webchat_support import Webchat, make_webchat
from tests.conftest import Hub


@pytest.fixture
def webchat(hub: Hub) -> Iterator[Webchat]:
    """A web chat channel on the real hub that only www.trattoria-crocevia.example may embed."""
    with make_webchat(hub) as w:
        yield w
