"""The synthetic landing zone: deterministic, in CONTRACT §1's layout, and its manifest tells the truth.

The manifest's defect counts and truth are re-derived here from the files alone, with a naive
reading of DOMAIN.md's rules, so the pipeline can be checked against the manifest with confidence.
"""

from __future__ import annotations

import csv
import json
import os
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from stdnum.dk import cpr as stdcpr

from fsm_dev.synth import DQ_RULES, REJECT_KINDS, generate
from fsm_dev.synth.generator import FEED_COLUMNS, participants

KOMMUNER_CSV = Path(__file__).resolve().parents[2] / "plugins" / "fsm" / "reference" / "kommuner.csv"
PROJECT_START = date(2017, 8, 1)
SEED = int(os.environ.get("FSM_SYNTH_TEST_SEED", "42"))  # try other worlds: FSM_SYNTH_TEST_SEED=7 pytest ...
CODES = {
    "markings": {"FSM_BRUTTO", "FSM_GR1", "FSM_GR2", "FSM_GR3", "FSM_UDSKUDT", "FSM_PJF", "FSM2_GR2", "FSM2_STEPUP", "FRITAGELSE"},
    "ydelse": {
        "KONTANTHJAELP", "UDDANNELSESHJAELP", "INTEGRATIONSYDELSE", "OVERGANGSYDELSE", "RESSOURCEFORLOEB",
        "LEDIGHEDSYDELSE", "FLEKSJOB", "FOERTIDSPENSION", "SYGEDAGPENGE", "REVALIDERING",
    },
    "tilbud": {"VIRKSOMHEDSPRAKTIK", "LOENTILSKUD", "NYTTEINDSATS", "VEJLEDNING_OPKVALIFICERING", "MENTOR"},
}  # fmt: skip
FILE_RE = {
    "markings": re.compile(r"markings/markings_(\d{4}-\d{2}-\d{2})\.csv"),
    "ydelse": re.compile(r"registers/ydelse/ydelse_(\d{4}-\d{2})\.csv"),
    "tilbud": re.compile(r"registers/tilbud/tilbud_(\d{4}-\d{2})\.csv"),
    "timer": re.compile(r"registers/timer/timer_(\d{4}-\d{2})\.csv"),
}


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("synth") / "landing"
    return out, generate(out, seed=SEED, scale="tiny")


@pytest.fixture(scope="module")
def rows(zone) -> dict[str, list[tuple[int, list[str]]]]:
    """Every file's data lines as (physical line number, fields), header checked."""
    out, manifest = zone
    result = {}
    for rel, info in manifest["files"].items():
        with (out / rel).open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter=";")
            assert next(reader) == FEED_COLUMNS[info["feed"]], rel
            result[rel] = [(i + 2, r) for i, r in enumerate(reader)]
    return result


def _reject_lines(info: dict) -> dict[int, str]:
    return {r["line"]: r["kind"] for r in info["rejects"]}


def _valid(zone, rows, feed: str) -> pd.DataFrame:
    """All loadable rows of a feed, with the file's date (snapshot day or register month)."""
    _out, manifest = zone
    frames = []
    for rel, info in manifest["files"].items():
        if info["feed"] != feed:
            continue
        bad = _reject_lines(info)
        good = [r for ln, r in rows[rel] if ln not in bad]
        df = pd.DataFrame(good, columns=FEED_COLUMNS[feed])
        df["file_key"] = FILE_RE[feed].fullmatch(rel).group(1)
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["cpr"] = df["cpr"].str.replace("-", "", regex=False)
    return df


def _kommuner() -> set[int]:
    with KOMMUNER_CSV.open(encoding="utf-8") as fh:
        return {int(r["kommunekode"]) for r in csv.DictReader(fh)}


def _dates(col: pd.Series) -> pd.Series:
    """'YYYY-MM-DD' (or a timestamp's date part) as datetime.date; empty as None."""
    return col.map(lambda x: date.fromisoformat(x[:10]) if x else None).astype(object)


def _month_end(label: str) -> date:
    y, m = int(label[:4]), int(label[5:7])
    return date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)


