"""Every setting and every interpretation of DOMAIN.md in one place, typed.

`Settings` (environment variables `FSM_<NAME>`, CONTRACT §3) say *where* things are and how
big a file may be; `Rules` (`FSM_RULE_<NAME>`, or a what-if run's overrides) say *how* the
figures are computed, each field beside its rule id. Both are pydantic-settings models: a
wrong value fails with the variable's name and what it expects, never silently. No other
runtime module reads an `FSM_*` variable.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PositiveInt, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from fsm import contract
from fsm.errors import PermanentError

ENV_PREFIX = "FSM_"
RULE_PREFIX = "FSM_RULE_"
# A fixed, public key: fine for synthetic data, refused in production (Settings.production).
DEVELOPMENT_PSEUDONYM_KEY = "fsm-development-key-not-for-production"
# The municipality list travels with the package so the container image and tests agree.
KOMMUNER_CSV = Path(__file__).resolve().parent / "reference" / "kommuner.csv"

Programme = Literal["FSM1", "FSM2"]
Severity = Literal["error", "warning"]


class SettingsError(PermanentError, ValueError):
    """An `FSM_*` variable (or a what-if override) with a value that cannot be used; names it."""


def env_name(field: str, rule: bool = False) -> str:
    """The environment variable that sets a field: env_name('reports_dir') == 'FSM_REPORTS_DIR'."""
    return f"{RULE_PREFIX if rule else ENV_PREFIX}{field.upper()}"


def _comma_list(value: object) -> object:
    """'101, 147' → ['101', '147'] (then typed by the field); lists and tuples pass through."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _raise_named(exc: ValidationError, name_of) -> None:
    lines = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "?"
        got = err.get("input")
        got = "" if isinstance(got, dict) else f" (got {got!r})"
        lines.append(f"{name_of(field)}: {err['msg']}{got}")
    raise SettingsError("invalid settings: " + "; ".join(lines)) from None


