"""Steps the browser tests share."""

from __future__ import annotations

from playwright.sync_api import Locator, Page


def follow(page: Page, link: Locator) -> None:
    """Click a link and wait until the new page has loaded: its scripts (htmx) answer a changed
    entry only from then on, so typing earlier would be lost on a busy machine."""
    with page.expect_navigation():
        link.click()
