"""What CI checks (issue 14): lint before the tests, browser tests that fail rather than skip under CI,
a pre-commit config with ruff, and Airflow's deprecation warnings visible."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_ci_lints_then_tests_as_ci():
    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if not line.strip().startswith("#")]
    assert "make lint" in lines and "CI=true make test" in lines
    assert lines.index("make lint") < lines.index("CI=true make test")


def test_pre_commit_runs_ruff_check_and_format():
    hooks = [h for repo in yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"] for h in repo["hooks"]]
    entries = {h["id"]: h["entry"] for h in hooks}
    assert "ruff check" in entries["ruff-check"] and "ruff format" in entries["ruff-format"]
    rules = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]["select"]
    assert "AIR" in rules


def test_deprecation_warnings_are_not_ignored_wholesale():
    filters = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["filterwarnings"]
    assert "ignore::DeprecationWarning" not in filters
    assert "error::DeprecationWarning:fsm" in filters  # RemovedInAirflow4Warning is a DeprecationWarning
    assert not any("airflow." in f for f in filters), "a filter naming an Airflow class imports Airflow before conftest"


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_chromium_fails_under_ci_and_skips_locally(monkeypatch, tmp_path, ci, outcome):
    from support import browser

    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome):
        browser.require_chromium()
