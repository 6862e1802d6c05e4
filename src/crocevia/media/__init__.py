"""Attachments: a storage interface with local-disk and S3-compatible back ends."""
