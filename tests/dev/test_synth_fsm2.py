"""The synthetic landing zone with 'Flere skal med 2': deterministic, FSM1 unchanged, and the FSM2
manifest (defects and truth) re-derived here from the files alone with a naive reading of DOMAIN
F1–F9 (the interpretations in the manifest's truth_fsm2.note), so the pipeline can be reconciled."""

from __future__ import annotations

import csv
import itertools
import os
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from stdnum.dk import cpr as stdcpr

from fsm_dev.synth import DQ_RULES_FSM2, FSM2_PARTICIPANTS, REJECT_KINDS_FSM2, generate
from fsm_dev.synth.generator import FEED_COLUMNS

KOMMUNER_CSV = Path(__file__).resolve().parents[2] / "plugins" / "fsm" / "reference" / "kommuner.csv"
SEED = int(os.environ.get("FSM_SYNTH_TEST_SEED", "42"))
BOTH = ("FSM1", "FSM2")
FSM2_CODES = {"FSM2_GR2", "FSM2_STEPUP", "FRITAGELSE"}
MONTHS = pd.period_range("2019-01", "2021-12", freq="M").strftime("%Y-%m").tolist()
FILE_KEY = re.compile(r".*_(\d{4}-\d{2}(?:-\d{2})?)\.(csv|parquet)$")


# ----------------------------------------------------------------------------- fixtures and helpers
@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth2") / "landing"
    return out, generate(out, seed=SEED, scale="tiny", end="2021-12", programmes=BOTH)


def _month_end(label: str) -> date:
    y, m = int(label[:4]), int(label[5:7])
    return date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)


def _load(root: Path, manifest: dict, feed: str) -> pd.DataFrame:
    """The loadable rows of a feed (listed rejects left out), CPR without hyphen, with file_key."""
    frames = []
    for rel, info in manifest["files"].items():
        if info["feed"] != feed:
            continue
        bad = {r["line"] for r in info["rejects"]}
        with (root / rel).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter=";")
            assert next(reader) == FEED_COLUMNS[feed], rel
            good = [r for i, r in enumerate(reader) if i + 2 not in bad]
        df = pd.DataFrame(good, columns=FEED_COLUMNS[feed])
        df["file_key"] = FILE_KEY.fullmatch(rel).group(1)
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["cpr"] = df["cpr"].str.replace("-", "", regex=False)
    return df


@pytest.fixture(scope="module")
def feeds(zone) -> dict[str, pd.DataFrame]:
    root, manifest = zone
    return {feed: _load(root, manifest, feed) for feed in ("markings", "ydelse", "timer", "uddannelse")}


def _d(x: str) -> date | None:
    return date.fromisoformat(x[:10]) if x else None


def _aged_30(birth: date, day: date) -> bool:
    """birth + 30 years <= day (29 February -> 28 February, as date + interval in SQL)."""
    try:
        b30 = birth.replace(year=birth.year + 30)
    except ValueError:
        b30 = date(birth.year + 30, 2, 28)
    return b30 <= day


@pytest.fixture(scope="module")
def target(feeds) -> dict[str, pd.DataFrame]:
    """F7 per month, naively: cpr -> (kommune, herkomst) of the last qualifying week, 30+, participants."""
    yd = feeds["ydelse"]
    births = {c: stdcpr.get_birth_date(c) for c in yd["cpr"].unique()}
    out = {}
    for m in MONTHS:
        y = yd[yd["file_key"] == m]
        codes = {"KONTANTHJAELP", "OVERGANGSYDELSE"} | ({"INTEGRATIONSYDELSE"} if m < "2020-01" else set())
        q = y[y["ydelse_kode"].isin(codes) & (y["matchgruppe"] == "AKTIVITETSPARAT") & (y["introduktionsprogram"] == "0")]
        last = q.sort_values("iso_week").groupby("cpr").tail(1)
        end = _month_end(m)
        aged = [_aged_30(births[c], end) for c in last["cpr"]]
        ok = pd.Series(aged, index=last.index, dtype=bool) & last["kommune_kode"].astype(int).isin(FSM2_PARTICIPANTS)
        out[m] = last[ok].set_index("cpr")[["kommune_kode", "herkomst"]]
    return out


