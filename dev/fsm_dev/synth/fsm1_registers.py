"""FSM1's synthetic world, its registers: the offers and paid hours that realise each citizen's active
spells, and the weekly benefit matrix (a mixin of fsm1.Fsm1World, which holds the state these read)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsm_dev.synth.common import (
    DAY,
    FLEKS,
    IY,
    KH,
    LT,
    MENTOR,
    MONDAY,
    NAT,
    NYTTE,
    OVERGANG,
    RENAME_MONTH,
    RESSOURCE,
    REVAL,
    UH,
    VEJL,
    VP,
    Y_NONE,
    hours_rows,
    month_first,
    month_index,
    month_last,
    month_of,
    n_days,
    to_weekday,
    valid_cvr,
)
from fsm_dev.synth.fsm1_params import GR1, GR2, PROJECT_MONTH, RATES, RATES_AFTER_FSM1


class Fsm1RegisterRows:
    """Fsm1World's offers, hours and benefits; run by Fsm1World.build() after the markings."""

    # ----------------------------------------------------------------- offers and hours
    def _offers_and_hours(self) -> None:
        rng = self.rng["register"]
        N, nH, H = self.N, self.nH, self.H
        seg = self.seg
        # company-directed offers realise the active spells exactly: start in the first month, end in the last
        off = seg[seg["kind"] >= 0]
        s = self._weekday_in_month(rng, off["s"].to_numpy())
        first_last = month_first(off["e"].to_numpy())
        lo = np.maximum(s, first_last)
        hi = month_last(off["e"].to_numpy())
        e = lo + n_days((rng.random(len(off)) * ((hi - lo) // DAY + 1)).astype(int))
        offers = [pd.DataFrame({"i": off["i"].to_numpy(), "type": off["kind"].to_numpy(), "start": s, "end": e})]
        # other offers (not company-directed) for anyone in the target group
        nd = rng.poisson(0.5, size=N)
        di = np.repeat(np.arange(N), nd)
        ds = np.datetime64("2017-03-01") + n_days(rng.integers(0, int((H - np.datetime64("2017-03-01")) // DAY), size=len(di)))
        ds = to_weekday(ds)
        dt = rng.choice([NYTTE, VEJL, MENTOR], p=[0.4, 0.35, 0.25], size=len(di))
        de = ds + n_days(rng.integers(14, 180, size=len(di)))
        alive = ~(ds >= self.leave_date[di])
        offers.append(pd.DataFrame({"i": di[alive], "type": dt[alive], "start": ds[alive], "end": de[alive]}))
        # company-directed offers for citizens outside the indsatsgruppe (never counted; tests C2)
        non = np.flatnonzero(
            ((self.first_group > GR1) & ~self.switcher) | ((self.leaver == 0) & (np.isnat(self.G)) & ~self.deferred)
        )
        pick = non[rng.random(len(non)) < 0.25]
        ps = to_weekday(
            np.datetime64("2017-09-01") + n_days(rng.integers(0, int((H - np.datetime64("2017-09-01")) // DAY), size=len(pick)))
        )
        # a never-visited citizen in a complete municipality does not exist; for the others keep it simple
        offers.append(
            pd.DataFrame(
                {
                    "i": pick,
                    "type": np.where(rng.random(len(pick)) < 0.7, VP, LT),
                    "start": ps,
                    "end": ps + n_days(rng.integers(20, 120, size=len(pick))),
                }
            )
        )
        of = pd.concat(offers, ignore_index=True)
        of = of[of["start"] <= H].copy()
        # some offers are ended early: earlier deliveries still show the planned end (same tilbud_id)
        early = rng.random(len(of)) < RATES["offer_ended_early"]
        of["planned"] = np.where(early, of["end"].to_numpy() + n_days(rng.integers(35, 101, size=len(of))), of["end"].to_numpy())
        of["early"] = early
        # half of the changes arrive only with the next month's delivery ('or changed in it')
        of["late_change"] = early & (rng.random(len(of)) < 0.5)
        of = of.sort_values(["start", "i"], kind="stable").reset_index(drop=True)
        of["tilbud_id"] = [f"T{i:08d}" for i in range(1, len(of) + 1)]
        self.offers = of

        # paid hours (eIndkomst)
        cvr = valid_cvr(rng, max(200, N // 3))
        rows = []
        hseg = seg[seg["kind"] < 0]
        nm = (hseg["e"] - hseg["s"] + 1).to_numpy()
        hi = np.repeat(hseg["i"].to_numpy(), nm)
        hm = np.repeat(hseg["s"].to_numpy(), nm) + (np.arange(nm.sum()) - np.repeat(np.cumsum(nm) - nm, nm))
        ft = np.repeat(hseg["fulltime"].to_numpy(), nm)
        employer = np.repeat(cvr[rng.integers(0, len(cvr), size=len(hseg))], nm)
        h2 = np.where(ft, rng.integers(280, 331, size=len(hi)), rng.integers(16, 221, size=len(hi)))  # half hours
        rows.append(pd.DataFrame({"i": hi, "m": hm, "cvr": employer, "h2": h2, "sub": 0}))
        self.jobfull = np.zeros((N + self.B, nH), bool)
        self.jobfull[hi[ft], hm[ft]] = True
        second = rng.random(len(hi)) < 0.08
        rows.append(hours_rows(rng, cvr, hi[second], hm[second], (8, 61), sub=0))
        self.jobparat = np.zeros((N, nH), bool)
        pt = ~ft & (rng.random(len(hi)) < 0.3)
        self.jobparat[hi[pt], hm[pt]] = True
        # løntilskud: subsidised hours in every month of the offer
        lt = of[(of["type"] == LT)]
        m0, m1 = month_of(lt["start"].to_numpy()), np.minimum(month_of(lt["end"].to_numpy()), nH - 1)
        nm = m1 - m0 + 1
        li = np.repeat(lt["i"].to_numpy(), nm)
        lm = np.repeat(m0, nm) + (np.arange(nm.sum()) - np.repeat(np.cumsum(nm) - nm, nm))
        rows.append(
            pd.DataFrame(
                {
                    "i": li,
                    "m": lm,
                    "cvr": np.repeat(cvr[rng.integers(0, len(cvr), size=len(lt))], nm),
                    "h2": rng.integers(80, 321, size=len(li)),
                    "sub": 1,
                }
            )
        )
        # group 2 into fleksjob (subsidised) or ressourceforløb, some months after group 2 starts
        g2_from = np.where(
            self.first_group == GR2, self.G, np.where((self.move_code == GR2) & ~self.move_overlap, self.move_date, NAT)
        )
        g2_from = np.where(self.switcher, NAT, g2_from)
        u = rng.random(N)
        tr = to_weekday(g2_from + n_days(rng.integers(60, 240, size=N)))
        self.g2_trans_code = np.where(u < 0.4, RESSOURCE, np.where(u < 0.55, FLEKS, Y_NONE))
        self.g2_trans_date = np.where((self.g2_trans_code != Y_NONE) & (tr <= H), tr, NAT)
        fl = np.flatnonzero((self.g2_trans_code == FLEKS) & ~np.isnat(self.g2_trans_date))
        m0 = month_of(self.g2_trans_date[fl])
        nm = nH - m0
        fi = np.repeat(fl, nm)
        fm = np.repeat(m0, nm) + (np.arange(nm.sum()) - np.repeat(np.cumsum(nm) - nm, nm))
        rows.append(
            pd.DataFrame(
                {
                    "i": fi,
                    "m": fm,
                    "cvr": np.repeat(cvr[rng.integers(0, len(cvr), size=len(fl))], nm),
                    "h2": rng.integers(60, 201, size=len(fi)),
                    "sub": 1,
                }
            )
        )
        # ordinary hours for citizens outside the indsatsgruppe (never counted)
        nonm = np.concatenate([non, np.flatnonzero(self.leaver > 0)])
        k = rng.random(len(nonm)) < 0.2
        oi = np.repeat(nonm[k], 3)
        om = np.repeat(rng.integers(PROJECT_MONTH, nH - 2, size=k.sum()), 3) + np.tile(np.arange(3), k.sum())
        rows.append(hours_rows(rng, cvr, oi, om, (10, 200), sub=0))
        # background citizens with some hours
        bk = np.flatnonzero(rng.random(self.B) < 0.25)
        bi = np.repeat(self.N + bk, 4)
        bm = np.repeat(rng.integers(0, nH - 3, size=len(bk)), 4) + np.tile(np.arange(4), len(bk))
        rows.append(hours_rows(rng, cvr, bi, bm, (10, 320), sub=0))
        # a few rows with zero ordinary hours for indsatsgruppe members not active that month (not activity, A1)
        mem = np.flatnonzero(self.member)
        nz = max(2, round(0.004 * N))
        zi = mem[rng.integers(0, len(mem), size=nz * 3)]
        zm = rng.integers(PROJECT_MONTH + 1, nH, size=nz * 3)
        okz = ~self.A[zi, zm] & (zm > month_of(self.G[zi]))
        zi, zm = zi[okz][:nz], zm[okz][:nz]
        rows.append(pd.DataFrame({"i": zi, "m": zm, "cvr": cvr[rng.integers(0, len(cvr), size=len(zi))], "h2": 0, "sub": 0}))
        tm = pd.concat(rows, ignore_index=True)
        tm = tm.drop_duplicates(["i", "m", "cvr"]).reset_index(drop=True)
        self.timer = tm

    # ----------------------------------------------------------------- ydelse
    def _ydelse_matrix(self) -> None:
        N = self.N
        first = month_first(self.m_lo)
        last = month_last(self.m_hi)
        days = np.arange(first - 3 * DAY, last + 4 * DAY, dtype="datetime64[D]")
        thu = days[((days - MONDAY) // DAY) % 7 == 3]
        thu = thu[(thu >= first) & (thu <= last)]
        self.week_thu = thu
        self.week_m = month_of(thu)
        doy = (thu - thu.astype("datetime64[Y]").astype("datetime64[D]")) // DAY + 1
        years = thu.astype("datetime64[Y]").astype(int) + 1970
        self.week_label = np.char.add(np.char.add(years.astype(str), "-W"), np.char.zfill(((doy - 1) // 7 + 1).astype(str), 2))
        T = thu[None, :]
        # target-group citizens
        code = np.repeat(self.base_code[:, None].astype(np.int8), len(thu), axis=1)
        thirty = self.birth + n_days(10_957)
        code[(code == UH) & (T >= thirty[:, None])] = KH  # uddannelseshjælp ends at 30
        left = T >= self.leave_date[:, None]
        code = np.where(left, self.leave_code[:, None], code)
        trans = T >= self.g2_trans_date[:, None]
        code = np.where(trans, self.g2_trans_code[:, None], code)
        wm = self.week_m
        code[self.jobfull[:N][:, wm]] = Y_NONE  # a full-time job: no benefits that week
        code[self.reval[:, wm]] = REVAL
        # after FSM1 the target group fades out: each citizen leaves benefits in a random month
        fade_m = self.nH - 1 + self.rng_after.geometric(RATES_AFTER_FSM1["fade_out_monthly"], size=N)
        if self.nT > self.nH:
            code[wm[None, :] >= fade_m[:, None]] = Y_NONE
        renamed = (wm >= month_index(RENAME_MONTH))[None, :]
        code[(code == IY) & renamed] = OVERGANG  # integrationsydelse became overgangsydelse in 2020
        match = np.where(np.isin(code, (KH, UH, IY, OVERGANG, RESSOURCE)), 1, 0).astype(np.int8)
        match[self.jobparat[:, wm] & (match == 1)] = 2
        # background
        bcode = np.where((T >= self.bg_from[:, None]) & (T <= self.bg_to[:, None]), self.bg_code[:, None], Y_NONE).astype(np.int8)
        bcode[self.jobfull[N:][:, wm]] = Y_NONE
        bcode[(bcode == IY) & renamed] = OVERGANG
        bmatch = np.where(bcode != Y_NONE, self.bg_match[:, None], 0).astype(np.int8)
        self.y_code = np.vstack([code, bcode])
        self.y_match = np.vstack([match, bmatch])
        self.y_intro = np.concatenate([np.zeros(N, bool), self.bg_intro])
        self.y_herk = np.concatenate([self.herkomst, self.bg_herkomst])
        self.y_kom = np.concatenate([self.kom, self.bg_kom])
