"""The landing contract (CONTRACT §1) and the code lists of DOMAIN.md, defined once.

The DAG (one ingest task per feed), ingest (layout, columns, codes), the synthetic generator
(the files it writes), the report and the tests read these names; nothing restates them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PROGRAMMES = ("FSM1", "FSM2")


@dataclass(frozen=True)
class Feed:
    """One landing feed: where its files are, how they are named, which columns they carry."""

    name: str
    folder: str  # under the landing root
    period: str  # 'day' (markings: the extract date), 'month' (registers), '' (reference: no period)
    columns: tuple[str, ...]  # required, in CONTRACT order; extra columns are allowed and ignored
    optional_columns: frozenset[str] = field(default_factory=frozenset)  # may be missing from the header
    required_for_month: bool = False  # a month's run waits for this feed's file of the month
    empty_allowed: bool = True  # a header with no rows is a valid empty delivery
    id_columns: tuple[str, ...] = ()  # identifiers stored as given (bounded, one line)
    free_text_columns: tuple[str, ...] = ()  # the only fields a quoted line break may sit in
    staging_table: str = ""
    staging_columns: tuple[str, ...] = ()  # the staging table's columns in COPY order (person_id: dim_person; never the CPR)

    @property
    def pattern(self) -> re.Pattern[str]:
        """The file-name pattern, the period in group 'p' and the format in group 'fmt'."""
        stem = {"day": r"_(?P<p>\d{4}-\d{2}-\d{2})", "month": r"_(?P<p>\d{4}-\d{2})", "": r"(?P<p>)"}[self.period]
        return re.compile(rf"^{self.name}{stem}\.(?P<fmt>csv|parquet)$")

    def file_name(self, period: str = "", fmt: str = "csv") -> str:
        """The file name for a period label ('2019-03' or '2019-03-31'; '' for reference feeds)."""
        return f"{self.name}{'_' + period if period else ''}.{fmt}"


FEEDS: dict[str, Feed] = {
    f.name: f
    for f in (
        Feed(
            "markings",
            "markings",
            "day",
            ("marking_id", "cpr", "kommune_kode", "marking_code", "start_date", "end_date", "registered_at", "fritagelse_aarsag"),
            optional_columns=frozenset({"fritagelse_aarsag"}),
            empty_allowed=False,  # a snapshot of all markings is never legitimately empty
            id_columns=("marking_id",),
            free_text_columns=("fritagelse_aarsag",),
            staging_table="stg_markings",
            staging_columns=(
                "file_id",
                "extract_date",
                "line_no",
                "marking_id",
                "person_id",
                "kommune_kode",
                "marking_code",
                "start_date",
                "end_date",
                "registered_at",
                "registered_date",
                "fritagelse_aarsag",
            ),
        ),
        Feed(
            "ydelse",
            "registers/ydelse",
            "month",
            ("cpr", "iso_week", "kommune_kode", "ydelse_kode", "matchgruppe", "introduktionsprogram", "herkomst"),
            required_for_month=True,
            staging_table="stg_ydelse",
            # compact (V011): the birth date is the person's (dim_person), the delivery month the file's
            staging_columns=(
                "file_id",
                "line_no",
                "person_id",
                "week_month",
                "ydelse_kode",
                "herkomst",
                "matchgruppe",
                "kommune_kode",
                "iso_week_no",
                "introduktionsprogram",
            ),
        ),
        Feed(
            "tilbud",
            "registers/tilbud",
            "month",
            ("tilbud_id", "cpr", "kommune_kode", "tilbud_type", "start_date", "end_date"),
            required_for_month=True,
            id_columns=("tilbud_id",),
            staging_table="stg_tilbud",
            staging_columns=(
                "file_id",
                "delivery_month",
                "line_no",
                "tilbud_id",
                "person_id",
                "kommune_kode",
                "tilbud_type",
                "start_date",
                "end_date",
            ),
        ),
        Feed(
            "timer",
            "registers/timer",
            "month",
            ("cpr", "month", "cvr", "hours", "subsidised"),
            required_for_month=True,
            staging_table="stg_timer",
            staging_columns=("file_id", "delivery_month", "line_no", "person_id", "month", "cvr", "hours", "subsidised"),
        ),
        Feed(
            "uddannelse",
            "registers/uddannelse",
            "month",
            ("cpr", "month", "su_eligible"),
            staging_table="stg_uddannelse",
            staging_columns=("file_id", "delivery_month", "line_no", "person_id", "month", "su_eligible"),
        ),
        Feed(
            "allocations",
            "reference",
            "",
            ("kommune_kode", "programme", "grant_dkk"),
            staging_table="stg_allocations",
            staging_columns=("file_id", "line_no", "kommune_kode", "programme", "grant_dkk"),
        ),
    )
}
FEED_NAMES = tuple(FEEDS)  # in load order: the DAG's ingest tasks
REGISTER_FEEDS = tuple(f.name for f in FEEDS.values() if f.required_for_month)  # a month's run waits for these
OPTIONAL_FEEDS = tuple(n for n in FEED_NAMES if n != "markings" and n not in REGISTER_FEEDS)

# --- code lists (CONTRACT §1 column notes) ---------------------------------------------------
FSM1_MARKING_CODES = ("FSM_BRUTTO", "FSM_GR1", "FSM_GR2", "FSM_GR3", "FSM_UDSKUDT", "FSM_PJF")
FSM2_MARKING_CODES = ("FSM2_GR2", "FSM2_STEPUP", "FRITAGELSE")
MARKING_CODES = FSM1_MARKING_CODES + FSM2_MARKING_CODES
YDELSE_CODES = (
    "KONTANTHJAELP", "UDDANNELSESHJAELP", "INTEGRATIONSYDELSE", "OVERGANGSYDELSE", "RESSOURCEFORLOEB",
    "LEDIGHEDSYDELSE", "FLEKSJOB", "FOERTIDSPENSION", "SYGEDAGPENGE", "REVALIDERING",
)  # fmt: skip
MATCHGRUPPER = ("AKTIVITETSPARAT", "JOBPARAT", "UDDANNELSESPARAT")
HERKOMST = ("DANSK", "VESTLIG", "IKKE_VESTLIG")  # F5
TILBUD_TYPES = ("VIRKSOMHEDSPRAKTIK", "LOENTILSKUD", "NYTTEINDSATS", "VEJLEDNING_OPKVALIFICERING", "MENTOR")

# --- programme participants (F9) --------------------------------------------------------------
# FSM2's 30 participants; 'Esbjerg og Fanø' applied together, so both codes (561, 563) are listed.
# The rules (config.Rules.fsm2_participants) default to this list and may override it.
FSM2_PARTICIPANTS = (
    101, 147, 151, 153, 157, 159, 167, 169, 185, 253, 265, 316, 360, 480, 550, 561,
    563, 607, 615, 630, 657, 661, 671, 710, 730, 751, 760, 766, 791, 840, 849,
)  # fmt: skip

# --- the marking data-quality rules (include/sql/dq/<rule_id>.sql) ------------------------------
# DOMAIN's DQ table for FSM1, in its order, then FSM2's two. fsm.quality evaluates them all; the
# report lists FSM1's first.
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
