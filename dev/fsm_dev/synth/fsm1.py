"""FSM1's synthetic world: FSM_BRUTTO, the municipal markings and the registers of its citizens, with known defects.

The participating municipalities (88 of the 98: ten small ones are left out), every CPR, date, offer
and hour are invented (see generator.py). Two profiles: tiny and small keep the invented one below
(~24,000-citizen proportions, invented municipality sizes BIG_WEIGHTS); the calibrated scales
('calibrated', national, 2x) are sized by population (reference/kommune_weights.csv) and designed to STAR's
figures (27,000 at start, groups 55/34/11 %, 84 of 88 meeting 40 %): see calibration.py.

Model, in one paragraph: STAR pre-fills FSM_BRUTTO in June 2017 (T1). ~4 % left before project
start (STAR end-dates them on 2017-09-05, T2), ~3 % leave after it unvisited (T3). The others are
visited with a decaying monthly hazard from August 2017 (V1): ~4 % deferred first (M4), then
~75/18/7 % group 1/2/3 (M1; calibrated: 55/34/11 %); some group-1 citizens move to group 2 or 3 the same day the group-1
marking ends (M2, M6), a few go the other way, most group-1 citizens get FSM_PJF weeks later (M5).
About two thirds of the municipalities account for their whole target group in a month between
2017-11 and 2019-06 (P2); the rest never do. Each municipality has its own activity level (A1),
rising over time, so some reach 40 % three months running (P3) and some never.

After FSM1 (2019-12) nothing new happens to FSM1: no new markings, offers or hours; the FSM1
target group keeps its benefits and fades out (a monthly 10 % chance of leaving them for good),
the background citizens keep their benefit spells, and integrationsydelse is paid as
overgangsydelse from 2020-01. The FSM1 model itself always runs to 2019-12, so a month's FSM1
content never depends on `end` or on whether FSM2 is generated too. FSM2's world (fsm2.py) is
built afterwards from what `Fsm1World.registers()` hands it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsm_dev.synth import calibration
from fsm_dev.synth.common import (
    DAY,
    FOERTID,
    IY,
    KH,
    LAST_DEFAULT_MONTH,
    LEDIGHED,
    LT,
    MONDAY,
    NAT,
    RESSOURCE,
    REVAL,
    SYGE,
    UH,
    VP,
    Y_NONE,
    Fsm1Registers,
    kommune_codes,
    month_first,
    month_index,
    month_last,
    month_of,
    n_days,
    reg_time,
    to_weekday,
    unique_cprs,
)
from fsm_dev.synth.fsm1_params import (
    BIG_WEIGHTS,
    BRUTTO,
    DEFECT_RATES,
    GR1,
    GR2,
    GR3,
    GROUP_CODES,
    PJF,
    PROJECT_MONTH,
    PROJECT_START,
    RATES,
    UDSKUDT,
    Scale,
    participants,
)
from fsm_dev.synth.fsm1_registers import Fsm1RegisterRows


# =========================================================================== the world
class Fsm1World(Fsm1RegisterRows):
    """Citizens, markings and register events over the model horizon (fsm1_output.py renders and checks them)."""

    def __init__(self, seed: int, scale: Scale, m_lo: int, m_hi: int):
        self.seed = seed
        self.scale = scale
        self.rates = {**RATES, **calibration.RATES_FSM1} if scale.calibrated else RATES
        self.design: dict[str, np.ndarray] | None = None  # the calibrated design (calibration.design_kommuner)
        self.m_lo, self.m_hi = m_lo, m_hi
        # The FSM1 model always runs to 2019-12 (nH months), so a month's data does not depend on
        # `end`; nT months are written about (later months: FSM1 citizens continue and fade out).
        self.nH = month_index(LAST_DEFAULT_MONTH) + 1
        self.nT = max(m_hi + 1, self.nH)
        self.H = month_last(self.nH - 1)
        # streams of their own, so the FSM1 streams below draw exactly what they always drew
        self.rng_after = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1000,)))
        ss = np.random.SeedSequence(seed)
        names = ("pop", "visit", "defect", "activity", "register", "render", "reject", "background")
        self.rng = dict(zip(names, (np.random.default_rng(s) for s in ss.spawn(len(names))), strict=True))
        # weekdays, for dates a case worker acts on
        days = np.arange(np.datetime64("2017-01-01"), self.H + 1, dtype="datetime64[D]")
        self.weekdays = days[((days - MONDAY) // DAY) % 7 < 5]
        wm = month_of(self.weekdays)
        counts = np.bincount(wm, minlength=self.nH)
        self.wd_count = counts
        self.wd_off = np.concatenate([[0], np.cumsum(counts)[:-1]])

    # ----------------------------------------------------------------- small random helpers
    def _weekday_in_month(self, rng, m: np.ndarray) -> np.ndarray:
        m = np.asarray(m)
        return self.weekdays[self.wd_off[m] + (rng.random(m.shape) * self.wd_count[m]).astype(np.int64)]

    # ----------------------------------------------------------------- build
    def build(self) -> None:
        self._population()
        self._visitation()
        self._defects()
        self._activity()
        self._background()
        self._markings_table()
        self._offers_and_hours()
        self._pad_after_fsm1()
        self._ydelse_matrix()

    def registers(self) -> Fsm1Registers:
        """What FSM2's world takes from this one (after `build`)."""
        return Fsm1Registers(
            cpr=self.cpr,
            birth=np.concatenate([self.birth, self.bg_birth]),
            herkomst=self.y_herk,
            kommune=self.y_kom,
            intro=self.y_intro,
            ydelse=self.y_code,
            match=self.y_match,
            week_month=self.week_m,
            timer=self.timer,
        )

    def _pad_after_fsm1(self) -> None:
        """Month-indexed FSM1 arrays get empty columns for the months after 2019-12 (nothing happens)."""
        extra = self.nT - self.nH
        if extra <= 0:
            return
        for name in ("A", "jobfull", "jobparat", "reval"):
            x = getattr(self, name)
            setattr(self, name, np.hstack([x, np.zeros((x.shape[0], extra), x.dtype)]))

    def _population(self) -> None:
        rng = self.rng["pop"]
        sc = self.scale
        self.participants = np.array(participants())
        K = len(self.participants)
        if sc.calibrated:
            n_k = calibration.split(sc.citizens, sc.min_per_kommune, calibration.weights(self.participants))
        else:
            w = np.array([BIG_WEIGHTS.get(int(k), 0.0) for k in self.participants])
            small = w == 0
            w[small] = 0.55 * np.exp(rng.normal(0, 0.45, size=small.sum()))
            n_k = calibration.split(sc.citizens, sc.min_per_kommune, w)
        self.n_k = n_k
        N = int(n_k.sum())
        self.N = N
        self.kidx = np.repeat(np.arange(K), n_k)
        self.kom = self.participants[self.kidx]
        # target-group citizens were born 1953–1992 (aged ~25–64 in 2017)
        self.birth = np.datetime64("1953-01-01") + n_days(rng.integers(0, 14_400, size=N))
        u = rng.random(N)
        self.herkomst = np.where(u < 0.60, 0, np.where(u < 0.66, 1, 2))
        age_2017 = (np.datetime64("2017-08-01") - self.birth) // DAY / 365.25
        u = rng.random(N)
        base = np.full(N, KH)
        base[(self.herkomst > 0) & (u < 0.45)] = IY
        base[(age_2017 < 30) & (u < 0.6)] = UH
        self.base_code = base
        # FSM_BRUTTO (T1): counted December 2016; a fifth started earlier in 2016
        early = rng.random(N) < 0.2
        self.brutto_start = np.where(
            early,
            month_first(rng.integers(0, 11, size=N) - 12),  # 2016-01 .. 2016-11
            np.datetime64("2016-12-01"),
        ).astype("datetime64[D]")
        reg_day = np.datetime64("2017-06-20") + n_days(rng.integers(0, 9, size=N))
        self.brutto_reg = reg_time(rng, to_weekday(reg_day), 300, 420)  # STAR's batch, 05:00–07:00

        # visitation design per municipality: complete (100 % in month C_k) or not
        if sc.calibrated:  # and the 40 % requirement's outcome (calibration.py)
            self.design = calibration.design_kommuner(rng, K, month_index)
            self.complete, self.C_k, self.act_level = self.design["complete"], self.design["C_k"], self.design["high"]
        else:
            n_complete = round(K * RATES["complete_kommuner"])
            self.complete = np.zeros(K, bool)
            self.complete[rng.permutation(K)[:n_complete]] = True
            # C_k between 2017-11 (index 10) and 2019-06 (index 29), skewed early
            self.C_k = np.where(self.complete, 10 + np.floor(rng.beta(1.3, 2.2, size=K) * 20).astype(int), 10_000)
            # activity level per municipality (A1), spread evenly over the range, order random
            self.act_level = rng.permutation(np.linspace(*RATES["activity_level_range"], K))

        # leavers (T2, T3)
        u = rng.random(N)
        self.leaver = np.where(
            u < RATES["pre_start_leaver"], 1, np.where(u < RATES["pre_start_leaver"] + RATES["post_start_leaver"], 2, 0)
        )
        leave = np.full(N, NAT)
        vis = np.full(N, NAT)
        pre = self.leaver == 1
        leave[pre] = np.datetime64("2017-01-01") + n_days(rng.integers(0, 212, size=pre.sum()))  # ..2017-07-31
        vis[pre] = np.datetime64("2017-09-05")  # T2: STAR end-dates them in early September
        post = self.leaver == 2
        # ends after start; in a complete municipality before its completion month (so it can reach 100 %)
        last_end = np.minimum(
            np.where(self.complete[self.kidx], month_first(self.C_k[self.kidx]), np.datetime64("2019-01-01")),
            np.datetime64("2018-12-31"),
        )
        span = ((last_end - np.datetime64("2017-08-02")) // DAY).clip(1)
        leave[post] = np.datetime64("2017-08-02") + n_days((rng.random(N) * span).astype(int))[post]
        # STAR's monthly update registers the end on the 5th of the next month
        vis[post] = month_first(month_of(leave[post]) + 1) + 4 * DAY
        self.leave_date, self.leave_vis = leave, vis
        u = rng.random(N)
        self.leave_code = np.select([u < 0.35, u < 0.5, u < 0.7], [RESSOURCE, LEDIGHED, FOERTID], Y_NONE)

    def _visitation(self) -> None:
        rng = self.rng["visit"]
        N, H = self.N, self.H
        nP = self.nH - PROJECT_MONTH
        j = np.arange(nP)
        h = 0.28 * 0.9**j  # V1: a decaying monthly hazard from August 2017
        surv = np.concatenate([[1.0], np.cumprod(1 - h)[:-1]])
        cdf = np.cumsum(surv * h)
        u = rng.random(N)
        ck = self.C_k[self.kidx] - PROJECT_MONTH
        cap = np.where(self.complete[self.kidx], cdf[np.minimum(ck, nP - 1)], 1.0)
        jf = np.searchsorted(cdf, u * cap, side="right")  # nP = never
        active = self.leaver == 0
        jf[~active] = nP
        # complete municipalities: the last non-leaver is visited exactly in C_k
        df = pd.DataFrame({"k": self.kidx, "j": jf, "i": np.arange(N)})[active & self.complete[self.kidx]]
        last = df.sort_values(["k", "j", "i"]).groupby("k").tail(1)
        jf[last["i"].to_numpy()] = ck[last["i"].to_numpy()]
        # incomplete municipalities: at least one non-leaver is never visited
        df = pd.DataFrame({"k": self.kidx, "r": rng.random(N), "i": np.arange(N)})[active & ~self.complete[self.kidx]]
        never = df.sort_values(["k", "r"]).groupby("k").head(1)["i"].to_numpy()
        jf[never] = nP
        self.never_forced = np.zeros(N, bool)
        self.never_forced[never] = True
        seen = jf < nP
        t1 = np.full(N, NAT)
        t1[seen] = self._weekday_in_month(rng, jf[seen] + PROJECT_MONTH)
        self.t1 = t1
        # deferred first (M4); most are visited later
        self.deferred = seen & (rng.random(N) < RATES["deferred_first"])
        later = self.deferred & (rng.random(N) < RATES["deferred_then_group"])
        G = np.where(self.deferred, NAT, t1)
        gd = to_weekday(t1 + n_days(rng.integers(60, 300, size=N)))
        later &= gd <= H
        G[later] = gd[later]
        self.defer_end = np.where(later, G, NAT)
        self.G = G  # date the first group marking is registered (and, cleanly, starts)
        has_g = ~np.isnat(G)
        p = self.rates["group_split"]
        u = rng.random(N)
        self.first_group = np.where(~has_g, 0, np.where(u < p[0], GR1, np.where(u < p[0] + p[1], GR2, GR3)))
        if self.scale.calibrated:
            self.first_group = calibration.first_groups(rng, self.kidx, has_g, GROUP_CODES)
        # moves: group 1 -> 2/3 (group 1 end-dated the same day), group 2 -> 1
        mv = to_weekday(G + n_days(rng.integers(60, 400, size=N)))
        u = rng.random(N)
        m1 = (self.first_group == GR1) & (u < self.rates["move_from_group1"]) & (mv <= H)
        m2 = (self.first_group == GR2) & (u < self.rates["move_from_group2_to_1"]) & (mv <= H)
        self.move_date = np.where(m1 | m2, mv, NAT)
        to2 = self.rates.get("move_group1_to_group2", 0.75)
        self.move_code = np.where(m1, np.where(rng.random(N) < to2, GR2, GR3), np.where(m2, GR1, 0))
        self.move_overlap = np.zeros(N, bool)  # set by the overlap defect: group 1 not end-dated in time
        self.g1_end_late = np.full(N, NAT)  # its late end date (NaT = never end-dated)
        # FSM_PJF (M5) for group-1 citizens, some weeks after group 1 starts
        g1_start = np.where(self.first_group == GR1, G, np.where(m2, self.move_date, NAT))
        self.g1_start = g1_start
        pj = to_weekday(g1_start + n_days(rng.integers(7, 60, size=N)))
        out_of_g1 = np.where(m1, self.move_date, NAT)
        ok = ~np.isnat(g1_start) & (rng.random(N) < RATES["pjf"]) & (pj <= H) & ~(pj >= out_of_g1)
        self.pjf = np.where(ok, pj, NAT)
        self.pjf_reg = self.pjf.copy()  # registration day (differs for backdated / future PJF)
        self.pjf_end = np.where(ok & ~np.isnat(out_of_g1), out_of_g1, NAT)
        self.pjf_end_vis = self.pjf_end.copy()

    def _defects(self) -> None:
        """Pick disjoint citizens for each marking defect and change their markings."""
        rng = self.rng["defect"]
        N, H = self.N, self.H
        n = {k: max(self.scale.min_defects, round(r * N)) for k, r in DEFECT_RATES.items()}
        self.n_defect = n
        plain = (
            (self.leaver == 0) & ~self.deferred & (self.first_group == GR1) & np.isnat(self.move_date)
            & (self.G <= H - 240 * DAY) & (self.G <= np.datetime64("2019-04-30"))
        )  # fmt: skip
        order = rng.permutation(np.flatnonzero(plain))
        used = np.zeros(N, bool)

        # The first citizen of each kind is visited early, so that every kind shows up by about
        # 2017-12 whatever period is written (a run over a few months still sees each defect).
        early = self.G <= np.datetime64("2017-10-31")

        def take(k: int, extra: np.ndarray | None = None) -> np.ndarray:
            cand = order[~used[order]] if extra is None else order[~used[order] & extra[order]]
            e = np.flatnonzero(early[cand])
            if len(e):
                cand = np.concatenate([cand[e[:1]], np.delete(cand, e[0])])
            got = cand[:k]
            used[got] = True
            return got

        self.extra_markings: list[dict] = []  # additional markings: duplicates
        # backdated_marking (M3): group 1 (or PJF) registered weeks after the claimed start
        bd = take(n["backdated_marking"], self.G >= np.datetime64("2017-09-15"))
        bd_pjf = bd[1:][(rng.random(len(bd) - 1) < 0.2) & ~np.isnat(self.pjf[bd[1:]])]
        bd_g = np.setdiff1d(bd, bd_pjf)
        self.g1_claimed_start = self.G.copy()
        back = n_days(rng.integers(14, 91, size=N))
        self.g1_claimed_start[bd_g] = np.maximum(PROJECT_START, self.G[bd_g] - back[bd_g])
        # PJF: registered later than claimed; the claimed start stays on or after group 1's start
        self.pjf_reg[bd_pjf] = to_weekday(self.pjf[bd_pjf] + n_days(rng.integers(14, 61, size=len(bd_pjf))))
        self.pjf_reg = np.where(self.pjf_reg > H, self.pjf, self.pjf_reg)
        self.backdated = np.concatenate([bd_g, bd_pjf])

        # overlapping_group_marking (M2): moved to group 2/3 but group 1 not end-dated (or late)
        ov = take(n["overlapping_group_marking"])
        gap = rng.integers(45, 200, size=len(ov))
        gap[:1] = rng.integers(45, 61)
        t2 = to_weekday(self.G[ov] + n_days(gap))
        self.move_date[ov] = t2
        self.move_code[ov] = np.where(rng.random(len(ov)) < 0.7, GR2, GR3)
        self.move_overlap[ov] = True
        late = rng.random(len(ov)) < 0.5
        self.g1_end_late[ov[late]] = t2[late] + n_days(rng.integers(20, 90, size=late.sum()))
        # the job broker goes with group 1, ended on the move day
        has = ~np.isnat(self.pjf[ov]) & (self.pjf[ov] < t2)
        self.pjf[ov[~has]] = NAT
        self.pjf_reg[ov[~has]] = NAT
        self.pjf_end[ov[has]] = t2[has]
        self.pjf_end_vis[ov[has]] = t2[has]
        self.overlap = ov

        # duplicate_marking (M6): the same code entered twice
        du = take(n["duplicate_marking"])
        on_pjf = ~np.isnat(self.pjf[du]) & (rng.random(len(du)) < 0.4)
        for code, who in ((GR1, du[~on_pjf]), (PJF, du[on_pjf])):
            first = self.G[who] if code == GR1 else self.pjf[who]
            gap = rng.integers(0, 31, size=len(who))
            gap[: max(1, len(who) // 4)] = 0  # some on the very same day, registered minutes later
            s = np.where(gap == 0, first, to_weekday(first + n_days(gap)))
            self.extra_markings.append({"cit": who, "code": code, "start": s, "gap0": gap == 0})
        self.duplicates = du

        # invalid_period (M6): a PJF whose end date is before its start, typed so from the start or later
        iv = take(n["invalid_period"], ~np.isnat(self.pjf) & (self.pjf <= H - 160 * DAY))
        later = rng.random(len(iv)) < 0.5
        later[:1] = False
        self.pjf_end[iv] = self.pjf[iv] - n_days(rng.integers(5, 60, size=len(iv)))
        self.pjf_end_vis[iv] = np.where(
            later, to_weekday(self.pjf[iv] + n_days(rng.integers(30, 150, size=len(iv)))), self.pjf[iv]
        )
        self.invalid = iv

        # future_marking: a PJF registered now, starting after the end of the registration month
        fu = take(n["future_marking"], self.G <= H - 120 * DAY)
        r = to_weekday(self.G[fu] + n_days(rng.integers(7, 40, size=len(fu))))
        s = to_weekday(month_first(month_of(r) + 1) + n_days(rng.integers(3, 40, size=len(fu))))
        self.pjf[fu], self.pjf_reg[fu] = s, r
        self.pjf_end[fu] = NAT
        self.pjf_end_vis[fu] = NAT
        self.future = fu

        # revalidering_without_group2: REVALIDERING paid to a group-1 citizen in 1–3 months
        rv = take(n["revalidering_without_group2"])
        offset = rng.integers(0, 8, size=len(rv))
        offset[:1] = 0
        first_m = np.minimum(month_of(self.G[rv]) + 1 + offset, month_index("2019-10"))
        length = rng.integers(1, 4, size=len(rv))
        self.reval = np.zeros((N, self.nH), bool)
        for d in range(3):
            sel = d < length
            self.reval[rv[sel], first_m[sel] + d] = True
        self.reval_defect = rv
        # clean REVALIDERING: group-2 citizens with FSM_GR2 in force (M1: 'also when revalidering is granted')
        g2 = np.flatnonzero((self.first_group == GR2) & np.isnat(self.move_date) & (rng.random(N) < 0.12))
        fm = month_of(self.G[g2]) + 1 + rng.integers(0, 7, size=len(g2))
        ln = rng.integers(2, 5, size=len(g2))
        for d in range(4):
            sel = (d < ln) & (fm + d < self.nH)
            self.reval[g2[sel], fm[sel] + d] = True
        self.reval_clean = g2
        self.used_by_defect = used

    def _activity(self) -> None:
        """A1: a monthly Markov chain of 'active' per citizen in group 1, level by municipality."""
        rng = self.rng["activity"]
        N, nH = self.N, self.nH
        self.member = (self.first_group == GR1) & (self.leaver == 0)  # C2
        self.switcher = (self.first_group == GR2) & (self.move_code == GR1)  # not in the indsatsgruppe
        sim = self.member | self.switcher
        elig_from = np.where(self.member, month_of(self.G) + 1, np.where(self.switcher, month_of(self.move_date) + 1, 10_000))
        damp_from = np.where(self.member & ~np.isnat(self.move_date), month_of(self.move_date), 10_000)
        if self.scale.calibrated:
            A = calibration.activity(self, rng, sim, elig_from, damp_from, PROJECT_MONTH)
        else:
            level = self.act_level[self.kidx]
            stay = 0.8
            A = np.zeros((N, nH), bool)
            for m in range(PROJECT_MONTH, nH):
                ramp = 0.5 + 0.5 * min(1.0, (m - PROJECT_MONTH) / 10)
                p = level * ramp * np.where(m >= damp_from, 0.3, 1.0)
                enter = np.clip(p * (1 - stay) / (1 - p), 0, 1)
                u = rng.random(N)
                prev = A[:, m - 1]
                A[:, m] = sim & (m >= elig_from) & np.where(prev, u < stay, u < enter)
        self.A = A
        # split runs of active months into spells of at most 3 months
        pad = np.zeros((N, 1), bool)
        d = np.diff(np.hstack([pad, A, pad]).astype(np.int8), axis=1)
        ri, rs = np.nonzero(d == 1)
        _, re_ = np.nonzero(d == -1)  # row-major: same order as starts
        length = re_ - rs
        nseg = (length + 2) // 3
        seg_i = np.repeat(ri, nseg)
        k = np.arange(nseg.sum()) - np.repeat(np.cumsum(nseg) - nseg, nseg)
        seg_s = np.repeat(rs, nseg) + 3 * k
        seg_e = np.minimum(seg_s + 2, np.repeat(re_, nseg) - 1)  # inclusive
        u = rng.random(len(seg_i))
        self.seg = pd.DataFrame(
            {
                "i": seg_i,
                "s": seg_s,
                "e": seg_e,
                "kind": np.where(u < 0.45, VP, np.where(u < 0.65, LT, -1)),  # -1: ordinary hours
                "fulltime": rng.random(len(seg_i)) < 0.4,
            }
        )

    def _background(self) -> None:
        """Non-target citizens: cash-benefit and other recipients in all 98 municipalities, and the
        few citizens who wrongly get an FSM1 marking (marking_outside_target_group)."""
        rng = self.rng["background"]
        n_out = self.n_defect["marking_outside_target_group"]
        B = round(RATES["background_citizens"] * self.N) + n_out
        self.B = B
        all_k = np.array(kommune_codes())
        kom = all_k[rng.integers(0, len(all_k), size=B)]
        kom[:n_out] = self.participants[rng.integers(0, len(self.participants), size=n_out)]
        self.bg_kom = kom
        self.bg_birth = np.datetime64("1953-01-01") + n_days(rng.integers(0, 17_000, size=B))  # 1953–1999
        u = rng.random(B)
        self.bg_herkomst = np.where(u < 0.6, 0, np.where(u < 0.67, 1, 2))
        u = rng.random(B)
        code = np.select([u < 0.45, u < 0.6, u < 0.72, u < 0.82, u < 0.9], [KH, UH, IY, SYGE, REVAL], LEDIGHED)
        code[:n_out] = KH
        self.bg_code = code
        self.bg_intro = (code == IY) & (rng.random(B) < 0.5)
        u = rng.random(B)
        self.bg_match = np.select([np.isin(code, (KH, UH, IY)) & (u < 0.5), np.isin(code, (KH, IY)), code == UH], [1, 2, 3], 0)
        self.bg_match[:n_out] = 1
        # one benefit spell per citizen, in weeks from 2017-01-02
        self.bg_from = np.datetime64("2017-01-02") + n_days(
            rng.integers(0, int((self.H - np.datetime64("2017-01-02")) // DAY), size=B)
        )
        self.bg_to = self.bg_from + n_days(rng.integers(56, 840, size=B))
        # outside-target markings (T2): municipal markings for citizens with no FSM_BRUTTO
        span = int((np.datetime64("2019-10-31") - np.datetime64("2017-09-01")) // DAY)
        days = rng.integers(0, span, size=n_out)
        days[:1] = rng.integers(0, 60)  # the first one early (see _defects)
        md = to_weekday(np.datetime64("2017-09-01") + n_days(days))
        self.out_date = md
        u = rng.random(n_out)
        self.out_code = np.where(u < 0.6, GR1, np.where(u < 0.8, UDSKUDT, PJF))
        self.bg_from[:n_out] = md - n_days(rng.integers(60, 400, size=n_out))
        self.bg_to[:n_out] = md + n_days(rng.integers(60, 400, size=n_out))
        # CPRs for everyone (target first, then background): unique, valid date and century digit
        births = np.concatenate([self.birth, self.bg_birth])
        self.cpr = unique_cprs(rng, births)
        self.cpr_rank = np.argsort(np.argsort(self.cpr, kind="stable"), kind="stable")

    # ----------------------------------------------------------------- markings
    def _markings_table(self) -> None:
        rng = self.rng["visit"]
        N, H = self.N, self.H
        parts: list[dict[str, np.ndarray]] = []

        def add(cit, code, start, end, end_vis, reg, tag):
            cit = np.asarray(cit)
            m = len(cit)
            parts.append(
                {
                    "cit": cit,
                    "code": np.broadcast_to(np.asarray(code), (m,)).copy(),
                    "start": np.broadcast_to(np.asarray(start, "datetime64[D]"), (m,)).copy(),
                    "end": np.broadcast_to(np.asarray(end, "datetime64[D]"), (m,)).copy(),
                    "end_vis": np.broadcast_to(np.asarray(end_vis, "datetime64[D]"), (m,)).copy(),
                    "reg": np.broadcast_to(np.asarray(reg, "datetime64[m]"), (m,)).copy(),
                    "tag": np.full(m, tag, dtype=object),
                }
            )

        allc = np.arange(N)
        add(allc, BRUTTO, self.brutto_start, self.leave_date, self.leave_vis, self.brutto_reg, "brutto")
        d = np.flatnonzero(self.deferred)
        add(d, UDSKUDT, self.t1[d], self.defer_end[d], self.defer_end[d], reg_time(rng, self.t1[d]), "udskudt")
        g = np.flatnonzero(~np.isnat(self.G))
        # the first group marking: ends on the move day (clean), late or never (overlap defect)
        end = np.where(self.move_overlap, self.g1_end_late, self.move_date)
        reg1 = reg_time(rng, self.G)
        self.first_reg = reg1
        add(g, self.first_group[g], self.g1_claimed_start[g], end[g], end[g], reg1[g], "group")
        mv = np.flatnonzero(~np.isnat(self.move_date))
        add(mv, self.move_code[mv], self.move_date[mv], NAT, NAT, reg_time(rng, self.move_date[mv]), "group2nd")
        p = np.flatnonzero(~np.isnat(self.pjf))
        pjf_ts = reg_time(rng, self.pjf_reg)
        add(p, PJF, self.pjf[p], self.pjf_end[p], self.pjf_end_vis[p], pjf_ts[p], "pjf")
        for x in self.extra_markings:
            who, code = x["cit"], x["code"]
            first_reg = reg1[who] if code == GR1 else pjf_ts[who]
            # same-day duplicates are entered minutes after the first one
            later = first_reg + rng.integers(3, 90, size=len(who)).astype("timedelta64[m]")
            reg = np.where(x["gap0"], later, reg_time(rng, x["start"]))
            add(who, code, x["start"], NAT, NAT, reg, "duplicate")
        o = np.arange(self.n_defect["marking_outside_target_group"])
        add(N + o, self.out_code, self.out_date, NAT, NAT, reg_time(rng, self.out_date), "outside")
        mk_df = pd.DataFrame({k: np.concatenate([p_[k] for p_ in parts]) for k in parts[0]})
        mk_df = mk_df[mk_df["reg"].to_numpy().astype("datetime64[D]") <= H]
        # ids follow registration order, as a case system would hand them out
        mk_df = mk_df.sort_values(["reg", "cit", "code"], kind="stable").reset_index(drop=True)
        mk_df["marking_id"] = [f"FSM{i:07d}" for i in range(1, len(mk_df) + 1)]
        self.mk = mk_df
