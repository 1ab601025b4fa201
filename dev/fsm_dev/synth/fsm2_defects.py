"""FSM2's synthetic world, its injected defects: each FSM2 marking rule's violations at a known rate
(a mixin of fsm2.Fsm2World, which holds the markings draft these edit; fsm2_output.py checks them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsm_dev.synth.common import (
    DAY,
    NAT,
    month_first,
    n_days,
    reg_time,
    to_weekday,
)
from fsm_dev.synth.fsm2_params import (
    BARSEL,
    DQ_RULES_FSM2,
    FIRST_DAY,
    FRIT,
    FSM2_DEFECT_RATES,
    GR2,
    H2,
    M_FIRST,
    NM,
    NO_REASON,
    STEPUP,
    SYGDOM,
    _pick,
)


class Fsm2Defects:
    """Fsm2World's defects; run by Fsm2World.build() after the markings."""

    # ----------------------------------------------------------------- defects
    def _defects(self) -> None:
        rng = self.rng["defect"]
        N = self.N
        mk = pd.DataFrame({k: np.concatenate([p[k] for p in self.mk_parts]) for k in self.mk_parts[0]})
        n = {k: max(self.scale.min_defects, round(r * N)) for k, r in FSM2_DEFECT_RATES.items()}
        self.n_defect = n
        used = self.mover.copy()  # movers never carry a defect (kommune per week: see README of the truth)
        n_code = mk.groupby(["cit", "code"]).size()
        single = n_code[n_code == 1].reset_index()[["cit", "code"]]
        mk = mk.merge(single.assign(single=True), on=["cit", "code"], how="left")
        mk["single"] = mk["single"].fillna(False).astype(bool)
        has_mark = np.zeros(N, bool)
        has_mark[mk["cit"].to_numpy()] = True
        early = np.datetime64("2019-06-30")
        extra: list[pd.DataFrame] = []
        injected: dict[str, list] = {k: [] for k in DQ_RULES_FSM2}

        def take_rows(mask: np.ndarray, when: np.ndarray, k: int) -> np.ndarray:
            """k marking rows of distinct unused citizens, the first one visible early if possible."""
            idx = np.flatnonzero(mask)
            idx = idx[rng.permutation(len(idx))]
            cit = mk["cit"].to_numpy()[idx]
            keep = ~used[cit]
            idx, cit = idx[keep], cit[keep]
            _, first = np.unique(cit, return_index=True)
            idx = idx[np.sort(first)]
            e = np.flatnonzero(when[idx] <= early)
            if len(e):
                idx = np.concatenate([idx[e[:1]], np.delete(idx, e[0])])
            got = idx[:k]
            used[mk["cit"].to_numpy()[got]] = True
            return got

        def take_citizens(mask: np.ndarray, when: np.ndarray, k: int) -> np.ndarray:
            idx = np.flatnonzero(mask & ~used)
            idx = idx[rng.permutation(len(idx))]
            e = np.flatnonzero(when[idx] <= early)
            if len(e):
                idx = np.concatenate([idx[e[:1]], np.delete(idx, e[0])])
            got = idx[:k]
            used[got] = True
            return got

        start = mk["start"].to_numpy()
        tag = mk["tag"].to_numpy()
        reg_day = mk["reg"].to_numpy().astype("datetime64[D]")
        first_kind = np.isin(tag, ["gr2", "gr2_back", "frit"]) & mk["single"].to_numpy()

        # backdated_marking (M3): claimed start 2–13 weeks before the day it was registered
        r = take_rows(first_kind & (start >= np.datetime64("2019-03-01")), reg_day, n["backdated_marking"])
        new_start = np.maximum(FIRST_DAY, start[r] - n_days(rng.integers(14, 91, size=len(r))))
        mk.loc[r, "start"] = new_start
        injected["backdated_marking"] = r.tolist()

        # duplicate_marking (M6): the same code entered again, overlapping (same end)
        r = take_rows(first_kind & (start <= H2 - 40 * DAY), start, n["duplicate_marking"])
        d = mk.loc[r].copy()
        d_end = d["end"].to_numpy()
        span = np.where(
            np.isnat(d_end), 10_000, (np.where(np.isnat(d_end), d["start"].to_numpy(), d_end) - d["start"].to_numpy()) // DAY
        )
        gap = np.minimum(rng.integers(1, 31, size=len(r)), np.maximum(span - 1, 0))
        gap[: max(1, len(r) // 4)] = 0
        d["start"] = np.where(gap == 0, d["start"].to_numpy(), to_weekday(d["start"].to_numpy() + n_days(gap)))
        d["start"] = np.where(d["start"].to_numpy() >= d["end"].to_numpy(), mk.loc[r, "start"].to_numpy(), d["start"].to_numpy())
        same_day = d["start"].to_numpy() == mk.loc[r, "start"].to_numpy()
        later = mk.loc[r, "reg"].to_numpy() + rng.integers(3, 90, size=len(r)).astype("timedelta64[m]")
        d["reg"] = np.where(same_day, later, reg_time(rng, d["start"].to_numpy()))
        d["tag"] = "duplicate"
        extra.append(d)

        # the rest add markings for citizens without any: a month in the target group (or outside it)
        tg = self.tg
        mo_ok = np.arange(NM)[None, :]

        def month_in(mask2d: np.ndarray, who: np.ndarray, bias: float = 1.6) -> np.ndarray:
            """A month of each citizen's mask; the first citizen's first one (see take_citizens)."""
            mo = _pick(rng, mask2d[who], bias)
            mo[:1] = np.argmax(mask2d[who[:1]], axis=1)
            return mo

        def first_month(mask2d: np.ndarray) -> np.ndarray:
            anyc = mask2d.any(axis=1)
            return np.where(anyc, month_first(M_FIRST + np.argmax(mask2d, axis=1)), np.datetime64("2100-01-01"))

        # invalid_period (M6): end before start, typed so at once or corrected wrongly later
        ok = tg & (mo_ok <= NM - 7)
        c = take_citizens(ok.any(axis=1) & ~has_mark, first_month(ok), n["invalid_period"])
        st = self._weekday(rng, month_in(ok, c))
        fr = rng.random(len(c)) < 0.3
        vis_later = rng.random(len(c)) < 0.5
        vis_later[:1] = False
        en = st - n_days(rng.integers(5, 61, size=len(c)))
        extra.append(
            self._rows(
                rng,
                c,
                np.where(fr, FRIT, STEPUP),
                st,
                en,
                np.where(vis_later, to_weekday(st + n_days(rng.integers(30, 150, size=len(c)))), st),
                st,
                np.where(fr, SYGDOM, NO_REASON),
                "invalid",
            )
        )

        # future_marking: registered in a target month, starting after the end of that month
        ok = tg & (mo_ok <= NM - 3)
        c = take_citizens(ok.any(axis=1) & ~has_mark, first_month(ok), n["future_marking"])
        rm = month_in(ok, c)
        rd = self._weekday(rng, rm)
        st = to_weekday(month_first(M_FIRST + rm + 1) + n_days(rng.integers(3, 41, size=len(c))))
        fr = rng.random(len(c)) < 0.6
        en = np.where(fr, to_weekday(st + n_days(rng.integers(90, 181, size=len(c)))), NAT)
        extra.append(
            self._rows(
                rng, c, np.where(fr, FRIT, STEPUP), st, en, np.where(fr, rd, NAT), rd, np.where(fr, BARSEL, NO_REASON), "future"
            )
        )

        # fsm2_gr2_outside_target_group (F2, F7): (a) not end-dated when the citizen left the target
        # group (or weeks late), (b) set for a citizen outside it (under 30, job-ready, intro, …)
        k_out = n["fsm2_gr2_outside_target_group"]
        k_a = (k_out + 1) // 2 + (1 if k_out > 3 else 0)
        end = mk["end"].to_numpy()
        r = take_rows((tag == "gr2") & mk["single"].to_numpy() & ~np.isnat(end), end, k_a)
        late = rng.random(len(r)) < 0.5
        late[:1] = False
        new_end = np.where(late, end[r] + n_days(rng.integers(35, 121, size=len(r))), NAT)
        mk.loc[r, "end"] = new_end
        mk.loc[r, "end_vis"] = new_end
        injected["fsm2_gr2_outside_target_group"] = r.tolist()
        on_m = np.zeros((N, NM), bool)
        for mo in range(NM):
            on_m[:, mo] = self.on[:, self.wk_lo[mo] : self.wk_hi[mo]].any(axis=1)
        ok = ~tg & on_m & (mo_ok <= NM - 2)
        c = take_citizens(ok.any(axis=1) & ~has_mark, first_month(ok), k_out - len(r))
        mo = month_in(ok, c)
        st = self._weekday(rng, mo)
        en_m = mo + rng.integers(1, 4, size=len(c))
        en = np.where((rng.random(len(c)) < 0.5) & (en_m < NM), self._weekday(rng, en_m), NAT)
        extra.append(self._rows(rng, c, np.full(len(c), GR2), st, en, en, st, np.full(len(c), NO_REASON), "outside"))

        # fritagelse_without_reason (F3): the reason left empty; when no early exemption is left,
        # the first one is a new exemption for a citizen without markings, early in the period
        k = n["fritagelse_without_reason"]
        r = take_rows(np.isin(tag, ["frit", "frit2"]), reg_day, k)
        if not len(r) or reg_day[r[0]] > early:
            ok = tg & (mo_ok <= 5)
            c = take_citizens(ok.any(axis=1) & ~has_mark, first_month(ok), 1)
            if len(c):
                st = self._weekday(rng, month_in(ok, c))
                _why, en, ev = self._exemption(rng, st)
                extra.append(self._rows(rng, c, np.full(len(c), FRIT), st, en, ev, st, np.full(len(c), NO_REASON), "no_reason"))
                r = r[: k - len(c)]
        mk.loc[r, "why"] = NO_REASON
        self.mk_draft = pd.concat([mk.drop(columns="single"), *extra], ignore_index=True)