def _in_force(snap: pd.DataFrame, code: str, day: date) -> set[str]:
    """CPRs with `code` in force on `day` in a snapshot: D1 (from max(start, registration day)),
    half-open, invalid periods never."""
    s = snap[snap["marking_code"] == code]
    hits = set()
    for r in s.itertuples():
        start, end, reg = _d(r.start_date), _d(r.end_date), _d(r.registered_at)
        if end is not None and end < start:
            continue
        if max(start, reg) <= day and (end is None or end > day):
            hits.add(r.cpr)
    return hits


# ----------------------------------------------------------------------------- layout, determinism, API
def test_fsm2_files_and_manifest_keys(zone):
    root, manifest = zone
    assert manifest["programmes"] == ["FSM1", "FSM2"] and manifest["end"] == "2021-12"
    months = pd.period_range("2017-08", "2021-12", freq="M").strftime("%Y-%m").tolist()
    expected = {f"markings/markings_{_month_end(m).isoformat()}.csv" for m in months}
    for feed in ("ydelse", "tilbud", "timer"):
        expected |= {f"registers/{feed}/{feed}_{m}.csv" for m in months}
    expected |= {f"registers/uddannelse/uddannelse_{m}.csv" for m in MONTHS}
    assert set(manifest["files"]) == expected
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {"manifest.json"}
    assert on_disk == expected
    assert set(manifest) >= {"fsm2_participants", "fsm2_citizens", "dq_defects_fsm2", "truth_fsm2", "rates_fsm2"}
    assert manifest["truth_fsm2"]["months"] == MONTHS
    with KOMMUNER_CSV.open(encoding="utf-8") as fh:
        names = {int(r["kommunekode"]): r["kommunenavn"] for r in csv.DictReader(fh)}
    assert manifest["fsm2_participants"] == list(FSM2_PARTICIPANTS) and len(FSM2_PARTICIPANTS) == 31
    assert {names[k] for k in FSM2_PARTICIPANTS} >= {"Esbjerg", "Fanø", "København", "Aarhus", "Tårnby", "Høje-Taastrup"}
    # every injected unreadable uddannelse row is there, of every kind
    kinds = {r["kind"] for rel, f in manifest["files"].items() if f["feed"] == "uddannelse" for r in f["rejects"]}
    assert kinds == set(REJECT_KINDS_FSM2["uddannelse"])


def test_deterministic(zone, tmp_path):
    root, manifest = zone
    again = generate(tmp_path / "again", seed=SEED, scale="tiny", end="2021-12", programmes=BOTH)
    assert again == manifest
    rels = (
        "markings/markings_2020-06-30.csv",
        "registers/ydelse/ydelse_2021-03.csv",
        "registers/uddannelse/uddannelse_2020-06.csv",
    )
    for rel in rels:
        assert (tmp_path / "again" / rel).read_bytes() == (root / rel).read_bytes(), rel
    other = generate(tmp_path / "other", seed=SEED + 1, scale="tiny", end="2021-12", programmes=BOTH)
    assert other["truth_fsm2"] != manifest["truth_fsm2"]


def test_fsm1_numbers_do_not_change_with_fsm2(zone, tmp_path):
    _, both_long = zone
    only = generate(tmp_path / "fsm1", seed=SEED, scale="tiny", programmes=("FSM1",))
    both = generate(tmp_path / "both", seed=SEED, scale="tiny", programmes=BOTH)
    assert "truth_fsm2" not in only and "uddannelse" not in {f["feed"] for f in only["files"].values()}
    for m in (both, both_long):
        assert m["truth"] == only["truth"]
        assert (m["participants"], m["citizens"], m["background_citizens"]) == (
            only["participants"],
            only["citizens"],
            only["background_citizens"],
        )
        for rule, d in only["dq_defects"].items():
            got = m["dq_defects"][rule]
            assert {k: v for k, v in got["by_month"].items() if k <= "2019-12"} == d["by_month"], rule
    for rule, d in only["dq_defects"].items():
        assert both["dq_defects"][rule] == d, rule
    assert both["offers_ended_early"] == only["offers_ended_early"]
    # the FSM1 rows of a shared file are the same rows (the CPR's spelling may differ)
    rel = "markings/markings_2019-06-30.csv"
    fsm1 = _load(tmp_path / "fsm1", {"files": {rel: only["files"][rel]}}, "markings")
    mixed = _load(tmp_path / "both", {"files": {rel: both["files"][rel]}}, "markings")
    assert mixed["marking_code"].isin(FSM2_CODES).any()
    mixed = mixed[~mixed["marking_code"].isin(FSM2_CODES)]
    assert mixed.reset_index(drop=True).equals(fsm1.reset_index(drop=True))


