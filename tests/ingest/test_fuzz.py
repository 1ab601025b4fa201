"""Issue 9, fuzzed input: over 1,000 seeded mutations of valid landing files across every feed.

Every file ends either loaded (rows read = loaded + rejected, staging and rejects agree with
ingest_file, every physical line accounted for) or as a LandingError naming the file and the
problem, with nothing half-loaded. Never another exception, never a silently lost row, never a
raw CPR in the warehouse or a message. The outcome table by mutation kind is printed (-s).

Reproduce one failure: hardening_fuzz.one_case(bases, kind, case_seed) with the kind and seed
printed in the failure message.
"""

from __future__ import annotations

import os

import pytest

from support.fuzz import MUTATIONS, cases, hand_bases, run_case, summary_table, synth_bases

SEED = int(os.environ.get("FSM_FUZZ_SEED", 20170801))
PER_KIND = int(os.environ.get("FSM_FUZZ_PER_KIND", 34))  # 32 kinds x 34 = 1,088 files


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    from fsm_dev.synth import generate

    root = tmp_path_factory.mktemp("fuzz_synth") / "landing"
    generate(root, seed=5, scale="tiny", start="2017-08", end="2017-09")
    return synth_bases(root) + hand_bases()


def _fuzz(wh, bases, tmp_path, monkeypatch, per_kind: int):
    monkeypatch.setenv("FSM_INGEST_CHUNK_ROWS", "16")  # several chunks per file: chunk seams are fuzzed too
    all_cprs = set().union(*(b.cprs for b in bases))
    todo = cases(bases, SEED, per_kind)
    outcomes = [run_case(c, tmp_path / "landing", wh.connect, all_cprs) for c in todo]
    print(f"\nfuzz seed {SEED}: {len(outcomes)} mutated files\n" + summary_table(outcomes))
    bugs = [o for o in outcomes if o.status == "bug"]
    assert not bugs, "\n\n".join(f"[{o.case.kind} seed={o.case.seed} {o.case.name} {o.case.note}] {o.message}" for o in bugs[:8])

    with wh.connect() as conn:  # no raw CPR anywhere in the warehouse after all that
        cols = conn.execute(
            "select table_name, column_name from information_schema.columns"
            " where table_schema = 'public' and data_type in ('text', 'character varying')"
        ).fetchall()
        pattern = "|".join(sorted({c for c in all_cprs} | {f"{c[:6]}-{c[6:]}" for c in all_cprs}))
        for table, column in cols:
            hits = conn.execute(f'select "{column}" from {table} where "{column}" ~ %s limit 3', (pattern,)).fetchall()
            assert not hits, f"{table}.{column}: raw CPR(s) in (synthetic) {[h[0][:300] for h in hits]}"
    return outcomes


@pytest.mark.slow
def test_fuzzed_landing_files_load_or_fail_clearly(wh, bases, tmp_path, monkeypatch):
    outcomes = _fuzz(wh, bases, tmp_path, monkeypatch, PER_KIND)
    assert len(outcomes) >= 1000
    assert {o.case.feed for o in outcomes} == {"markings", "ydelse", "tilbud", "timer", "uddannelse", "allocations"}
    by_kind = {k: {o.status for o in outcomes if o.case.kind == k} for k in MUTATIONS}
    # The fuzzer reaches both outcomes (else it tests too little); the valid-dialect kinds always load.
    assert {"loaded", "whole-file"} <= {o.status for o in outcomes}
    for kind in ("comma_dialect", "quoted_fields", "whitespace", "many_rows", "latin1_ascii_only"):
        assert by_kind[kind] == {"loaded"}, kind
    for kind in ("utf16", "latin1"):
        assert by_kind[kind] == {"whole-file"}, kind


def test_fuzz_smoke(wh, bases, tmp_path, monkeypatch):
    """Three files of every kind: fast enough for `make test-fast`."""
    outcomes = _fuzz(wh, bases, tmp_path, monkeypatch, 3)
    assert len(outcomes) == 3 * len(MUTATIONS)
