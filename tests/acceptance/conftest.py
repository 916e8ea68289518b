"""What the browser tests share: Debian's Chromium driven by Playwright, and
pages opened on a gateway, watched for errors the page did not mean to show.

Without Chromium these tests skip with one line saying how to get it, except
on CI (CI=true), where they fail: CI must run them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, sync_playwright

ARTIFACTS = Path(__file__).parents[1] / "artifacts"  # tests/artifacts, git-ignored
WAIT = 60_000  # ms: generous, for a shared 2-core machine
HOW = "the web page tests need Chromium: `apt-get install chromium chromium-driver` (make setup)"


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{HOW} ({reason})")
    pytest.skip(f"{HOW} ({reason})")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        _missing("no chromium on PATH")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium,
            headless=True,
            # precise memory info: performance.memory to the byte, not bucketed
            args=["--autoplay-policy=no-user-gesture-required", "--enable-precise-memory-info"],
        )
        yield launched
        launched.close()


@dataclass
class Ui:
    """A page, and what went wrong in it that the page did not mean to show."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def row(self, text: str) -> Locator:
        return self.page.locator("li.task").filter(has_text=text)

    def submit(self, title: str, plot: str = "") -> None:
        self.page.get_by_label("Title").fill(title)
        self.page.get_by_label("Plot").fill(plot)
        self.page.get_by_role("button", name="Create video").click()

    def create(self, title: str, plot: str = "") -> Locator:
        """Submit the form; the new row."""
        self.submit(title, plot)
        task = self.row(title).get_attribute("data-task", timeout=WAIT)
        return self.page.locator(f'li[data-task="{task}"]')  # whatever rows come later

    def screenshot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=ARTIFACTS / name, full_page=True)


@pytest.fixture
def open_ui(browser: Browser, start_gateway: Any) -> Iterator[Any]:
    """Opens pages; closed before the gateways stop (open streams would hold them)."""
    contexts = []

    def open_(url: str, width: int = 900) -> Ui:
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        ui = Ui(context.new_page())
        ui.page.on("pageerror", lambda error: ui.problems.append(str(error)))
        ui.page.on(
            "console",
            lambda message: message.type == "error" and ui.problems.append(message.text),
        )
        ui.page.on("dialog", lambda dialog: ui.problems.append(f"dialog: {dialog.message}"))
        # Chromium's console line for a failed load names no URL: say which.
        ui.page.on("response", lambda response: _server_error(response, ui.problems))
        ui.page.goto(url)
        return ui

    yield open_
    for context in contexts:
        context.close()


def _server_error(response: Any, problems: list[str]) -> None:
    if response.status >= 500:
        problems.append(f"{response.status} {response.request.method} {response.url}")
