"""What the synthetic FSM1 and FSM2 worlds share: the calendar, the register codes (from fsm.contract) and small vectorised helpers.

Codes are kept as small integers while the worlds are built and turned into the contract's text
only when a file is written: `YDELSE_CODES[KH] == "KONTANTHJAELP"`. Index 0 of the ydelse and
matchgruppe arrays is the empty value (no benefit that week, no matchgruppe).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fsm import contract
from fsm.config import kommuner

# --------------------------------------------------------------------------- calendar
BASE_MONTH = np.datetime64("2017-01", "M")  # month index 0
MONDAY = np.datetime64("1970-01-05", "D")
NAT = np.datetime64("NaT", "D")
DAY = np.timedelta64(1, "D")
LAST_DEFAULT_MONTH = "2019-12"  # FSM1's last month: the FSM1 model always runs to here
LAST_MONTH = "2021-12"  # FSM2's last month: the latest `end` there is data for
RENAME_MONTH = "2020-01"  # integrationsydelse is paid as overgangsydelse from this month on
HYPHEN_CPR_RATE = 0.08  # share of rows that write a CPR as DDMMYY-SSSS


def _index(codes: tuple[str, ...], *names: str, offset: int = 0) -> tuple[int, ...]:
    return tuple(offset + codes.index(n) for n in names)


# --------------------------------------------------------------------------- register codes (fsm.contract)
YDELSE_CODES = np.array(["", *contract.YDELSE_CODES])
Y_NONE = 0
KH, UH, IY, OVERGANG, RESSOURCE, LEDIGHED, FLEKS, FOERTID, SYGE, REVAL = _index(
    contract.YDELSE_CODES,
    "KONTANTHJAELP", "UDDANNELSESHJAELP", "INTEGRATIONSYDELSE", "OVERGANGSYDELSE", "RESSOURCEFORLOEB",
    "LEDIGHEDSYDELSE", "FLEKSJOB", "FOERTIDSPENSION", "SYGEDAGPENGE", "REVALIDERING",
    offset=1,
)  # fmt: skip
MATCH_CODES = np.array(["", *contract.MATCHGRUPPER])
AP, JP, UP = _index(contract.MATCHGRUPPER, "AKTIVITETSPARAT", "JOBPARAT", "UDDANNELSESPARAT", offset=1)
HERKOMST = np.array(contract.HERKOMST)
TILBUD_TYPES = np.array(contract.TILBUD_TYPES)
VP, LT, NYTTE, VEJL, MENTOR = _index(
    contract.TILBUD_TYPES, "VIRKSOMHEDSPRAKTIK", "LOENTILSKUD", "NYTTEINDSATS", "VEJLEDNING_OPKVALIFICERING", "MENTOR"
)


@dataclass(frozen=True)
class Fsm1Registers:
    """What FSM2's world takes from FSM1's, by argument: the CPRs already handed out and what FSM1's
    citizens (target group, then background) have in the shared registers, for FSM2's truth (F7
    counts everyone in the registers)."""

    cpr: np.ndarray  # per citizen
    birth: np.ndarray  # per citizen, datetime64[D]
    herkomst: np.ndarray  # per citizen, index into HERKOMST
    kommune: np.ndarray  # per citizen, kommune code
    intro: np.ndarray  # per citizen, in the introduction programme
    ydelse: np.ndarray  # citizen × week, index into YDELSE_CODES
    match: np.ndarray  # citizen × week, index into MATCH_CODES
    week_month: np.ndarray  # month index of each week (its Thursday)
    timer: pd.DataFrame  # paid hours: i (citizen), m (month index), cvr, h2 (half hours), sub (subsidised)


# --------------------------------------------------------------------------- months and dates
def month_index(label: str) -> int:
    try:
        m = np.datetime64(label, "M")
    except ValueError as exc:
        raise ValueError(f"bad month {label!r}; expected YYYY-MM") from exc
    return int((m - BASE_MONTH).astype(int))


def month_label(idx) -> np.ndarray | str:
    return np.datetime_as_string(BASE_MONTH + np.asarray(idx), unit="M")


def month_first(idx) -> np.ndarray:
    return (BASE_MONTH + np.asarray(idx)).astype("datetime64[D]")


def month_last(idx) -> np.ndarray:
    return (BASE_MONTH + np.asarray(idx) + 1).astype("datetime64[D]") - DAY


def month_of(d: np.ndarray) -> np.ndarray:
    """Month index of dates; NaT gives a large negative number (mask it)."""
    return (np.asarray(d).astype("datetime64[M]") - BASE_MONTH).astype(np.int64)


def date_text(d: np.ndarray) -> np.ndarray:
    s = np.datetime_as_string(np.asarray(d, dtype="datetime64[D]"), unit="D")
    return np.where(s == "NaT", "", s)


def to_weekday(d: np.ndarray) -> np.ndarray:
    """Move Saturdays and Sundays to the next Monday (case workers register on weekdays)."""
    with np.errstate(invalid="ignore"):  # NaT stays NaT
        dow = ((d - MONDAY) // DAY) % 7
    return d + np.where(dow == 5, 2, np.where(dow == 6, 1, 0)) * DAY


def n_days(n) -> np.ndarray:
    return np.asarray(n, dtype=np.int64) * DAY


def reg_time(rng: np.random.Generator, d: np.ndarray, lo_min: int = 450, hi_min: int = 960) -> np.ndarray:
    """A registration timestamp on day d, in office hours (07:30–16:00), minute precision."""
    mins = rng.integers(lo_min, hi_min, size=np.shape(d))
    return d.astype("datetime64[m]") + mins.astype("timedelta64[m]")


# --------------------------------------------------------------------------- people, employers, municipalities
def kommune_codes() -> list[int]:
    """All 98 codes (the runtime package's reference/kommuner.csv)."""
    return sorted(kommuner())


def unique_cprs(rng: np.random.Generator, births: np.ndarray, taken: np.ndarray | None = None) -> np.ndarray:
    """Valid CPRs (date and 1900s century digit) for the births, unique and not in `taken`."""
    n = len(births)
    ddmmyy = np.array([s[8:10] + s[5:7] + s[2:4] for s in np.datetime_as_string(births, unit="D")])
    # 7th digit: 0–3 always means 1900s; 4 and 9 mean 1900s for years 37–99 (all of ours)
    century_digit = np.array(list("0123012349"))
    cpr = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        c7 = century_digit[rng.integers(0, 10, size=len(todo))]
        rest = np.char.zfill(rng.integers(0, 1000, size=len(todo)).astype(str), 3)
        cpr[todo] = np.char.add(np.char.add(ddmmyy[todo], c7), rest)
        s = cpr.astype(str)
        _, first = np.unique(s, return_index=True)
        dup = np.ones(n, bool)
        dup[first] = False
        if taken is not None:
            dup |= np.isin(s, taken)
        todo = np.flatnonzero(dup)
    return cpr.astype(str)


def cpr_text(rng: np.random.Generator, cpr: np.ndarray) -> np.ndarray:
    """CPRs as written: mostly DDMMYYSSSS, some DDMMYY-SSSS (chosen per row)."""
    hy = rng.random(len(cpr)) < HYPHEN_CPR_RATE
    out = cpr.astype(object)
    if hy.any():
        out[hy] = [x[:6] + "-" + x[6:] for x in cpr[hy]]
    return out


def valid_cvr(rng: np.random.Generator, n: int) -> np.ndarray:
    """8-digit employer numbers that pass the CVR modulus-11 check."""
    w = np.array([2, 7, 6, 5, 4, 3, 2])
    out: list[np.ndarray] = []
    got = 0
    while got < n:
        body = rng.integers(1_000_000, 10_000_000, size=2 * n)
        digits = (body[:, None] // 10 ** np.arange(6, -1, -1)) % 10
        check = (11 - (digits @ w) % 11) % 11
        ok = check < 10
        vals = body[ok] * 10 + check[ok]
        out.append(vals)
        got += len(vals)
    vals = np.unique(np.concatenate(out))[:n]
    rng.shuffle(vals)
    return vals.astype(str)


def hours_rows(rng: np.random.Generator, cvr: np.ndarray, i, m, hours: tuple[int, int], sub: int) -> pd.DataFrame:
    """Paid-hours rows (the timer feed, before formatting): per person-month a random employer from
    `cvr` and half hours drawn from [lo, hi); `sub` 1 = subsidised (never activity, A1)."""
    return pd.DataFrame(
        {
            "i": i,
            "m": m,
            "cvr": cvr[rng.integers(0, len(cvr), size=len(i))],  # drawn before the hours: the seed's sequence
            "h2": rng.integers(hours[0], hours[1], size=len(i)),
            "sub": sub,
        }
    )
