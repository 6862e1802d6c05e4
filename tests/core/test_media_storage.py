"""Attachments go through one storage interface: local disk, or an S3-compatible object store.

The S3 test talks real HTTP to moto's S3 server (a local emulator of the S3 API), like the
channel tests talk to the provider emulators.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crocevia.errors import NotFound, ValidationFailed
from crocevia.media.storage import LocalMediaStorage, MediaStorage, S3MediaStorage
from crocevia.settings import Settings


@pytest.fixture
def s3_storage() -> Iterator[S3MediaStorage]:
    moto_server = pytest.importorskip("moto.server")
    from crocevia.channels.emulator.server import free_port

    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        settings = Settings(media_backend="s3", s3_endpoint_url=f"http://127.0.0.1:{port}", s3_bucket="crocevia",
                            s3_access_key="test", s3_secret_key="test")
        storage = S3MediaStorage(settings)
        storage.client.create_bucket(Bucket="crocevia")
        yield storage
    finally:
        server.stop()


def _roundtrip(storage: MediaStorage) -> None:
    storage.put("1/ab/abc", b"%PDF-1.7 fattura", "application/pdf")
    assert storage.get("1/ab/abc") == b"%PDF-1.7 fattura"
    storage.delete("1/ab/abc")
    with pytest.raises(NotFound):
        storage.get("1/ab/abc")


def test_local_disk_storage_roundtrip_and_no_escape(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path / "media")
    _roundtrip(storage)
    with pytest.raises(ValidationFailed):
        storage.put("../../etc/passwd", b"x", "text/plain")


def test_s3_storage_roundtrip(s3_storage: S3MediaStorage) -> None:
    _roundtrip(s3_storage)
