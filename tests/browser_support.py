"""Headless Chromium for browser tests: Debian's /usr/bin/chromium driven by Python Playwright.

Never downloads a browser. When Chromium is missing the tests skip with the command that
installs it. Reuse in any test module::

    from tests.browser_support import browser_fixture, new_page
    browser = browser_fixture()          # a module-scoped fixture named "browser"

    @pytest.mark.browser
    def test_x(browser, hub): page = new_page(browser); page.goto(hub.url + "/...")
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Literal

import pytest

Scope = Literal["session", "package", "module", "class", "function"]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    """Where Chromium is, or None."""
    return CHROMIUM if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK) else None


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    return path


def browser_fixture(scope: Scope = "module") -> Any:
    """A pytest fixture (assign it to a module-level name) yielding a headless Playwright Browser."""

    @pytest.fixture(scope=scope)
    def browser() -> Iterator[Any]:
        path = require_chromium()
        from playwright.sync_api import expect, sync_playwright

        # CI machines have 2 busy cores: a generous ceiling, never a cost when the page is quick.
        expect.set_options(timeout=15_000)
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=path, headless=True, args=LAUNCH_ARGS)
            try:
                yield b
            finally:
                b.close()

    return browser


def new_page(browser: Any, **context: Any) -> Any:
    """A page in a fresh context (own localStorage and cookies); end it with ``page.context.close()``."""
    ctx = browser.new_context(**context)
    ctx.set_default_timeout(20_000)
    return ctx.new_page()
