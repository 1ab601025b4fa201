"""Every setting and every interpretation of DOMAIN.md in one place.

Environment variables (CONTRACT §3) say *where* things are; the `Rules` below say
*how* the figures are computed. The reports print `Rules.describe()` so a reader sees
the interpretations in force. Override a rule with an environment variable
`FSM_RULE_<NAME>` (e.g. `FSM_RULE_ACTIVITY_THRESHOLD_PCT=45`) without touching code.
"""

from __future__ import annotations

import csv
import dataclasses
import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("FSM_PROJECT_ROOT", Path(__file__).resolve().parents[2]))
SQL_DIR = PROJECT_ROOT / "include" / "sql"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DATA_DIR = Path(os.environ.get("FSM_DATA_DIR", PROJECT_ROOT / "data"))
# The municipality list travels with the package so the container image and tests agree.
KOMMUNER_CSV = Path(__file__).resolve().parent / "reference" / "kommuner.csv"

# A fixed, public key: fine for synthetic data, refused when FSM_ENV=production.
DEVELOPMENT_PSEUDONYM_KEY = "fsm-development-key-not-for-production"

PROGRAMMES = ("FSM1", "FSM2")

# The marking data-quality rules (include/sql/dq/<rule_id>.sql): DOMAIN's DQ table for FSM1, in its
# order, then FSM2's two. fsm.quality evaluates them all; the report lists FSM1's first.
FSM1_MARKING_RULES = (
    "backdated_marking",
    "overlapping_group_marking",
    "duplicate_marking",
    "invalid_period",
    "marking_outside_target_group",
    "future_marking",
    "revalidering_without_group2",
)
FSM2_MARKING_RULES = ("fsm2_gr2_outside_target_group", "fritagelse_without_reason")
MARKING_RULES = FSM1_MARKING_RULES + FSM2_MARKING_RULES


def landing_root() -> str:
    """FSM_LANDING: a local folder or any fsspec URL (s3://…, file://…)."""
    return os.environ.get("FSM_LANDING") or str(DATA_DIR / "landing")


def reports_dir() -> Path:
    return Path(os.environ.get("FSM_REPORTS_DIR") or PROJECT_ROOT / "reports")


def embedded_pgdata() -> Path:
    return DATA_DIR / "pg"


def max_file_bytes() -> int:
    """Input limit: a larger file fails clearly instead of exhausting memory."""
    return int(os.environ.get("FSM_MAX_FILE_BYTES", 2 * 1024**3))


@cache
def kommuner() -> dict[int, str]:
    """The 98 municipality codes and names (reference/kommuner.csv)."""
    with KOMMUNER_CSV.open(encoding="utf-8") as fh:
        return {int(r["kommunekode"]): r["kommunenavn"] for r in csv.DictReader(fh)}


