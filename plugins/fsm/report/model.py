"""The facts of one as-of month's report (the Report dataclass) and the figures derived from them, in Decimal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from fsm import months
from fsm.config import Rules
from fsm.contract import FSM1_MARKING_RULES
from fsm.report import basis
from fsm.report.text import Text

# The FSM1 marking rules first, in DOMAIN's order; the report appends any other rule that has findings.
DQ_RULES = FSM1_MARKING_RULES
VISITATION_COUNTS = (
    "target_n",
    "visited_n",
    "group1_n",
    "group2_n",
    "group3_n",
    "deferred_n",
    "unvisited_n",
    "left_unvisited_n",
    "pjf_n",
)
# F5's categories, in the order the report shows them ('ALL' is the total)
ORIGINS = ("DANSK", "VESTLIG", "IKKE_VESTLIG")
FSM2_COUNTS = ("target_n", "group2_n", "exempt_n", "indsatsgruppe_n", "active_n")
ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass
class Kommune:
    """One municipality's FSM1 grant and tranches (the rows of mart_tranche_status)."""

    kode: int
    navn: str
    grant: Decimal = ZERO
    grant_source: str = ""
    tranches: dict[int, dict[str, object]] = field(default_factory=dict)

    @property
    def earned(self) -> Decimal:
        return sum((t["amount_dkk"] for t in self.tranches.values() if t["earned"]), ZERO)

    @property
    def outstanding(self) -> Decimal:
        return sum((t["amount_dkk"] for t in self.tranches.values() if not t["earned"]), ZERO)