def test_bad_arguments(tmp_path):
    for kwargs in ({"programmes": ("FSM2",)}, {"programmes": ("FSM1", "FSM3")}, {"end": "2022-01", "programmes": BOTH}):
        with pytest.raises(ValueError):
            generate(tmp_path / "x", scale="tiny", **kwargs)


def test_cli_and_parquet_and_months_independent_of_the_period(zone, tmp_path):
    """A short period in Parquet has the same FSM2 data for its months as the full CSV zone."""
    from fsm_dev.synth.__main__ import main

    root, manifest = zone
    out = tmp_path / "pq"
    assert main(["--out", str(out), "--scale", "tiny", "--seed", str(SEED), "--start", "2019-11", "--end", "2020-02",
                 "--fmt", "parquet", "--programmes", "FSM1,FSM2"]) == 0  # fmt: skip
    short = generate(out, seed=SEED, scale="tiny", start="2019-11", end="2020-02", fmt="parquet", programmes=BOTH)
    assert short["truth_fsm2"]["months"] == ["2019-11", "2019-12", "2020-01", "2020-02"]
    for j, m in enumerate(short["truth_fsm2"]["months"]):
        i = MONTHS.index(m)
        for k, v in short["truth_fsm2"]["per_kommune"].items():
            full = manifest["truth_fsm2"]["per_kommune"][k]
            assert {q: x[j] for q, x in v["ALL"].items()} == {q: x[i] for q, x in full["ALL"].items()}, (k, m)
    for feed in ("ydelse", "uddannelse", "timer", "markings"):
        rel = {"markings": "markings/markings_2020-01-31"}.get(feed, f"registers/{feed}/{feed}_2020-01")
        pq = pd.read_parquet(out / f"{rel}.parquet").fillna("")
        assert list(pq.columns) == FEED_COLUMNS[feed]
        pq["cpr"] = pq["cpr"].str.replace("-", "", regex=False)
        csv_rows = _load(root, {"files": {f"{rel}.csv": manifest["files"][f"{rel}.csv"]}}, feed).drop(columns="file_key")
        key = FEED_COLUMNS[feed]
        assert sorted(map(tuple, pq[key].to_numpy().tolist())) == sorted(map(tuple, csv_rows[key].to_numpy().tolist())), feed


# ----------------------------------------------------------------------------- the model's shape
def test_benefit_names_follow_the_2020_rename(feeds):
    yd = feeds["ydelse"]
    iy = yd.loc[yd["ydelse_kode"] == "INTEGRATIONSYDELSE", "file_key"]
    og = yd.loc[yd["ydelse_kode"] == "OVERGANGSYDELSE", "file_key"]
    assert len(iy) and len(og)
    assert iy.max() < "2020-01" <= og.min()
    intro = yd[(yd["introduktionsprogram"] == "1")]
    assert intro["ydelse_kode"].isin(["INTEGRATIONSYDELSE", "OVERGANGSYDELSE"]).all() and len(intro)


def test_someone_turns_30_and_enters_the_target_group(feeds, target):
    """Qualifying benefits in m-1 and m, in the target group in m but not in m-1: only age differs."""
    yd = feeds["ydelse"]
    qual = yd[
        yd["ydelse_kode"].isin(["KONTANTHJAELP", "OVERGANGSYDELSE", "INTEGRATIONSYDELSE"])
        & (yd["matchgruppe"] == "AKTIVITETSPARAT") & (yd["introduktionsprogram"] == "0")
    ]  # fmt: skip
    by_month = qual.groupby("file_key")["cpr"].agg(set)
    entered = set()
    for prev, m in itertools.pairwise(MONTHS):
        new = set(target[m].index) - set(target[prev].index)
        for c in new & by_month.get(prev, set()):
            b = stdcpr.get_birth_date(c)
            if not _aged_30(b, _month_end(prev)) and _aged_30(b, _month_end(m)):
                entered.add(c)
    assert entered