class Settings(BaseSettings):
    """Where things are (CONTRACT §3). Paths default to the project's own folders."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True)

    project_root: Path = Path(__file__).resolve().parents[2]
    data_dir: Path | None = None  # default <project_root>/data
    landing: str | None = None  # a folder or any fsspec URL (s3://…); default <data_dir>/landing
    warehouse_url: str | None = None  # any postgresql:// URL; else the connection fsm_warehouse; else embedded
    reports_dir: Path | None = None  # default <project_root>/reports
    pseudonym_key: SecretStr | None = None  # HMAC key for person_key; else the connection fsm_pseudonym
    env: str = "development"  # 'production' refuses the development key and the embedded warehouse
    max_file_bytes: PositiveInt = 2 * 1024**3  # input limits: a larger file fails clearly
    max_file_rows: PositiveInt = 20_000_000
    ingest_chunk_rows: PositiveInt = 20_000  # rows validated and copied per step (one transaction per file)
    wait_hours: float = Field(24 * 9, gt=0)  # how long a month's run waits for its register files
    programmes: Annotated[tuple[Programme, ...], NoDecode] = contract.PROGRAMMES  # narrow a run: 'FSM1'
    slow_run_alert_hours: float = Field(0, ge=0)  # 0: no slow-run deadline
    report_lang: Literal["da", "en"] = "da"
    report_small_count: int = Field(5, ge=0)  # counts below it (but > 0) mark a report INTERNAL
    report_workers: int = Field(default_factory=lambda: min(4, os.cpu_count() or 1), ge=1)  # a backfill's report processes
    code_version: str | None = None  # recorded in run_log; the image bakes it in, else `git describe`
    reuse_history: bool = True  # a monthly run reuses earlier as-of months whose inputs are unchanged (fsm.transform.history)

    _programmes = field_validator("programmes", mode="before")(_comma_list)

    @field_validator("report_lang", mode="before")
    @classmethod
    def _lang(cls, value: object) -> object:  # 'EN', 'en_GB', 'da-DK' name the language too
        return value.strip().lower()[:2] if isinstance(value, str) else value

    @property
    def production(self) -> bool:
        return self.env.strip().lower() in ("prod", "production")

    @property
    def data_folder(self) -> Path:
        return self.data_dir or self.project_root / "data"

    @property
    def landing_root(self) -> str:
        return self.landing or str(self.data_folder / "landing")

    @property
    def reports_folder(self) -> Path:
        return self.reports_dir or self.project_root / "reports"


def settings() -> Settings:
    """The settings in force now (read from the environment on each call: tests and runs change it)."""
    try:
        return Settings()
    except ValidationError as exc:
        _raise_named(exc, env_name)
        raise  # unreachable: _raise_named raises


_BOOT = settings()
PROJECT_ROOT = _BOOT.project_root
SQL_DIR = PROJECT_ROOT / "include" / "sql"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DATA_DIR = _BOOT.data_folder


def landing_root() -> str:
    return settings().landing_root


def reports_dir() -> Path:
    return settings().reports_folder


def embedded_pgdata() -> Path:
    return DATA_DIR / "pg"


def max_file_bytes() -> int:
    return settings().max_file_bytes


@cache
def kommuner() -> dict[int, str]:
    """The 98 municipality codes and names (reference/kommuner.csv)."""
    with KOMMUNER_CSV.open(encoding="utf-8") as fh:
        return {int(r["kommunekode"]): r["kommunenavn"] for r in csv.DictReader(fh)}


_DEFAULT_SEVERITY: dict[str, Severity] = {
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


class Rules(BaseSettings):
    """The thresholds and interpretations of DOMAIN.md. Each field names its rule id."""

    model_config = SettingsConfigDict(env_prefix=RULE_PREFIX, env_ignore_empty=True, extra="forbid", frozen=True)

    # T2: the target group is FSM_BRUTTO in force on this day.
    project_start: date = date(2017, 8, 1)
    # FSM1 period (monthly runs and `make run` cover it).
    project_last_month: date = date(2019, 12, 1)
    # T3 Interpretation: visited citizens stay in the target group when FSM_BRUTTO ends.
    visited_stay_in_target_group: bool = True
    # DQ backdated_marking / M3: days a start may precede its registration before it is flagged.
    backdating_grace_days: int = Field(0, ge=0)
    # V2 Interpretation: deferred citizens count as accounted for in coverage.
    deferred_counts_as_visited: bool = True
    # P2: coverage that earns tranche 2 (exact fraction, not the rounded figure).
    coverage_required_pct: Decimal = Field(Decimal("100"), gt=0, le=100)
    # A1 Interpretation: offer types that count as company-directed effort.
    counted_offer_types: Annotated[tuple[str, ...], NoDecode] = ("VIRKSOMHEDSPRAKTIK", "LOENTILSKUD")
    # A3 Interpretation (off by default): a month of SU-eligible education (the uddannelse feed) makes a member active.
    education_counts_as_activity: bool = False
    # P3: share and run length that earn tranche 3.
    activity_threshold_pct: Decimal = Field(Decimal("40"), ge=0, le=100)
    activity_months_running: PositiveInt = 3
    # P1–P3: the 30/40/30 split (must add up to 100).
    tranche_pcts: Annotated[tuple[Decimal, ...], NoDecode] = (Decimal("30"), Decimal("40"), Decimal("30"))
    # P4 Interpretation: the pool split by target group at start when no allocation file exists.
    fsm1_budget_dkk: Decimal = Field(Decimal("262500000"), gt=0, decimal_places=2)
    # F9: FSM2's period and its participants (contract.FSM2_PARTICIPANTS).
    fsm2_first_month: date = date(2019, 1, 1)
    fsm2_last_month: date = date(2021, 12, 1)
    fsm2_participants: Annotated[tuple[int, ...], NoDecode] = contract.FSM2_PARTICIPANTS
    # F1/F7: qualifying benefits; integrationsydelse only before it became overgangsydelse (2020).
    fsm2_benefits: Annotated[tuple[str, ...], NoDecode] = ("KONTANTHJAELP", "OVERGANGSYDELSE")
    fsm2_integrationsydelse_until: date = date(2020, 1, 1)
    # F1/F7 Interpretation: 'over 30' means aged 30 or more on the last day of the month.
    fsm2_min_age: int = Field(30, ge=0, le=120)
    # F6/F8: thresholds reported for FSM2.
    fsm2_thresholds_pct: Annotated[tuple[Decimal, ...], NoDecode] = (Decimal("15"), Decimal("20"))
    # F10 (STAR's FSM2 FAQ): the 50/40/10 payment parts (must add up to 100) and the F8 thresholds that earn
    # parts 2 and 3 (each one of fsm2_thresholds_pct, part 3's not below part 2's); part 1 is earned in fsm2_first_month.
    fsm2_part_pcts: Annotated[tuple[Decimal, ...], NoDecode] = (Decimal("50"), Decimal("40"), Decimal("10"))
    fsm2_part_thresholds_pct: Annotated[tuple[Decimal, ...], NoDecode] = (Decimal("15"), Decimal("20"))
    # F10 Interpretation: the pool split by target group in the first month with FSM2 data when no allocation file (F9).
    fsm2_pool_dkk: Decimal = Field(Decimal("148000000"), gt=0, decimal_places=2)
    # DQ severities per marking rule (FSM_RULE_DQ_SEVERITY as JSON: {"duplicate_marking": "error"}).
    dq_severity: dict[str, Severity] = Field(default_factory=lambda: dict(_DEFAULT_SEVERITY))

    _lists = field_validator(
        "counted_offer_types",
        "tranche_pcts",
        "fsm2_participants",
        "fsm2_benefits",
        "fsm2_thresholds_pct",
        "fsm2_part_pcts",
        "fsm2_part_thresholds_pct",
        mode="before",
    )(_comma_list)

    @field_validator("counted_offer_types")
    @classmethod
    def _offer_types(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(contract.TILBUD_TYPES))
        if unknown:
            raise ValueError(f"unknown offer types {unknown}; expected some of {', '.join(contract.TILBUD_TYPES)}")
        return value

    @field_validator("fsm2_benefits")
    @classmethod
    def _benefits(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(contract.YDELSE_CODES))
        if unknown:
            raise ValueError(f"unknown benefit codes {unknown}; expected some of {', '.join(contract.YDELSE_CODES)}")
        return value

    @field_validator("tranche_pcts")
    @classmethod
    def _split_adds_up(cls, value: tuple[Decimal, ...]) -> tuple[Decimal, ...]:  # P1–P3
        if len(value) != 3 or sum(value) != 100 or any(p < 0 for p in value):
            raise ValueError(
                f"three tranche percentages, each ≥ 0, adding up to 100 (got {len(value)} adding up to {sum(value)})"
            )
        return value

    @field_validator("fsm2_part_pcts")
    @classmethod
    def _parts_add_up(cls, value: tuple[Decimal, ...]) -> tuple[Decimal, ...]:  # F10
        if len(value) != 3 or sum(value) != 100 or any(p < 0 for p in value):
            raise ValueError(
                f"three FSM2 part percentages, each ≥ 0, adding up to 100 (got {len(value)} adding up to {sum(value)})"
            )
        return value

    @field_validator("fsm2_part_thresholds_pct")
    @classmethod
    def _part_thresholds(cls, value: tuple[Decimal, ...], info: ValidationInfo) -> tuple[Decimal, ...]:  # F10
        if len(value) != 2 or value[0] > value[1]:
            raise ValueError(f"two thresholds (part 2, part 3), part 3's not below part 2's (got {', '.join(map(str, value))})")
        reported = info.data.get("fsm2_thresholds_pct", ())
        missing = [t for t in value if t not in reported]
        if missing:  # F10 pays on F8's requirements (mart_fsm2_requirement has a row per reported threshold)
            raise ValueError(
                f"{', '.join(map(str, missing))} not among the F8 thresholds fsm2_thresholds_pct ({', '.join(map(str, reported))})"
            )
        return value

    @field_validator("fsm2_participants")
    @classmethod
    def _known_kommuner(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        unknown = sorted(set(value) - set(kommuner()))
        if unknown:
            raise ValueError(f"unknown municipality codes {unknown} (reference/kommuner.csv)")
        return value

    @field_validator("dq_severity")
    @classmethod
    def _every_rule(cls, value: dict[str, Severity]) -> dict[str, Severity]:
        unknown = sorted(set(value) - set(contract.MARKING_RULES))
        if unknown:
            raise ValueError(f"unknown marking rules {unknown}; expected {', '.join(contract.MARKING_RULES)}")
        return {**_DEFAULT_SEVERITY, **value}

    def sql_params(self) -> dict[str, object]:
        """The values the SQL models read (rendered as literals, see warehouse.render_sql)."""
        return {
            "project_start": self.project_start,
            "visited_stay_in_target_group": self.visited_stay_in_target_group,
            "backdating_grace_days": self.backdating_grace_days,
            "deferred_counts_as_visited": self.deferred_counts_as_visited,
            "coverage_required_pct": self.coverage_required_pct,
            "counted_offer_types": list(self.counted_offer_types),
            "education_counts_as_activity": self.education_counts_as_activity,
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
            "fsm2_part1_pct": self.fsm2_part_pcts[0],
            "fsm2_part2_pct": self.fsm2_part_pcts[1],
            "fsm2_part3_pct": self.fsm2_part_pcts[2],
            "fsm2_part2_threshold_pct": self.fsm2_part_thresholds_pct[0],
            "fsm2_part3_threshold_pct": self.fsm2_part_thresholds_pct[1],
            "fsm2_pool_dkk": self.fsm2_pool_dkk,
        }

    def overridden(self) -> dict[str, object]:
        """The fields whose value differs from the default (for run logs and what-if names)."""
        base = Rules.model_construct()
        return {k: v for k, v in self.model_dump(mode="json").items() if v != base.model_dump(mode="json")[k]}


def rules(overrides: Mapping[str, object] | None = None) -> Rules:
    """The rules in force: defaults, then FSM_RULE_<FIELD> variables, then `overrides` (a what-if run's)."""
    known = {env_name(f, rule=True) for f in Rules.model_fields}
    typos = sorted(k for k in os.environ if k.startswith(RULE_PREFIX) and k not in known)
    if typos:  # a misspelt override would otherwise be ignored silently
        raise SettingsError(f"unknown rule variable(s) {', '.join(typos)}; known: {', '.join(sorted(known))}")
    try:
        return Rules(**(overrides or {}))
    except ValidationError as exc:
        fields_ = set(overrides or ())
        _raise_named(exc, lambda f: f"rule override {f!r}" if f in fields_ else env_name(f, rule=True))
        raise  # unreachable
