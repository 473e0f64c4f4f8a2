"""The browser tests need chromium and say so: a missing binary fails the test (never a skip, never an install)."""

from __future__ import annotations

import pytest

from tests.report import browser


def test_a_missing_chromium_fails_the_test_with_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.fail.Exception, match="make test"):
        browser.require_chromium()


def test_chromium_is_here() -> None:
    assert browser.require_chromium() == browser.CHROMIUM
