"""Headless Chromium for the UI tests: Debian's binary driven by Playwright (never Playwright's own download).

`browser` is an async fixture; `Page`s come from `open_page`, which records console errors and uncaught page
errors so a test can assert the page ran clean.  Screenshots go to test-artifacts/ (git-ignored)."""
from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hub.config import Config
from tests.hubtest import RunningHub, running_hub
from tests.services import need

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    return os.environ.get("HUB_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Tab:
    """A page plus what went wrong on it."""

    page: Any
    errors: list[str] = field(default_factory=list)

    def unexpected(self, *allowed: str) -> list[str]:
        """Errors other than those mentioning one of `allowed` (e.g. a URL the test knows answers 404)."""
        return [e for e in self.errors if not any(a in e for a in allowed)]

    async def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await self.page.screenshot(path=str(path))
        return path


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    exe = chromium_path()
    need("chromium binary on PATH", exe is not None)
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        need("the playwright Python package", False)
        raise
    async with async_playwright() as p:
        # launch() gives every run its own temporary profile directory: nothing leaks between tests.
        browser = await p.chromium.launch(executable_path=exe, headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


PHONE = {"width": 390, "height": 844}


async def open_page(browser: Any, url: str, *, locale: str = "en-US", timezone_id: str = "Asia/Bangkok",
                    viewport: dict[str, int] | None = None, color_scheme: str = "light", permissions: list[str] | None = None,
                    init_script: str | None = None) -> Tab:
    """A new browser context (its own storage: a separate person) with one page at `url`; `viewport=PHONE` for a
    phone, `color_scheme="dark"` for a system in dark mode, `permissions` granted up front (["notifications"])."""
    context = await browser.new_context(locale=locale, timezone_id=timezone_id, viewport=viewport or {"width": 1280, "height": 820},
                                        color_scheme=color_scheme, permissions=permissions or [])
    context.set_default_timeout(10_000)
    if init_script:
        await context.add_init_script(init_script)
    page = await context.new_page()
    tab = Tab(page)
    page.on("pageerror", lambda exc: tab.errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: tab.errors.append(f"console: {msg.text} at {msg.location.get('url', '')}") if msg.type == "error" else None)
    await page.goto(url)
    return tab


@asynccontextmanager
async def hub_for(browser: Any, config: Config, **kw: Any) -> AsyncIterator[RunningHub]:
    """A running hub whose browser contexts are closed before the server stops: an open page keeps its
    WebSockets up, and the server would otherwise wait out its shutdown timeout for them."""
    async with running_hub(config, **kw) as h:
        try:
            yield h
        finally:
            for context in list(browser.contexts):
                await context.close()


async def console_login(browser: Any, h: RunningHub, email: str, *, lang: str | None = None, password: str = "secret-pass-1",
                        **context: Any) -> Tab:
    """An agent logged in to /console in a context of its own, with the live socket up (`context`: open_page's)."""
    tab = await open_page(browser, h.url + "/console", **context)
    page = tab.page
    if lang:
        await page.select_option("#lang", lang)  # the console reloads in that language
        await page.locator(f"html[lang={lang}]").wait_for(state="attached")
    await page.fill("#login-email", email)
    await page.fill("#login-password", password)
    await page.press("#login-password", "Enter")
    await page.locator(".live.online").wait_for()
    return tab


async def say(tab: Tab, text: str) -> None:
    """The customer sends `text` from the widget and waits for the server's ack to show."""
    page = tab.page
    before = await page.locator(".msg.from-customer").count()
    await page.fill("#hubchat-input", text)
    await page.press("#hubchat-input", "Enter")
    await page.locator(".msg.from-customer .state.delivered").nth(before).wait_for()
