"""The house rules of the runtime package (issue 13): modules a newcomer reads in one sitting,
settings read in one place, the landing contract defined once, no dev tooling in the image."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from fsm import contract

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "plugins" / "fsm"
RUNTIME = sorted(p for p in PACKAGE.rglob("*.py") if "vendor" not in p.parts)
DEV = sorted((ROOT / "dev").rglob("*.py"))  # the generator, runner, bench: read by newcomers too
MAX_LINES = 600


def test_no_module_is_too_long_and_each_says_its_job():
    modules = [*RUNTIME, *sorted((ROOT / "dags").glob("*.py")), *DEV]
    too_long = {
        str(p.relative_to(ROOT)): n for p in modules if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"split these (> {MAX_LINES} lines): {too_long}"
    silent = [str(p.relative_to(ROOT)) for p in modules if not ast.get_docstring(ast.parse(p.read_text(encoding="utf-8")))]
    assert not silent, f"start these with a line on their job: {silent}"


def test_settings_are_read_only_in_config():
    codes = set(contract.MARKING_CODES)
    offenders = {}
    for p in RUNTIME:
        if p.name == "config.py" and p.parent == PACKAGE:
            continue
        text = p.read_text(encoding="utf-8")
        # a setting's variable name (FSM_REPORTS_DIR, FSM_RULE_…) outside config; marking codes are data
        names = {t for t in re.findall(r"(?<![A-Za-z0-9_])FSM_[A-Z0-9_]*", text) if t not in codes}
        if names:
            offenders[str(p.relative_to(ROOT))] = sorted(names)
        if re.search(r"os\.(environ|getenv)\b[^\n]*FSM", text):
            offenders.setdefault(str(p.relative_to(ROOT)), []).append("os.environ read of FSM_*")
    assert not offenders, f"read these through fsm.config (settings(), rules(), env_name()): {offenders}"


def test_the_feed_list_is_defined_once():
    """Only fsm.contract lists the feeds (a tuple, list, set or dict naming them all); everyone else reads it."""
    feeds = set(contract.FEED_NAMES)
    files = [*RUNTIME, *sorted((ROOT / "dags").glob("*.py")), *sorted((ROOT / "dev").rglob("*.py"))]
    restating = []
    for p in files:
        if p == PACKAGE / "contract.py":
            continue
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
            if isinstance(node, (ast.Dict, ast.Tuple, ast.List, ast.Set)) and feeds <= {getattr(i, "value", None) for i in items}:
                restating.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not restating, f"these restate the feed list; read fsm.contract.FEEDS: {restating}"


def test_the_dag_builds_one_ingest_task_per_contract_feed():
    text = (ROOT / "dags" / "fsm_monthly_monitoring.py").read_text(encoding="utf-8")
    assert "for feed in FEED_NAMES" in text and "from fsm.contract import FEED_NAMES" in text