# ----------------------------------------------------------------------------- determinism and cache
def test_same_seed_same_bytes_other_seed_differs(zone, tmp_path):
    out, manifest = zone
    again = generate(tmp_path / "again", seed=SEED, scale="tiny")
    assert again == manifest
    for rel in ("markings/markings_2018-06-30.csv", "registers/ydelse/ydelse_2018-06.csv", "registers/tilbud/tilbud_2019-02.csv"):
        assert (tmp_path / "again" / rel).read_bytes() == (out / rel).read_bytes(), rel
    other = generate(tmp_path / "other", seed=SEED + 1, scale="tiny")
    rel = "markings/markings_2018-06-30.csv"
    assert (tmp_path / "other" / rel).read_bytes() != (out / rel).read_bytes()
    assert other["dq_defects"] != manifest["dq_defects"] or other["truth"] != manifest["truth"]


def test_cache_returns_manifest_without_rewriting(zone):
    out, manifest = zone
    probe = out / "markings" / "markings_2017-08-31.csv"
    before = probe.stat().st_mtime_ns
    assert generate(out, seed=SEED, scale="tiny") == manifest
    assert probe.stat().st_mtime_ns == before
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest


def test_a_shorter_period_gives_the_same_months(zone, tmp_path):
    out, _ = zone
    part = generate(tmp_path / "part", seed=SEED, scale="tiny", start="2018-01", end="2018-03")
    assert sorted(f for f in part["files"] if f.startswith("markings/")) == [
        "markings/markings_2018-01-31.csv", "markings/markings_2018-02-28.csv", "markings/markings_2018-03-31.csv",
    ]  # fmt: skip
    # the data of a month does not depend on the period asked for (rejects and CPR spelling may)
    rel = "registers/timer/timer_2018-02.csv"
    full = generate(out, seed=SEED, scale="tiny")

    def loadable(root: Path, info: dict) -> list[tuple[str, ...]]:
        bad = _reject_lines(info)
        with (root / rel).open(encoding="utf-8", newline="") as fh:
            lines = list(csv.reader(fh, delimiter=";"))[1:]
        return sorted((r[0].replace("-", ""), *r[1:]) for i, r in enumerate(lines) if i + 2 not in bad)

    assert loadable(tmp_path / "part", part["files"][rel]) == loadable(out, full["files"][rel])


# ----------------------------------------------------------------------------- layout
def test_layout_matches_contract(zone):
    out, manifest = zone
    months = pd.period_range("2017-08", "2019-12", freq="M").strftime("%Y-%m").tolist()
    expected = {f"markings/markings_{_month_end(m).isoformat()}.csv" for m in months}
    for feed in ("ydelse", "tilbud", "timer"):
        expected |= {f"registers/{feed}/{feed}_{m}.csv" for m in months}
    assert set(manifest["files"]) == expected
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert on_disk == expected
    for rel, info in manifest["files"].items():
        assert FILE_RE[info["feed"]].fullmatch(rel), rel
        text = (out / rel).read_text(encoding="utf-8")
        assert text.endswith("\n") and "\r" not in text and '"' not in text
        assert text.count("\n") - 1 == info["rows"], rel  # data rows = lines minus the header
    assert set(manifest) >= {
        "seed",
        "scale",
        "start",
        "end",
        "participants",
        "citizens",
        "files",
        "dq_defects",
        "offers_ended_early",
    }


def test_participants(zone):
    _, manifest = zone
    codes = manifest["participants"]
    assert codes == participants() and len(codes) == 88 and len(set(codes)) == 88
    assert set(codes) <= _kommuner() and {101, 751, 461, 851} <= set(codes)


