"""Local HTTP emulators of each provider's send and media API (tests, demo, benchmarks)."""