def test_markings_and_registers_look_like_the_model(zone, feeds, target):
    _, manifest = zone
    n = manifest["fsm2_citizens"]
    assert 300 <= n <= 500
    last = feeds["markings"][feeds["markings"]["file_key"] == "2021-12-31"]
    f2 = last[last["marking_code"].isin(FSM2_CODES)]
    assert f2["marking_id"].is_unique and set(f2["kommune_kode"].astype(int)) <= set(FSM2_PARTICIPANTS) | _all_kommuner()
    gr2 = f2[f2["marking_code"] == "FSM2_GR2"]
    assert 0.08 <= gr2["cpr"].nunique() / n <= 0.22
    # 2 -> 1 -> 2 (F4): a citizen with two group 2 markings that do not overlap
    two = gr2.groupby("cpr").filter(lambda g: len(g) == 2 and (g["end_date"] != "").any())
    sequential = [g for _, g in two.groupby("cpr") if sorted(g["start_date"])[1] >= min(e for e in g["end_date"] if e)]
    assert sequential
    fr = f2[f2["marking_code"] == "FRITAGELSE"]
    assert 0.04 <= fr["cpr"].nunique() / n <= 0.14
    assert set(fr["fritagelse_aarsag"]) <= {"SYGDOM", "BARSEL", "JOB_INDEN_6_UGER", "ANDET", ""}
    assert (f2.loc[f2["marking_code"] != "FRITAGELSE", "fritagelse_aarsag"] == "").all()
    assert (f2["marking_code"] == "FSM2_STEPUP").any()
    # education: a few per cent of the FSM2 citizens a month, some not SU-eligible
    ud = feeds["uddannelse"]
    per_month = ud.groupby("file_key").size().reindex(MONTHS, fill_value=0)
    assert 0.01 <= per_month.mean() / n <= 0.06
    assert set(ud["su_eligible"]) == {"0", "1"}
    tm = feeds["timer"]
    assert (tm[tm["file_key"] >= "2019-01"]["subsidised"] == "1").any()
    # ages: most of the FSM2 citizens 30+, some 25–29 at some point
    fsm2_cprs = set(feeds["ydelse"].loc[feeds["ydelse"]["file_key"] >= "2019-01", "cpr"]) - set(
        feeds["ydelse"].loc[feeds["ydelse"]["file_key"] < "2019-01", "cpr"]
    )
    births = [stdcpr.get_birth_date(c) for c in fsm2_cprs]
    young = sum(1 for b in births if not _aged_30(b, date(2021, 12, 31)) or not _aged_30(b, date(2019, 1, 1)))
    assert 0.05 <= young / len(births) <= 0.3
    # the target group per month is a good part of the citizens, and every participant has one
    sizes = [len(target[m]) for m in MONTHS]
    assert min(sizes) > 0.3 * n
    assert set(target["2019-06"]["kommune_kode"].astype(int)) == set(FSM2_PARTICIPANTS)


def _all_kommuner() -> set[int]:
    with KOMMUNER_CSV.open(encoding="utf-8") as fh:
        return {int(r["kommunekode"]) for r in csv.DictReader(fh)}


# ----------------------------------------------------------------------------- defects and truth
def test_each_fsm2_defect_kind_is_present_early(zone):
    _, manifest = zone
    dq = manifest["dq_defects_fsm2"]
    assert set(dq) == set(DQ_RULES_FSM2)
    for rule, d in dq.items():
        assert d["count"] >= 1, rule
        assert d["first_visible_month"] <= "2019-06", rule
        assert all(v == 0 for k, v in d["by_month"].items() if k < d["first_visible_month"]), rule
    # FSM1's defects are counted on FSM1's codes only, as before
    assert all(d["count"] >= 1 for d in manifest["dq_defects"].values())