def test_valid_rows_are_well_formed(zone, rows):
    """Every row that is not a listed reject loads: right column count, codes, dates, months."""
    _, manifest = zone
    kommuner = {str(k) for k in _kommuner()}
    day = re.compile(r"\d{4}-\d{2}-\d{2}")
    for rel, info in manifest["files"].items():
        feed, bad = info["feed"], _reject_lines(info)
        key = FILE_RE[feed].fullmatch(rel).group(1)
        for ln, r in rows[rel]:
            if ln in bad:
                continue
            assert len(r) == len(FEED_COLUMNS[feed]), (rel, ln)
            f = dict(zip(FEED_COLUMNS[feed], r, strict=True))
            if feed != "timer":
                assert f["kommune_kode"] in kommuner, (rel, ln)
            if feed == "markings":
                assert f["marking_code"] in CODES[feed]
                assert date.fromisoformat(f["start_date"]) and day.fullmatch(f["start_date"])
                assert f["end_date"] == "" or date.fromisoformat(f["end_date"])
                reg = f["registered_at"]
                assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", reg) and reg[:10] <= key, (rel, ln)
            elif feed == "ydelse":
                assert f["ydelse_kode"] in CODES[feed]
                y, w = f["iso_week"].split("-W")
                thursday = date.fromisocalendar(int(y), int(w), 4)
                assert thursday.strftime("%Y-%m") == key, (rel, ln)  # a week belongs to its Thursday's month
                assert f["matchgruppe"] in {"", "AKTIVITETSPARAT", "JOBPARAT", "UDDANNELSESPARAT"}
                assert f["introduktionsprogram"] in {"0", "1"} and f["herkomst"] in {"DANSK", "VESTLIG", "IKKE_VESTLIG"}
            elif feed == "tilbud":
                assert f["tilbud_type"] in CODES[feed]
                s, e = date.fromisoformat(f["start_date"]), date.fromisoformat(f["end_date"])
                first = date.fromisoformat(key + "-01")
                # in force on a day of the month, or changed in it (an early end delivered a month late)
                assert s <= _month_end(key) and e >= first - timedelta(days=31), (rel, ln)
            else:
                assert f["month"] == key and re.fullmatch(r"\d{8}", f["cvr"]) and f["subsidised"] in {"0", "1"}
                assert re.fullmatch(r"\d+(,\d+)?", f["hours"]), (rel, ln)


def test_every_cpr_parses_except_bad_cpr_rejects(zone, rows):
    _, manifest = zone
    cpr_col = {"markings": 1, "tilbud": 1, "ydelse": 0, "timer": 0}
    seen = 0
    for rel, info in manifest["files"].items():
        bad = _reject_lines(info)
        for ln, r in rows[rel]:
            c = r[cpr_col[info["feed"]]]
            if bad.get(ln) == "bad_cpr":
                assert not stdcpr.is_valid(c), (rel, ln, c)
                continue
            assert re.fullmatch(r"\d{6}-?\d{4}", c), (rel, ln, c)
            born = stdcpr.get_birth_date(c)
            assert date(1950, 1, 1) <= born <= date(2000, 1, 1), (rel, ln, c)
            seen += 1
    assert seen > 10_000


def test_rejects_are_unreadable_in_the_stated_way(zone, rows):
    _, manifest = zone
    kommuner = {str(k) for k in _kommuner()}
    kinds: dict[str, set[str]] = {}
    for rel, info in manifest["files"].items():
        feed = info["feed"]
        lines = dict(rows[rel])
        for ln, kind in _reject_lines(info).items():
            kinds.setdefault(feed, set()).add(kind)
            r = lines[ln]
            if kind == "column_count":
                assert len(r) != len(FEED_COLUMNS[feed])
                continue
            f = dict(zip(FEED_COLUMNS[feed], r, strict=True))
            if kind == "unknown_kommune":
                assert f["kommune_kode"] not in kommuner
            elif kind == "unknown_code":
                assert f[{"markings": "marking_code", "ydelse": "ydelse_kode", "tilbud": "tilbud_type"}[feed]] not in CODES[feed]
            elif kind == "negative_hours":
                assert float(f["hours"].replace(",", ".")) < 0
            elif kind == "bad_date":
                text = ";".join(r)
                assert re.search(r"\d{4}-(02-30|04-31|13)|W54", text), text
    assert {feed: sorted(k) for feed, k in kinds.items()} == {feed: sorted(k) for feed, k in REJECT_KINDS.items()}


# ----------------------------------------------------------------------------- the manifest's defects and truth
def test_each_defect_kind_is_present(zone):
    _, manifest = zone
    assert set(manifest["dq_defects"]) == set(DQ_RULES)
    for rule, d in manifest["dq_defects"].items():
        assert d["count"] >= 1, rule
        assert d["by_month"][d["first_visible_month"]] >= 1
        assert all(v == 0 for k, v in d["by_month"].items() if k < d["first_visible_month"])
    assert manifest["offers_ended_early"] >= 1