@dataclass(frozen=True)
class Rules:
    """The thresholds and interpretations of DOMAIN.md. Each field names its rule id."""

    # T2: the target group is FSM_BRUTTO in force on this day.
    project_start: date = date(2017, 8, 1)
    # FSM1 period (monthly runs and `make run` cover it).
    project_last_month: date = date(2019, 12, 1)
    # T3 Interpretation: visited citizens stay in the target group when FSM_BRUTTO ends.
    visited_stay_in_target_group: bool = True
    # DQ backdated_marking / M3: days a start may precede its registration before it is flagged.
    backdating_grace_days: int = 0
    # V2 Interpretation: deferred citizens count as accounted for in coverage.
    deferred_counts_as_visited: bool = True
    # P2: coverage that earns tranche 2 (exact fraction, not the rounded figure).
    coverage_required_pct: Decimal = Decimal("100")
    # A1 Interpretation: offer types that count as company-directed effort.
    counted_offer_types: tuple[str, ...] = ("VIRKSOMHEDSPRAKTIK", "LOENTILSKUD")
    # P3: share and run length that earn tranche 3.
    activity_threshold_pct: Decimal = Decimal("40")
    activity_months_running: int = 3
    # P1–P3: the 30/40/30 split.
    tranche_pcts: tuple[Decimal, ...] = (Decimal("30"), Decimal("40"), Decimal("30"))
    # P4 Interpretation: the pool split by target group at start when no allocation file exists.
    fsm1_budget_dkk: Decimal = Decimal("262500000")
    # F9: FSM2's period and its 30 participants ('Esbjerg og Fanø' applied together: both codes).
    fsm2_first_month: date = date(2019, 1, 1)
    fsm2_last_month: date = date(2021, 12, 1)
    fsm2_participants: tuple[int, ...] = (
        101, 147, 151, 153, 157, 159, 167, 169, 185, 253, 265, 316, 360, 480, 550, 561,
        563, 607, 615, 630, 657, 661, 671, 710, 730, 751, 760, 766, 791, 840, 849,
    )  # fmt: skip
    # F1/F7: qualifying benefits; integrationsydelse only before it became overgangsydelse (2020).
    fsm2_benefits: tuple[str, ...] = ("KONTANTHJAELP", "OVERGANGSYDELSE")
    fsm2_integrationsydelse_until: date = date(2020, 1, 1)
    # F1/F7 Interpretation: 'over 30' means aged 30 or more on the last day of the month.
    fsm2_min_age: int = 30
    # F6/F8: thresholds reported for FSM2.
    fsm2_thresholds_pct: tuple[Decimal, ...] = (Decimal("15"), Decimal("20"))
    # DQ severities per rule (issue 4: configuration).
    dq_severity: dict[str, str] = field(
        default_factory=lambda: {
            "backdated_marking": "error",
            "overlapping_group_marking": "error",
            "duplicate_marking": "warning",
            "invalid_period": "error",
            "marking_outside_target_group": "warning",
            "future_marking": "warning",
            "revalidering_without_group2": "warning",
            "fsm2_gr2_outside_target_group": "warning",
            "fritagelse_without_reason": "error",
        }
    )

    def sql_params(self) -> dict[str, object]:
        """The values the SQL models read (rendered as literals, see warehouse.render_sql)."""
        return {
            "project_start": self.project_start,
            "visited_stay_in_target_group": self.visited_stay_in_target_group,
            "backdating_grace_days": self.backdating_grace_days,
            "deferred_counts_as_visited": self.deferred_counts_as_visited,
            "coverage_required_pct": self.coverage_required_pct,
            "counted_offer_types": list(self.counted_offer_types),
            "activity_threshold_pct": self.activity_threshold_pct,
            "activity_months_running": self.activity_months_running,
            "tranche1_pct": self.tranche_pcts[0],
            "tranche2_pct": self.tranche_pcts[1],
            "tranche3_pct": self.tranche_pcts[2],
            "fsm1_budget_dkk": self.fsm1_budget_dkk,
            "fsm2_first_month": self.fsm2_first_month,
            "fsm2_participants": list(self.fsm2_participants),
            "fsm2_benefits": list(self.fsm2_benefits),
            "fsm2_integrationsydelse_until": self.fsm2_integrationsydelse_until,
            "fsm2_min_age": self.fsm2_min_age,
            "fsm2_thresholds_pct": list(self.fsm2_thresholds_pct),
        }

    def describe(self) -> list[tuple[str, str, str]]:
        """(rule id, setting, value) rows for the report's 'rules in force' sheet."""
        return [
            ("T2", "Projektstart / target group = FSM_BRUTTO in force on", self.project_start.isoformat()),
            ("T3", "Visited citizens stay in the target group after FSM_BRUTTO ends", _yes(self.visited_stay_in_target_group)),
            ("M3", "Backdating grace (days)", str(self.backdating_grace_days)),
            (
                "D1",
                "A backdated marking counts from its registration day; overlapping groups: the earlier ends when the later starts; invalid periods ignored",
                "fixed",
            ),
            ("V2", "Deferred visitation counts as accounted for", _yes(self.deferred_counts_as_visited)),
            ("P2", "Coverage required for tranche 2 (%)", str(self.coverage_required_pct)),
            ("A1", "Offer types counted as company-directed effort", ", ".join(self.counted_offer_types)),
            ("P3", "Activity share required (%)", str(self.activity_threshold_pct)),
            ("P3", "Months running", str(self.activity_months_running)),
            ("P1-P3", "Tranche split (%)", "/".join(str(p) for p in self.tranche_pcts)),
            ("P4", "Pool split by target group at start when no allocation file (DKK)", f"{self.fsm1_budget_dkk:,}"),
            ("P4", "Tranche rounding", "to the øre; the difference on tranche 3"),
            ("P5", "As-of", "newest markings snapshot extracted by month end; register deliveries up to the month"),
            ("F9", "FSM2 period", f"{self.fsm2_first_month:%Y-%m} – {self.fsm2_last_month:%Y-%m}"),
            ("F9", "FSM2 participating municipalities", ", ".join(str(k) for k in self.fsm2_participants)),
            (
                "F1/F7",
                "FSM2 qualifying benefits",
                ", ".join(self.fsm2_benefits) + f"; INTEGRATIONSYDELSE before {self.fsm2_integrationsydelse_until:%Y-%m}",
            ),
            ("F1/F7", "FSM2 minimum age (on the last day of the month)", str(self.fsm2_min_age)),
            (
                "F3",
                "An exemption (FRITAGELSE) in force at month end removes the citizen from the indsatsgruppe that month",
                "fixed",
            ),
            ("F4", "FSM2 groups are not locked: the group in force at month end counts", "fixed"),
            ("F8", "FSM2 thresholds (%)", ", ".join(str(t) for t in self.fsm2_thresholds_pct)),
        ]


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _coerce(current: object, raw: str) -> object:
    if isinstance(current, bool):
        return raw.strip().lower() in ("1", "true", "yes", "ja")
    if isinstance(current, int):
        return int(raw)
    if isinstance(current, Decimal):
        return Decimal(raw)
    if isinstance(current, date):
        return date.fromisoformat(raw)
    if isinstance(current, tuple):
        items = [s.strip() for s in raw.split(",") if s.strip()]
        return tuple(Decimal(s) for s in items) if current and isinstance(current[0], Decimal) else tuple(items)
    return raw


def rules() -> Rules:
    """The rules in force: defaults, overridden by FSM_RULE_<FIELD> environment variables."""
    base = Rules()
    overrides = {}
    for f in dataclasses.fields(Rules):
        raw = os.environ.get(f"FSM_RULE_{f.name.upper()}")
        if raw is not None and f.name != "dq_severity":
            overrides[f.name] = _coerce(getattr(base, f.name), raw)
    return dataclasses.replace(base, **overrides) if overrides else base