@dataclass
class Report:
    """Everything a month's report shows: counts and amounts only, the basis rows as codes and facts.

    `lang` is the report's language: the tranche and requirement rows' `basis` and `grant_source`
    are rendered into it from their facts (fsm.report.basis) when the Report is made."""

    month: date
    prev_month: date
    lang: str
    rules: Rules
    generated_at: datetime
    tranches: list[dict[str, object]]
    prev_tranches: list[dict[str, object]]
    visitation: list[dict[str, object]]
    activity: list[dict[str, object]]
    dq_counts: list[tuple[int | None, str, int]]
    dq_new: list[tuple[int | None, str, int]]
    dq_resolved: dict[str, int]
    dq_history: list[tuple[date, str, int]]
    deliveries: list[dict[str, object]]
    run_log: list[dict[str, object]]
    names: dict[int, str]
    # FSM2 (mart_fsm2_result: every activity month and origin of the as-of run; mart_fsm2_requirement)
    fsm2_rows: list[dict[str, object]] = field(default_factory=list)
    fsm2_req: list[dict[str, object]] = field(default_factory=list)
    fsm2_prev_req: list[dict[str, object]] = field(default_factory=list)
    fsm2_pay: list[dict[str, object]] = field(default_factory=list)  # mart_fsm2_payment_status (F10)
    dq_prev_totals: dict[int | None, int] = field(default_factory=dict)  # flags per municipality last month
    # derived in __post_init__
    kommuner: list[Kommune] = field(default_factory=list)
    activity_months: list[date] = field(default_factory=list)
    share: dict[tuple[int, date], dict[str, object]] = field(default_factory=dict)
    fsm2: dict[tuple[int, date, str], dict[str, object]] = field(default_factory=dict)
    fsm2_months: list[date] = field(default_factory=list)
    fsm2_codes: list[int] = field(default_factory=list)
    fsm2_origins: list[str] = field(default_factory=list)
    fsm2_thresholds: list[Decimal] = field(default_factory=list)
    fsm2_req_by: dict[tuple[int, Decimal], dict[str, object]] = field(default_factory=dict)
    fsm2_payers: list[Kommune] = field(default_factory=list)  # F10: each participant's grant and parts (in `tranches`)
    small_counts: int = 0
    small_limit: int = 5  # counts 1 … small_limit - 1 are small numbers (settings: report_small_count)

    def __post_init__(self) -> None:
        self.t = Text(self.lang)
        for r in (*self.tranches, *self.fsm2_req, *self.fsm2_pay):
            basis.localise(r, self.t)
        payers: dict[int, Kommune] = {}
        for r in self.fsm2_pay:
            k = payers.setdefault(r["kommune_kode"], Kommune(r["kommune_kode"], r["kommune_navn"]))
            k.grant, k.grant_source = r["grant_dkk"], r["grant_source"]
            k.tranches[r["part"]] = r
        self.fsm2_payers = [payers[c] for c in sorted(payers)]
        by_code: dict[int, Kommune] = {}
        for r in self.tranches:
            k = by_code.setdefault(r["kommune_kode"], Kommune(r["kommune_kode"], r["kommune_navn"]))
            k.grant, k.grant_source = r["grant_dkk"], r["grant_source"]
            k.tranches[r["tranche"]] = r
        for r in self.visitation:
            by_code.setdefault(r["kommune_kode"], Kommune(r["kommune_kode"], r["kommune_navn"] or self.name(r["kommune_kode"])))
        for r in self.activity:
            if r["kommune_kode"] not in by_code:
                by_code[r["kommune_kode"]] = Kommune(r["kommune_kode"], self.name(r["kommune_kode"]))
            self.share[r["kommune_kode"], r["activity_month"]] = r
        self.kommuner = [by_code[c] for c in sorted(by_code)]
        self.activity_months = sorted({r["activity_month"] for r in self.activity})
        for r in self.fsm2_rows:
            self.fsm2[r["kommune_kode"], r["activity_month"], r["herkomst"]] = r
        self.fsm2_months = sorted({r["activity_month"] for r in self.fsm2_rows})
        self.fsm2_codes = sorted({r["kommune_kode"] for r in self.fsm2_rows} | {r["kommune_kode"] for r in self.fsm2_req})
        seen = {r["herkomst"] for r in self.fsm2_rows} - {"ALL"}
        self.fsm2_origins = [o for o in ORIGINS] + sorted(seen - set(ORIGINS)) if self.fsm2_rows else []
        self.fsm2_req_by = {(r["kommune_kode"], r["threshold_pct"]): r for r in self.fsm2_req}
        self.fsm2_thresholds = sorted({r["threshold_pct"] for r in self.fsm2_req} or set(self.rules.fsm2_thresholds_pct))
        self.small_counts = self._count_small()

    # -- lookups
    def name(self, kode: int | None) -> str:
        if kode is None:
            return self.t("unknown")
        return self.names.get(kode, str(kode))

    @property
    def label(self) -> str:
        return months.label(self.month)

    @property
    def prev_label(self) -> str:
        return months.label(self.prev_month)

    @property
    def dq_rules(self) -> list[str]:
        """DOMAIN's FSM1 marking rules, then any other rule with FSM1 findings in the warehouse."""
        seen = {r for _, r, _ in self.dq_counts} | {r for _, r, _ in self.dq_history} | {r for _, r, _ in self.dq_new}
        return list(DQ_RULES) + sorted(seen - set(DQ_RULES))

    # -- money (Decimal all the way)
    @property
    def due(self) -> list[dict[str, object]]:
        return [r for r in self.tranches if r["earned"] and r["earned_month"] == self.month]

    def totals(self) -> dict[str, Decimal]:
        granted = sum((k.grant for k in self.kommuner if k.tranches), ZERO)
        all_tranches = sum((r["amount_dkk"] for r in self.tranches), ZERO)
        earned = sum((r["amount_dkk"] for r in self.tranches if r["earned"]), ZERO)
        outstanding = sum((r["amount_dkk"] for r in self.tranches if not r["earned"]), ZERO)
        due = sum((r["amount_dkk"] for r in self.due), ZERO)
        return {"granted": granted, "tranches": all_tranches, "earned": earned, "outstanding": outstanding, "due": due}

    @property
    def reconciled(self) -> bool:
        """Totals agree, and every municipality's tranches add up to its grant exactly (P4)."""
        t = self.totals()
        per_kommune = all(
            sum((r["amount_dkk"] for r in k.tranches.values()), ZERO) == k.grant for k in self.kommuner if k.tranches
        )
        return per_kommune and t["granted"] == t["tranches"] == t["earned"] + t["outstanding"]

    def per_tranche(self) -> list[dict[str, object]]:
        """Granted, earned, outstanding and due per FSM1 tranche (P1–P3)."""
        return self._per_part(self.tranches, "tranche", "tranche_pct")

    def _per_part(self, rows_: list[dict[str, object]], part: str, pct: str) -> list[dict[str, object]]:
        """Per tranche (FSM1) or part (FSM2, F10): its share, granted, earned, outstanding, due this month, counts."""
        out = []
        for n in sorted({r[part] for r in rows_}):
            rows = [r for r in rows_ if r[part] == n]
            out.append(
                {
                    part: n,
                    "pct": rows[0][pct],
                    "granted": sum((r["amount_dkk"] for r in rows), ZERO),
                    "earned": sum((r["amount_dkk"] for r in rows if r["earned"]), ZERO),
                    "outstanding": sum((r["amount_dkk"] for r in rows if not r["earned"]), ZERO),
                    "due": sum((r["amount_dkk"] for r in rows if r["earned"] and r["earned_month"] == self.month), ZERO),
                    "n_earned": sum(1 for r in rows if r["earned"]),
                    "n": len(rows),
                }
            )
        return out

    # -- since last month
    @property
    def has_prev(self) -> bool:
        return bool(self.prev_tranches)

    def _prev(self) -> dict[tuple[int, int], dict[str, object]]:
        return {(r["kommune_kode"], r["tranche"]): r for r in self.prev_tranches}

    def newly_earned(self) -> list[dict[str, object]]:
        if not self.has_prev:
            return self.due
        prev = self._prev()
        return [r for r in self.tranches if r["earned"] and not prev.get((r["kommune_kode"], r["tranche"]), {}).get("earned")]

    def no_longer_earned(self) -> list[dict[str, object]]:
        now = {(r["kommune_kode"], r["tranche"]): r for r in self.tranches}
        return [r for r in self.prev_tranches if r["earned"] and not now.get((r["kommune_kode"], r["tranche"]), {}).get("earned")]

    def amount_changes(self) -> list[tuple[dict[str, object], Decimal]]:
        prev = self._prev()
        out = []
        for r in self.tranches:
            p = prev.get((r["kommune_kode"], r["tranche"]))
            if p is not None and p["amount_dkk"] != r["amount_dkk"]:
                out.append((r, p["amount_dkk"]))
        return out

    # -- activity
    def national_share(self) -> list[tuple[date, int, int, Decimal | None]]:
        out = []
        for m in self.activity_months:
            cohort = sum(self.share[k.kode, m]["cohort_n"] for k in self.kommuner if (k.kode, m) in self.share)
            active = sum(self.share[k.kode, m]["active_n"] for k in self.kommuner if (k.kode, m) in self.share)
            out.append((m, cohort, active, (Decimal(100) * active / cohort).quantize(CENT) if cohort else None))
        return out

    # -- programmes present
    @property
    def has_fsm1(self) -> bool:
        return bool(self.tranches or self.visitation or self.activity)

    @property
    def has_fsm2(self) -> bool:
        return bool(self.fsm2_rows)

    @property
    def fsm1_period(self) -> tuple[date, date]:
        return self.rules.project_start, self.rules.project_last_month

    def fsm1_absent_text(self, t: Text) -> str:
        """Why an FSM2 month shows no FSM1 figures: outside FSM1's period, or its run is missing."""
        a, b = self.fsm1_period
        if a <= self.month <= b:
            return t("fsm1_missing", m=self.label)
        return t("fsm1_ended", m=self.label, a=months.label(a), b=months.label(b))

    # -- FSM2
    def fsm2_at(self, kode: int, m: date | None = None, origin: str = "ALL") -> dict[str, object] | None:
        return self.fsm2.get((kode, m or self.month, origin))

    def fsm2_sum(self, m: date | None = None, origin: str = "ALL") -> dict[str, object]:
        """National counts (sum over the municipalities) and the share as Decimal 0–100, two decimals."""
        m = m or self.month
        out: dict[str, object] = dict.fromkeys(FSM2_COUNTS, 0)
        for k in self.fsm2_codes:
            r = self.fsm2.get((k, m, origin))
            if r:
                for c in FSM2_COUNTS:
                    out[c] += int(r[c])
        ind, act = out["indsatsgruppe_n"], out["active_n"]
        out["share_pct"] = (Decimal(100) * act / ind).quantize(CENT) if ind else None
        out["share"] = Decimal(act) / Decimal(ind) if ind else None  # the exact fraction (xlsx)
        return out

    def fsm2_n_met(self, threshold: Decimal) -> int:
        return sum(1 for (_, thr), r in self.fsm2_req_by.items() if thr == threshold and r["met"])

    @property
    def fsm2_has_prev(self) -> bool:
        return bool(self.fsm2_prev_req)

    def fsm2_newly_met(self) -> list[dict[str, object]]:
        """Requirements met as of this month that were not as of the previous month (all met this month if none)."""
        if not self.fsm2_has_prev:
            return [r for r in self.fsm2_req if r["met"] and r["met_month"] == self.month]
        prev = {(r["kommune_kode"], r["threshold_pct"]): r["met"] for r in self.fsm2_prev_req}
        return [r for r in self.fsm2_req if r["met"] and not prev.get((r["kommune_kode"], r["threshold_pct"]))]

    # -- FSM2 payments (F10), Decimal all the way
    @property
    def fsm2_due(self) -> list[dict[str, object]]:
        """The parts earned in the as-of month: they fall due now."""
        return [r for r in self.fsm2_pay if r["earned"] and r["earned_month"] == self.month]

    def fsm2_pay_totals(self) -> dict[str, Decimal]:
        rows = self.fsm2_pay
        return {
            "granted": sum((k.grant for k in self.fsm2_payers), ZERO),
            "parts": sum((r["amount_dkk"] for r in rows), ZERO),
            "earned": sum((r["amount_dkk"] for r in rows if r["earned"]), ZERO),
            "outstanding": sum((r["amount_dkk"] for r in rows if not r["earned"]), ZERO),
            "due": sum((r["amount_dkk"] for r in self.fsm2_due), ZERO),
        }

    @property
    def fsm2_pay_reconciled(self) -> bool:
        """Totals agree, and every participant's parts add up to its grant exactly (F10)."""
        t = self.fsm2_pay_totals()
        each = all(sum((r["amount_dkk"] for r in k.tranches.values()), ZERO) == k.grant for k in self.fsm2_payers)
        return each and t["granted"] == t["parts"] == t["earned"] + t["outstanding"]

    def fsm2_per_part(self) -> list[dict[str, object]]:
        """Granted, earned, outstanding and due per FSM2 part (F10)."""
        return self._per_part(self.fsm2_pay, "part", "part_pct")

    def _fsm2_counts(self) -> list[int]:
        """Every FSM2 count the report shows (xlsx, html, csv): as-of month by origin, the monthly
        indsatsgruppe and active counts, the national counts by origin, the counts in the basis sentences."""
        counts: list[int] = []
        shown_origins = ["ALL", *self.fsm2_origins]
        for k in self.fsm2_codes:
            for o in shown_origins:
                r = self.fsm2.get((k, self.month, o))
                if r:
                    counts.extend(int(r[c]) for c in FSM2_COUNTS)
            for m in self.fsm2_months:
                r = self.fsm2.get((k, m, "ALL"))
                if r and m != self.month:
                    counts.extend((int(r["indsatsgruppe_n"]), int(r["active_n"])))
        if self.fsm2_rows:
            for o in shown_origins:
                counts.extend(int(v) for c, v in self.fsm2_sum(self.month, o).items() if c in FSM2_COUNTS)
        for r in (*self.fsm2_req, *self.fsm2_pay):
            counts.extend(basis.shown_counts(r.get("basis_code"), r.get("basis_args")))
        return counts

    # -- disclosure control
    def _count_small(self) -> int:
        counts: list[int] = self._fsm2_counts()
        for r in self.visitation:
            counts.extend(int(r[c]) for c in VISITATION_COUNTS)
        for r in self.activity:
            counts.extend((int(r["cohort_n"]), int(r["active_n"])))
        counts.extend(n for *_, n in self.dq_counts)
        counts.extend(n for *_, n in self.dq_new)
        for r in self.tranches:
            counts.extend(basis.shown_counts(r.get("basis_code"), r.get("basis_args")))
        return sum(1 for n in counts if 0 < n < self.small_limit)

    @property
    def internal(self) -> bool:
        return self.small_counts > 0

    @property
    def snapshot_dates(self) -> list[date]:
        found = {r["snapshot_date"] for r in self.visitation if r.get("snapshot_date")}
        found |= {r["snapshot_date"] for r in self.run_log if r.get("snapshot_date")}
        return sorted(found)

    @property
    def grant_sources(self) -> list[str]:
        """The grant sources in the report's language, in the order of their English text (as ever)."""
        by_english = {r.get("grant_source_en") or r["grant_source"]: r["grant_source"] for r in self.tranches}
        return [by_english[k] for k in sorted(by_english) if by_english[k]]


