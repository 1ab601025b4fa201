"""On the synthetic landing zone: every injected reject and defect is found, in the counts injected."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from fsm.contract import MARKING_RULES
from fsm.ingest import ingest_feed
from fsm.months import label, month_range
from fsm.quality import check_markings

pytestmark = pytest.mark.slow
LAST = "2018-06"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from fsm_dev.synth import generate

    root = tmp_path_factory.mktemp("synthetic_dq") / "landing"
    return root, generate(root, seed=11, scale="tiny", start="2017-08", end=LAST)


def test_rejects_and_dq_violations_match_what_the_generator_injected(wh, synthetic):
    root, manifest = synthetic
    found: dict[str, dict[str, int]] = {r: {} for r in MARKING_RULES}
    for m in month_range(date(2017, 8, 1), date.fromisoformat(LAST + "-01")):
        for feed in ("markings", "ydelse", "tilbud", "timer"):
            ingest_feed(feed, m, str(root))
        for rule, n in check_markings(m)["violations"].items():
            found[rule][label(m)] = n

    with wh.connect() as conn:
        rejects = {}
        for file, line in conn.execute("select file, line_no from ingest_rejects").fetchall():
            rejects.setdefault(file, set()).add(line)
    expected_rejects = {
        Path(rel).name: {r["line"] for r in info["rejects"]} for rel, info in manifest["files"].items() if info["rejects"]
    }
    assert rejects == expected_rejects

    for rule in MARKING_RULES:
        if rule not in manifest["dq_defects"]:  # an FSM2 rule on FSM1-only data: nothing to find
            assert not any(found[rule].values()), rule
            continue
        want = {m: n for m, n in manifest["dq_defects"][rule]["by_month"].items() if m <= LAST}
        got = {m: n for m, n in found[rule].items() if n or want.get(m)}
        assert got == {m: n for m, n in want.items() if n}, rule
        assert sum(want.values()) > 0, f"the generator injected no {rule}"