def test_fsm2_dq_counts_match_the_files(zone, feeds, target):
    _, manifest = zone
    mk = feeds["markings"]
    mk = mk[mk["marking_code"].isin(FSM2_CODES)]
    seen: dict[str, set] = {r: set() for r in DQ_RULES_FSM2}
    by_month: dict[str, dict[str, int]] = {r: {} for r in DQ_RULES_FSM2}
    far = date(9999, 12, 31)
    for key in sorted({FILE_KEY.fullmatch(r).group(1) for r in manifest["files"] if r.startswith("markings/")}):
        month, extract = key[:7], date.fromisoformat(key)
        s = mk[mk["file_key"] == key].copy()
        s["start"], s["end"], s["reg"] = s["start_date"].map(_d), s["end_date"].map(_d), s["registered_at"].map(_d)
        s["endx"] = s["end"].map(lambda x: far if x is None else x)
        s["valid"] = s["endx"] >= s["start"]
        in_t = set(target[month].index) if month in target else set()
        hits = {
            "backdated_marking": s.loc[s["start"] < s["reg"], "marking_id"],
            "invalid_period": s.loc[~s["valid"], "marking_id"],
            "future_marking": s.loc[s["start"] > extract, "marking_id"],
            "fritagelse_without_reason": s.loc[
                (s["marking_code"] == "FRITAGELSE") & (s["fritagelse_aarsag"] == ""), "marking_id"
            ],
            "fsm2_gr2_outside_target_group": s.loc[
                (s["marking_code"] == "FSM2_GR2") & (s["start"] <= extract) & (s["endx"] > extract) & ~s["cpr"].isin(in_t),
                "marking_id",
            ],
        }
        for rule, ids in hits.items():
            by_month[rule][month] = len(ids)
            seen[rule] |= set(ids)
        v = s[s["valid"]]
        p = v.merge(v, on=["cpr", "marking_code"], suffixes=("_a", "_b"))
        p = p[(p["marking_id_a"] < p["marking_id_b"]) & (p["start_a"] < p["endx_b"]) & (p["start_b"] < p["endx_a"])]
        by_month["duplicate_marking"][month] = len(p)
        seen["duplicate_marking"] |= set(zip(p["marking_id_a"], p["marking_id_b"], strict=True))
    for rule in DQ_RULES_FSM2:
        assert manifest["dq_defects_fsm2"][rule]["by_month"] == by_month[rule], rule
        assert manifest["dq_defects_fsm2"][rule]["count"] == len(seen[rule]), rule


def test_fsm2_truth_matches_the_files(zone, feeds, target):
    """F7/F8 per municipality, month and origin, recomputed naively from each month's files."""
    _, manifest = zone
    truth = manifest["truth_fsm2"]
    mk, tm, ud = feeds["markings"], feeds["timer"], feeds["uddannelse"]
    tm = tm[(tm["subsidised"] == "0") & (tm["hours"].str.replace(",", ".").astype(float) > 0)]
    counts: dict[tuple[str, str, str], list[int]] = {}
    for i, m in enumerate(MONTHS):
        end = _month_end(m)
        snap = mk[mk["file_key"] == end.isoformat()]
        g2 = _in_force(snap, "FSM2_GR2", end)
        ex = _in_force(snap, "FRITAGELSE", end) - g2
        active = set(tm.loc[tm["file_key"] == m, "cpr"]) | set(ud.loc[(ud["file_key"] == m) & (ud["su_eligible"] == "1"), "cpr"])
        t = target[m]
        for c, (k, h) in zip(t.index, t.itertuples(index=False), strict=True):
            flags = {"target_n": True, "group2_n": c in g2, "exempt_n": c in ex, "indsatsgruppe_n": c not in g2 and c not in ex}
            flags["active_n"] = flags["indsatsgruppe_n"] and c in active
            for herk in ("ALL", h):
                for q, f in flags.items():
                    if f:
                        counts.setdefault((k, herk, q), [0] * len(MONTHS))[i] += 1
    checked_active = 0
    for k, v in truth["per_kommune"].items():
        for herk in truth["herkomst"]:
            for q in truth["measures"]:
                assert v[herk][q] == counts.get((k, herk, q), [0] * len(MONTHS)), (k, herk, q)
        ind, act = v["ALL"]["indsatsgruppe_n"], v["ALL"]["active_n"]
        checked_active += sum(act)
        for pct in (15, 20):
            first = next((MONTHS[i] for i in range(len(MONTHS)) if ind[i] and act[i] * 100 >= pct * ind[i]), None)
            assert v[f"first_month_{pct}"] == first, (k, pct)
    assert checked_active > 0
    # all four parts of the target group occur
    tot = {q: sum(sum(v["ALL"][q]) for v in truth["per_kommune"].values()) for q in truth["measures"]}
    assert all(tot[q] > 0 for q in truth["measures"]), tot
