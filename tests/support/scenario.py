"""A tiny landing-zone builder for rule tests: hand-made markings, offers, hours and benefits."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

from fsm.contract import FEED_NAMES, FEEDS
from fsm.ingest import ingest_feed
from fsm.months import month_range, parse_month
from fsm.transform import run_fsm1

BORN: dict[int, date] = {}  # person -> birth date, when not 1 Jan 1980 (FSM2 age tests)


def cpr(n: int) -> str:
    """A synthetic CPR: born 1 Jan 1980 unless BORN says otherwise, serial 1000 + n (7th digit 1: 1900s)."""
    born = BORN.get(n, date(1980, 1, 1))
    return f"{born:%d%m%y}{1000 + n:04d}"


def person_key(n: int) -> str:
    from fsm.cpr import person_key as pk

    return pk(cpr(n))


class Scenario:
    def __init__(self, root: Path):
        self.root = root
        self.markings: list[tuple] = []  # (id, person, kommune, code, start, end, registered, visible_from_extract, reason)
        self.tilbud: dict[str, list[str]] = defaultdict(list)
        self.timer: dict[str, list[str]] = defaultdict(list)
        self.ydelse: dict[str, list[str]] = defaultdict(list)
        self.allocations: list[str] = []
        self.uddannelse: dict[str, list[str]] = defaultdict(list)
        BORN.clear()

    def born(self, person, day: str):
        BORN[person] = date.fromisoformat(day)
        return self

    def education(self, month, person, su_eligible=1):
        self.uddannelse[month].append(f"{cpr(person)};{month};{su_eligible}")
        return self

    def mark(self, mid, person, code, start, end=None, registered=None, kommune=101, end_registered=None, reason=""):
        """A marking; `end_registered` = the day its end date was entered (earlier snapshots show it open)."""
        self.markings.append((mid, person, kommune, code, start, end, registered or start, end_registered, reason))
        return self

    def brutto(self, person, kommune=101, end=None, end_registered=None):
        return self.mark(f"brutto{person}", person, "FSM_BRUTTO", "2016-12-01", end, "2017-06-20", kommune, end_registered)

    def offer(self, delivery_month, tid, person, typ, start, end="", kommune=101):
        self.tilbud[delivery_month].append(f"{tid};{cpr(person)};{kommune};{typ};{start};{end}")
        return self

    def hours(self, month, person, hours, subsidised=0):
        self.timer[month].append(f"{cpr(person)};{month};12345678;{hours};{subsidised}")
        return self

    def benefit(self, iso_week, person, code="KONTANTHJAELP", kommune=101, match="AKTIVITETSPARAT", intro=0, herkomst="DANSK"):
        month = _week_month(iso_week)
        self.ydelse[month].append(f"{cpr(person)};{iso_week};{kommune};{code};{match};{intro};{herkomst}")
        return self

    def benefits(self, person, first_week: str, last_week: str, **kw):
        """One benefit row per ISO week from first_week to last_week inclusive."""
        y, w = (int(x) for x in first_week.split("-W"))
        day = date.fromisocalendar(y, w, 1)
        y2, w2 = (int(x) for x in last_week.split("-W"))
        end = date.fromisocalendar(y2, w2, 1)
        while day <= end:
            iy, iw, _ = day.isocalendar()
            self.benefit(f"{iy}-W{iw:02d}", person, **kw)
            day = date.fromordinal(day.toordinal() + 7)
        return self

    def grant(self, kommune, amount, programme="FSM1"):
        self.allocations.append(f"{kommune};{programme};{amount}")
        return self

    def write(self, last: str, first: str = "2017-08") -> None:
        """One snapshot per month (extracted on its last day) and register files for every month up to `last`."""
        from fsm.months import last_day

        for m in month_range(parse_month(first), parse_month(last)):
            extract = last_day(m)
            rows = []
            for mid, person, kommune, code, start, end, registered, end_registered, reason in self.markings:
                if date.fromisoformat(registered[:10]) > extract:
                    continue
                shown_end = end if end and (end_registered is None or date.fromisoformat(end_registered) <= extract) else ""
                rows.append(f"{mid};{cpr(person)};{kommune};{code};{start};{shown_end};{registered};{reason}")
            if rows:
                self._file("markings", str(extract), rows)
            label = m.strftime("%Y-%m")
            self._file("tilbud", label, self.tilbud.get(label, []))
            self._file("timer", label, self.timer.get(label, []))
            self._file("ydelse", label, self.ydelse.get(label, []))
            if self.uddannelse:
                self._file("uddannelse", label, self.uddannelse.get(label, []))
        if self.allocations:
            self._file("allocations", "", self.allocations)

    def run(self, last: str, months: list[str] | None = None, backfill: bool = False, programme: str = "FSM1") -> None:
        """Ingest what `last` may see and compute the marts (each month in `months`, or `last`)."""
        from fsm.transform import run_fsm2

        self.write(last, first="2017-08" if programme == "FSM1" else "2019-01")
        lm = parse_month(last)
        for feed in FEED_NAMES:
            ingest_feed(feed, lm, str(self.root))
        compute = run_fsm1 if programme == "FSM1" else run_fsm2
        if backfill:
            compute(lm, write_all_months=True)
        for m in months or ([] if backfill else [last]):
            compute(parse_month(m))

    def _file(self, feed: str, period: str, rows: list[str]) -> None:
        """One landing file as CONTRACT §1 lays it out (fsm.contract): folder, name, ';'-separated header."""
        spec = FEEDS[feed]
        path = self.root / spec.folder / spec.file_name(period)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join([";".join(spec.columns), *rows]) + "\n", encoding="utf-8")


def _week_month(iso_week: str) -> str:
    y, w = iso_week.split("-W")
    return date.fromisocalendar(int(y), int(w), 4).strftime("%Y-%m")