def test_each_defect_kind_is_visible_in_a_short_period(tmp_path):
    """The first defect of each kind appears by 2017-12, so a run over a few months sees them all."""
    m = generate(tmp_path / "short", seed=SEED, scale="tiny", start="2017-08", end="2017-12")
    assert {rule: d["count"] >= 1 for rule, d in m["dq_defects"].items()} == dict.fromkeys(DQ_RULES, True)
    assert {f["feed"] for f in m["files"].values() if f["rejects"]} == set(REJECT_KINDS)


def _marking_violations(snap: pd.DataFrame, extract: date) -> dict[str, set]:
    """DOMAIN's marking rules, naively, on one snapshot."""
    s = snap.copy()
    s["start"], s["end"], s["reg"] = _dates(s["start_date"]), _dates(s["end_date"]), _dates(s["registered_at"])
    municipal = s["marking_code"] != "FSM_BRUTTO"
    far = date(9999, 12, 31)
    s["endx"] = s["end"].map(lambda d: far if d is None else d)
    out = {
        "backdated_marking": set(s.loc[municipal & (s["start"] < s["reg"]), "marking_id"]),
        "invalid_period": set(s.loc[s["end"].notna() & (s["endx"] < s["start"]), "marking_id"]),
        "future_marking": set(s.loc[s["start"] > extract, "marking_id"]),
    }
    brutto = s[(s["marking_code"] == "FSM_BRUTTO") & (s["start"] <= PROJECT_START) & (s["endx"] > PROJECT_START)]
    out["marking_outside_target_group"] = set(s.loc[municipal & ~s["cpr"].isin(brutto["cpr"]), "marking_id"])
    p = s.merge(s, on="cpr", suffixes=("_a", "_b"))
    p = p[(p["marking_id_a"] < p["marking_id_b"]) & (p["start_a"] < p["endx_b"]) & (p["start_b"] < p["endx_a"])]
    groups = {"FSM_GR1", "FSM_GR2", "FSM_GR3"}
    ov = p[p["marking_code_a"].isin(groups) & p["marking_code_b"].isin(groups) & (p["marking_code_a"] != p["marking_code_b"])]
    du = p[p["marking_code_a"] == p["marking_code_b"]]
    out["overlapping_group_marking"] = set(zip(ov["marking_id_a"], ov["marking_id_b"], strict=True))
    out["duplicate_marking"] = set(zip(du["marking_id_a"], du["marking_id_b"], strict=True))
    return out


def test_dq_counts_match_the_files(zone, rows):
    _, manifest = zone
    mk = _valid(zone, rows, "markings")
    yd = _valid(zone, rows, "ydelse")
    seen: dict[str, set] = {r: set() for r in DQ_RULES}
    by_month: dict[str, dict[str, int]] = {r: {} for r in DQ_RULES}
    for key, snap in mk.groupby("file_key"):
        extract = date.fromisoformat(key)
        month = key[:7]
        for rule, hits in _marking_violations(snap, extract).items():
            by_month[rule][month] = len(hits)
            seen[rule] |= hits
        # revalidering_without_group2: target-group citizens paid REVALIDERING, no FSM_GR2 in force at month end (D1)
        s = snap.assign(start=_dates(snap["start_date"]), end=_dates(snap["end_date"]), reg=_dates(snap["registered_at"]))
        brutto = s[
            (s["marking_code"] == "FSM_BRUTTO") & (s["start"] <= PROJECT_START) & (s["end"].isna() | (s["end"] > PROJECT_START))
        ]
        groups = s[s["marking_code"].isin(["FSM_GR1", "FSM_GR2", "FSM_GR3"])]
        visited = set(groups["cpr"])
        left = brutto[brutto["end"].notna() & (brutto["end"] <= extract) & ~brutto["cpr"].isin(visited)]  # T3
        target = set(brutto["cpr"]) - set(left["cpr"])
        eff = pd.Series([max(a, b) for a, b in zip(s["start"], s["reg"], strict=True)], index=s.index)
        g2 = s[(s["marking_code"] == "FSM_GR2") & (eff <= extract) & (s["end"].isna() | (s["end"] > extract))]
        paid = set(yd.loc[(yd["file_key"] == month) & (yd["ydelse_kode"] == "REVALIDERING"), "cpr"])
        hits = (paid & target) - set(g2["cpr"])
        by_month["revalidering_without_group2"][month] = len(hits)
        seen["revalidering_without_group2"] |= {(c, month) for c in hits}
    for rule in DQ_RULES:
        assert manifest["dq_defects"][rule]["by_month"] == by_month[rule], rule
        assert manifest["dq_defects"][rule]["count"] == len(seen[rule]), rule