def none_first(item: tuple[int | None, object]) -> tuple[int, int]:
    return (1, 0) if item[0] is None else (0, item[0])


def share_fraction(r: dict[str, object] | None) -> Decimal | None:
    if not r or not r["cohort_n"]:
        return None
    return Decimal(r["active_n"]) / Decimal(r["cohort_n"])


def plain(d: Decimal) -> str:
    """A threshold as an identifier or key: '20', '12.5' (text uses Text.number)."""
    return format(d.normalize(), "f")


def period_label(feed: str, period: date | None) -> str:
    if period is None or period.year < 1950:  # allocations carry no period
        return "–"
    return period.isoformat() if feed == "markings" else months.label(period)


def fsm2_fraction(r: dict[str, object] | None) -> Decimal | None:
    if not r or not r.get("indsatsgruppe_n"):
        return None
    return Decimal(r["active_n"]) / Decimal(r["indsatsgruppe_n"])


def band(r: dict[str, object] | None, lo: Decimal, hi: Decimal) -> str:
    """'good' at the higher threshold, 'fair' at the lower, '' below (html cell classes); the exact fraction decides (F8)."""
    if not r or not r.get("indsatsgruppe_n"):
        return ""
    active, ind = int(r["active_n"]), int(r["indsatsgruppe_n"])
    return "good" if active * 100 >= hi * ind else "fair" if active * 100 >= lo * ind else ""


def national_coverage(rep: Report) -> Decimal | None:
    target = sum(v["target_n"] for v in rep.visitation)
    accounted = sum(v["visited_n"] + (v["deferred_n"] if rep.rules.deferred_counts_as_visited else 0) for v in rep.visitation)
    return (Decimal(100) * accounted / target).quantize(CENT) if target else None
