"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium, never Playwright's download.

Locally a missing Chromium skips a browser test; under CI (CI=true, as .ci/run sets it) it fails,
so a broken install step cannot hide behind a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: no headless Chromium at {CHROMIUM} (.ci/run installs Debian's chromium)")
    pytest.skip(f"no headless Chromium at {CHROMIUM}")