def test_pre_start_leavers_are_end_dated_in_september(zone, rows):
    mk = _valid(zone, rows, "markings")
    brutto = mk[mk["marking_code"] == "FSM_BRUTTO"]
    sep = brutto[(brutto["file_key"] == "2017-09-30") & (brutto["end_date"] != "") & (brutto["end_date"] < "2017-08-01")]
    assert len(sep) >= 5
    aug = brutto[(brutto["file_key"] == "2017-08-31") & brutto["marking_id"].isin(sep["marking_id"])]
    assert len(aug) == len(sep) and (aug["end_date"] == "").all()
    reg = pd.to_datetime(brutto["registered_at"])
    assert ((reg >= "2017-06-20") & (reg < "2017-06-30")).all()
    assert (brutto["start_date"] <= "2016-12-01").all()


def test_truth_target_group_and_coverage_match_the_files(zone, rows):
    """truth.per_kommune.target_n and full_coverage_month (T2, T3, V1–V3, D1) from the snapshots."""
    _, manifest = zone
    truth = manifest["truth"]["per_kommune"]
    mk = _valid(zone, rows, "markings")
    coverage: dict[str, str] = {}
    for key, s in sorted(mk.groupby("file_key"), key=lambda t: t[0]):
        extract = date.fromisoformat(key)
        s = s.assign(start=_dates(s["start_date"]), end=_dates(s["end_date"]), reg=_dates(s["registered_at"]))
        s["eff"] = [max(a, b) for a, b in zip(s["start"], s["reg"], strict=True)]
        brutto = s[
            (s["marking_code"] == "FSM_BRUTTO") & (s["start"] <= PROJECT_START) & (s["end"].isna() | (s["end"] > PROJECT_START))
        ]
        grp = s[s["marking_code"].isin(["FSM_GR1", "FSM_GR2", "FSM_GR3"]) & (s["eff"] <= extract)]
        visited = set(grp["cpr"])
        ud = s[(s["marking_code"] == "FSM_UDSKUDT") & (s["eff"] <= extract) & (s["end"].isna() | (s["end"] > extract))]
        left = brutto["end"].notna() & (brutto["end"] <= extract) & ~brutto["cpr"].isin(visited)
        tg = brutto[~left]
        ok = tg["cpr"].isin(visited | set(ud["cpr"]))
        per_k = tg.assign(ok=ok).groupby("kommune_kode")["ok"].agg(["size", "sum"])
        if key == "2019-12-31":
            target_n = brutto.groupby("kommune_kode").size()
            assert {k: int(v) for k, v in target_n.items()} == {k: v["target_n"] for k, v in truth.items()}
        for k, r in per_k.iterrows():
            if r["size"] == r["sum"] and k not in coverage:
                coverage[k] = key[:7]
    assert coverage == {k: v["full_coverage_month"] for k, v in truth.items() if v["full_coverage_month"]}
    n_full = sum(1 for v in truth.values() if v["full_coverage_month"])
    assert 0.5 * len(truth) <= n_full <= 0.8 * len(truth)
    assert all(v["full_coverage_month"] is None or "2017-11" <= v["full_coverage_month"] <= "2019-06" for v in truth.values())


def test_truth_activity_matches_the_files(zone, rows):
    """truth.per_kommune.p3_month (C2, C3, A1, P3) from the final snapshot and the registers."""
    _, manifest = zone
    truth = manifest["truth"]["per_kommune"]
    mk = _valid(zone, rows, "markings")
    s = mk[mk["file_key"] == "2019-12-31"].copy()
    s["start"] = pd.to_datetime(s["start_date"])
    s["reg"] = pd.to_datetime(s["registered_at"])
    s["eff"] = s[["start"]].join(s["reg"].dt.normalize()).max(axis=1)
    brutto = s[
        (s["marking_code"] == "FSM_BRUTTO")
        & (s["start"] <= "2017-08-01")
        & ((s["end_date"] == "") | (s["end_date"] > "2017-08-01"))
    ]
    grp = s[s["marking_code"].isin(["FSM_GR1", "FSM_GR2", "FSM_GR3"]) & s["cpr"].isin(brutto["cpr"])]
    first = grp.sort_values(["eff", "reg", "marking_id"]).groupby("cpr").head(1)
    members = first[first["marking_code"] == "FSM_GR1"].assign(member_from=lambda d: d["eff"].dt.to_period("M"))
    # A1: newest delivery of each offer; counted types; ordinary hours > 0
    tb = _valid(zone, rows, "tilbud").sort_values("file_key").groupby("tilbud_id").tail(1)
    tb = tb[tb["tilbud_type"].isin(["VIRKSOMHEDSPRAKTIK", "LOENTILSKUD"])]
    tm = _valid(zone, rows, "timer")
    tm = tm[(tm["subsidised"] == "0") & (tm["hours"].str.replace(",", ".").astype(float) > 0)]
    hours = set(zip(tm["cpr"], tm["month"], strict=True))
    months = pd.period_range("2017-08", "2019-12", freq="M")
    active = set()
    for r in tb.itertuples():
        for m in pd.period_range(r.start_date[:7], min(r.end_date[:7], "2019-12"), freq="M"):
            active.add((r.cpr, str(m)))
    ok: dict[str, list[bool]] = {}
    kom = brutto.set_index("cpr")["kommune_kode"]
    members = members.assign(k=members["cpr"].map(kom))
    for m in months:
        cohort = members[members["member_from"] <= m]
        act = [(c, str(m)) in active or (c, str(m)) in hours for c in cohort["cpr"]]
        share = cohort.assign(a=act).groupby("k")["a"].agg(["size", "sum"])
        for k in truth:
            n, a = (share.loc[k, "size"], share.loc[k, "sum"]) if k in share.index else (0, 0)
            ok.setdefault(k, []).append(bool(n > 0 and a * 100 >= 40 * n))
    p3 = {}
    for k, flags in ok.items():
        for i in range(2, len(months)):
            if flags[i] and flags[i - 1] and flags[i - 2]:
                p3[k] = str(months[i])
                break
    assert p3 == {k: v["p3_month"] for k, v in truth.items() if v["p3_month"]}
    assert 0 < len(p3) < len(truth)


def test_offers_ended_early_matches_the_files(zone, rows):
    _, manifest = zone
    tb = _valid(zone, rows, "tilbud")
    ends = tb.groupby("tilbud_id")["end_date"].agg(["min", "max", "nunique"])
    assert int((ends["nunique"] > 1).sum()) == manifest["offers_ended_early"]
    # the later delivery has the earlier end
    last = tb.sort_values("file_key").groupby("tilbud_id").tail(1).set_index("tilbud_id")["end_date"]
    changed = ends[ends["nunique"] > 1]
    assert (last[changed.index] == changed["min"]).all()


def test_scales_and_rejects_per_feed():
    from fsm_dev.synth import SCALES

    assert SCALES["tiny"].citizens < SCALES["small"].citizens < SCALES["national"].citizens
    # '2x' (alias 'national2x'): twice Denmark, FSM1 and FSM2 alike (issue 8)
    from fsm_dev.synth import FSM2_SCALES
    from fsm_dev.synth.__main__ import main as cli
    from fsm_dev.synth.generator import SCALE_ALIASES

    assert SCALES["2x"].citizens == 2 * SCALES["national"].citizens
    assert FSM2_SCALES["2x"].citizens == 2 * FSM2_SCALES["national"].citizens
    assert SCALE_ALIASES == {"national2x": "2x"}
    with pytest.raises(SystemExit):
        cli(["--out", "/nonexistent", "--scale", "3x"])
    assert set(REJECT_KINDS) == {"markings", "ydelse", "tilbud", "timer"}
    with pytest.raises(ValueError):
        generate("/nonexistent", scale="huge")
    with pytest.raises(ValueError):
        generate("/nonexistent", start="2017-01")
