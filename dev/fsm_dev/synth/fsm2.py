"""'Flere skal med 2' (FSM2) in the synthetic landing zone: citizens, markings, hours, education.

Everything here is invented except the rules (DOMAIN F1–F9) and the 30 participants (F9, 'Esbjerg
og Fanø' as two codes, 561 and 563, from fsm.contract). Built on top of the FSM1 world (fsm1.py),
whose files it shares and whose registers and CPRs it is handed (`Fsm1Registers`, by argument): one markings snapshot per month holds FSM1 and FSM2 codes; FSM2's citizens are added to
the ydelse and timer deliveries; `registers/uddannelse/` is FSM2's own (optional) feed. The FSM2
model always runs over 2019-01..2021-12, so a month's content does not depend on `start`/`end`.
Deterministic by seed (streams of its own: FSM1's draws are untouched), vectorised over citizens
and weeks.

Model (all numbers invented, see FSM2_RATES):
- Citizens: ~400 / 3,000 (tiny/small; invented relative sizes FSM2_WEIGHTS, København biggest) and
  4,900 / 49,000 / 98,000 (calibrated/national/2x: sizes by population, reference/kommune_weights.csv, so
  that with FSM1's citizens who qualify the target group of 2019-01 is ~36,000 nationally, STAR's
  figure; calibration.py) 'FSM2-relevant' citizens in the 31 participant codes. Herkomst DANSK/VESTLIG/IKKE_VESTLIG
  55/10/35 %. 85 % born 1957–1988 (30–64 throughout), 15 % born 1989–mid 1996 (aged 25–29 at some
  point; those born 1989–1991 turn 30 in the period and enter the target group that month).
- Weekly benefits 2019-01..2021-12 in alternating on/off spells (80 % on at the start; on-spells
  ~70 weeks, off-spells ~26 weeks on average; a quarter of the off-spells are sygedagpenge).
  Integration citizens (20 % of VESTLIG, 45 % of IKKE_VESTLIG) get INTEGRATIONSYDELSE, renamed
  OVERGANGSYDELSE from 2020-01; 35 % of them are in the introduction programme (1) until a random
  week. Young non-integration citizens get UDDANNELSESHJAELP (60 %) until their 30th birthday,
  then KONTANTHJAELP; everyone else KONTANTHJAELP. Matchgruppe AKTIVITETSPARAT 84 % / JOBPARAT
  16 % (young UH: 50/5/45 % incl. UDDANNELSESPARAT), 15 % reassessed once. 4 % move once (half to
  another participant, half to a non-participant).
- FSM2_GR2 for ~15 % (start in a target month, registered that day); it ends when the citizen
  leaves the target group (end date in the first month outside it) and 35 % of them move on to
  ressourceforløb, fleksjob or førtidspension (the benefit changes from a month 3–9 months on; the
  marking ends that week). 25 % of the others go back to group 1 (end-dated mid-run) and half of
  those return to group 2 with a new marking (2→1→2, F4).
- FRITAGELSE for ~8 % (SYGDOM 50 %, BARSEL 20 %, JOB_INDEN_6_UGER 10 %, ANDET 20 %; 2–6 weeks for
  a job, else 1–6 months; planned ends (BARSEL, JOB) are known on registration); 10 % get a second
  one later. FSM2_STEPUP (informational) for ~6 %.
- Activity (F6, F8): a monthly two-state chain per citizen; in the target group the chance of
  being active is the municipality's level (spread evenly over 6–32 %, order random) times a ramp
  from 55 % to 100 % over the first 15 months, so some municipalities reach 15 % early, some 20 %
  later, some never 20 % (small municipalities are noisy). An active run is SU-eligible education
  (15 %; 35 % for the young) or ordinary part-time hours. Also: løntilskud and fleksjob hours
  (subsidised, never count), full-time hours in the months after leaving benefits for a job, a few
  zero-hour rows, and non-SU education (su_eligible 0) — in all ~3 % of the citizens have an
  uddannelse row in a month.
- Data-quality defects (DQ_RULES_FSM2), on disjoint citizens at FSM2_DEFECT_RATES (share of FSM2
  citizens; at least `min_defects` each), the first of each kind visible by about 2019-06.

FSM1's citizens keep their own data; where they qualify by F7 (in 2019 many do, then they fade
out) they are counted in the FSM2 truth too, which is always computed from the written data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fsm.contract import FSM2_PARTICIPANTS
from fsm_dev.synth import calibration
from fsm_dev.synth.common import (
    AP,
    DAY,
    FLEKS,
    FOERTID,
    IY,
    JP,
    KH,
    MONDAY,
    NAT,
    OVERGANG,
    RESSOURCE,
    SYGE,
    UH,
    UP,
    Y_NONE,
    Fsm1Registers,
    hours_rows,
    kommune_codes,
    month_of,
    n_days,
    reg_time,
    to_weekday,
    unique_cprs,
    valid_cvr,
)
from fsm_dev.synth.fsm2_defects import Fsm2Defects
from fsm_dev.synth.fsm2_params import (
    BARSEL,
    FIRST_DAY,
    FRIT,
    FSM2_RATES,
    FSM2_SCALES,
    FSM2_WEIGHTS,
    GR2,
    H2,
    JOB6,
    M_FIRST,
    M_LAST,
    M_RENAME,
    MIN_AGE,
    NM,
    NO_REASON,
    STEPUP,
    _expand,
    _next_off,
    _pick,
    _ymd_key,
    month_target,
)


class Fsm2World(Fsm2Defects):
    """FSM2 citizens on top of FSM1's world, of which it knows only `fsm1` (its CPRs and registers);
    fsm2_output.py renders the rows it adds to each file."""

    def __init__(self, fsm1: Fsm1Registers, seed: int, scale_name: str):
        self.fsm1 = fsm1
        self.scale = FSM2_SCALES[scale_name]
        ss = np.random.SeedSequence(seed, spawn_key=(2000,))
        names = ("pop", "spell", "mark", "defect", "activity", "render")
        self.rng = dict(zip(names, (np.random.default_rng(s) for s in ss.spawn(len(names))), strict=True))
        days = np.arange(FIRST_DAY, H2 + 1, dtype="datetime64[D]")
        dow = ((days - MONDAY) // DAY) % 7
        self.thu = days[dow == 3]  # weeks whose Thursday is in 2019-01..2021-12
        self.W = len(self.thu)
        self.wmon = self.thu - 3 * DAY
        self.wm = month_of(self.thu)
        months = np.arange(M_FIRST, M_LAST + 1)
        self.wk_lo = np.searchsorted(self.wm, months, side="left")
        self.wk_hi = np.searchsorted(self.wm, months, side="right")
        doy = (self.thu - self.thu.astype("datetime64[Y]").astype("datetime64[D]")) // DAY + 1
        years = self.thu.astype("datetime64[Y]").astype(int) + 1970
        self.week_label = np.char.add(np.char.add(years.astype(str), "-W"), np.char.zfill(((doy - 1) // 7 + 1).astype(str), 2))
        wd = days[dow < 5]
        self.weekdays = wd
        cnt = np.bincount(month_of(wd) - M_FIRST, minlength=NM)
        self.wd_count, self.wd_off = cnt, np.concatenate([[0], np.cumsum(cnt)[:-1]])
        self.parts = np.array(FSM2_PARTICIPANTS)
        self.part_lut = np.zeros(1000, bool)
        self.part_lut[self.parts] = True
        self.kpos = np.full(1000, -1)
        self.kpos[self.parts] = np.arange(len(self.parts))

    # ----------------------------------------------------------------- helpers
    def _weekday(self, rng, mo: np.ndarray) -> np.ndarray:
        """A random weekday in FSM2 month offset `mo` (0 = 2019-01)."""
        mo = np.clip(np.asarray(mo), 0, NM - 1)
        return self.weekdays[self.wd_off[mo] + (rng.random(mo.shape) * self.wd_count[mo]).astype(np.int64)]

    def _week_of(self, d: np.ndarray) -> np.ndarray:
        """Index of the (Monday-started) week containing day d, clipped to the grid."""
        return np.clip(np.searchsorted(self.wmon, d, side="right") - 1, 0, self.W - 1)

    def _kom_block(self, a: int, b: int) -> np.ndarray:
        w = np.arange(a, b)[None, :]
        return np.where(w >= self.move_w[:, None], self.kom2[:, None], self.kom1[:, None])

    def _target_matrix(self) -> np.ndarray:
        tg = np.zeros((self.N, NM), bool)
        for mo in range(NM):
            a, b = self.wk_lo[mo], self.wk_hi[mo]
            tg[:, mo], _ = month_target(
                self.code[:, a:b], self.match[:, a:b], self.intro[:, a:b], self._kom_block(a, b), M_FIRST + mo,
                self.by, self.bmd, self.part_lut,
            )  # fmt: skip
        return tg

    # ----------------------------------------------------------------- build
    def build(self) -> None:
        self._population()
        self._benefits()
        self._markings()
        self._defects()
        self._finish_markings()
        self._activity()

    def _population(self) -> None:
        rng = self.rng["pop"]
        sc, R = self.scale, FSM2_RATES
        K = len(self.parts)
        w = calibration.weights(self.parts) if sc.calibrated else np.array([FSM2_WEIGHTS[int(k)] for k in self.parts])
        n_k = calibration.split(sc.citizens, sc.min_per_kommune, w)
        N = int(n_k.sum())
        kidx = np.repeat(np.arange(K), n_k)
        young = rng.random(N) < R["young"]
        old_birth = np.datetime64("1957-01-01") + n_days(rng.integers(0, 11_688, size=N))  # ..1988-12-31
        young_birth = np.datetime64("1989-01-01") + n_days(rng.integers(0, 2_737, size=N))  # ..1996-06-30
        birth = np.where(young, young_birth, old_birth)
        u = rng.random(N)
        p = R["herkomst"]
        herk = np.where(u < p[0], 0, np.where(u < p[0] + p[1], 1, 2))
        cpr = unique_cprs(rng, birth, self.fsm1.cpr)
        # citizens in CPR order, so each month's rows come out sorted without a sort
        order = np.argsort(cpr, kind="stable")
        self.N = N
        self.n_k = n_k
        self.kidx, self.young, self.birth, self.herk, self.cpr = (x[order] for x in (kidx, young, birth, herk, cpr))
        self.kom1 = self.parts[self.kidx]
        self.by, self.bmd = _ymd_key(self.birth)

    def _benefits(self) -> None:
        rng = self.rng["spell"]
        R = FSM2_RATES
        N, W = self.N, self.W
        u = rng.random(N)
        iy = ((self.herk == 1) & (u < R["integration_vestlig"])) | ((self.herk == 2) & (u < R["integration_ikke_vestlig"]))
        uh = self.young & ~iy & (rng.random(N) < R["uddannelseshjaelp_if_young"])
        # the 30th birthday (29 February -> 28 February, as in _aged)
        bday = pd.to_datetime(
            pd.DataFrame({"year": self.by + MIN_AGE, "month": self.bmd // 100, "day": np.where(self.bmd == 229, 28, self.bmd % 100)})
        ).to_numpy().astype("datetime64[D]")  # fmt: skip
        self.thirty = bday
        # matchgruppe, reassessed once for some
        u = rng.random(N)
        m_base = np.where(uh, np.where(u < 0.5, AP, np.where(u < 0.55, JP, UP)), np.where(u < R["match_aktivitetsparat"], AP, JP))
        m_after = np.where(m_base == AP, JP, AP)
        switch_w = np.where(rng.random(N) < R["match_reassessed"], rng.integers(1, W, size=N), W + 1)
        intro_end = np.where(iy & (rng.random(N) < R["intro_programme"]), rng.integers(0, W + 40, size=N), -1)
        # alternating on/off spells over the weeks
        J = 7
        on0 = rng.random(N) < R["on_benefits_at_start"]
        d_on = rng.geometric(1 / R["on_spell_weeks_mean"], size=(N, J))
        d_off = rng.geometric(1 / R["off_spell_weeks_mean"], size=(N, J))
        seg_on = (np.arange(J) % 2 == 0)[None, :] == on0[:, None]
        bnd = np.cumsum(np.where(seg_on, d_on, d_off), axis=1)  # first week of segment j+1
        syg_bits = ((rng.random((N, J + 1)) < R["off_spell_sygedagpenge"]) @ (1 << np.arange(J + 1))).astype(np.int16)
        wk = np.arange(W)[None, :]
        seg = np.zeros((N, W), np.int8)
        for j in range(J):
            seg += wk >= bnd[:, j : j + 1]
        on = (seg % 2 == 0) == on0[:, None]
        renamed = (self.wm >= M_RENAME)[None, :]
        code_on = np.where(
            iy[:, None],
            np.where(renamed, OVERGANG, IY),
            np.where(uh[:, None] & (self.thu[None, :] < bday[:, None]), UH, KH),
        ).astype(np.int8)
        code_off = np.where((syg_bits[:, None] >> seg) & 1 == 1, SYGE, Y_NONE).astype(np.int8)
        self.code = np.where(on, code_on, code_off).astype(np.int8)
        del code_on, code_off
        mw = np.where(wk >= switch_w[:, None], m_after[:, None], m_base[:, None]).astype(np.int8)
        mw[(self.code != UH) & (mw == UP)] = AP  # uddannelsesparat only on uddannelseshjælp
        self.match = np.where(on, mw, 0).astype(np.int8)
        del mw
        self.intro = on & iy[:, None] & (wk < intro_end[:, None])
        self.on, self.seg, self.bnd, self.seg_on0, self.syg_bits = on, seg, bnd, on0, syg_bits
        self.iy, self.uh = iy, uh
        # a few move once: half to another participant, half out of FSM2
        mover = rng.random(N) < R["movers"]
        self.move_w = np.where(mover, rng.integers(4, W - 4, size=N), W + 1)
        K = len(self.parts)
        other = self.parts[(self.kidx + rng.integers(1, K, size=N)) % K]
        outside = np.array([k for k in kommune_codes() if k not in set(FSM2_PARTICIPANTS)])
        away = outside[rng.integers(0, len(outside), size=N)]
        self.kom2 = np.where(rng.random(N) < R["move_to_participant"], other, away)
        self.mover = mover

    # ----------------------------------------------------------------- markings
    def _markings(self) -> None:
        rng = self.rng["mark"]
        R = FSM2_RATES
        N = self.N
        tg0 = self._target_matrix()
        has = tg0.any(axis=1)
        nxt0 = _next_off(tg0)
        # group 2: start in a target month, early-biased
        g = np.flatnonzero(has & (rng.random(N) < R["gr2"]))
        s = _pick(rng, tg0[g], 1.6)
        b0 = nxt0[g, s].astype(np.int64) - 1  # last month of the run
        t = s + rng.integers(3, 10, size=len(g))
        trans = (rng.random(len(g)) < R["gr2_to_ressource_fleks_foertid"]) & (t <= b0)
        kind = rng.choice(np.array([RESSOURCE, FLEKS, FOERTID]), p=[0.6, 0.25, 0.15], size=len(g))
        self._transitions(g[trans], t[trans], kind[trans])
        self.tg = tg = self._target_matrix()
        nxt = _next_off(tg)
        self.has_target = tg.any(axis=1)
        n_end = nxt[g, s].astype(np.int64)  # first month outside the target group after s
        start1 = self._weekday(rng, s)
        t_week = self.wk_lo[np.clip(t, 0, NM - 1)]
        back = ~trans & (rng.random(len(g)) < R["gr2_back_to_group1"]) & (n_end - 1 > s)
        e = s + 1 + np.floor(rng.random(len(g)) * np.maximum(n_end - 1 - s, 0)).astype(np.int64)
        again = back & (rng.random(len(g)) < R["gr2_again_after_group1"]) & (e < n_end - 1)
        s2 = e + 1 + np.floor(rng.random(len(g)) * np.maximum(n_end - 1 - e, 0)).astype(np.int64)
        if not again.any():  # at least one 2 -> 1 -> 2 at every scale, when a run is long enough
            room = np.flatnonzero(~trans & (n_end - 1 > s + 1))
            if len(room):
                j = room[0]
                back[j], again[j], e[j], s2[j] = True, True, s[j] + 1, s[j] + 2
        natural = np.where(n_end < NM, self._weekday(rng, n_end), NAT)
        end1 = np.where(trans, self.wmon[t_week], np.where(back, self._weekday(rng, e), natural))
        start2 = self._weekday(rng, s2)
        self.gr2_trans = np.zeros(N, bool)
        self.gr2_trans[g[trans]] = True
        self.trans_kind = dict(zip(g[trans].tolist(), kind[trans].tolist(), strict=True))
        self.trans_month = dict(zip(g[trans].tolist(), t[trans].tolist(), strict=True))
        parts: list[dict] = []

        def add(cit, code, start, end, end_vis, reg_day, aarsag, tag):
            m = len(cit)
            parts.append(
                {
                    "cit": np.asarray(cit, np.int64),
                    "code": np.full(m, code, np.int8),
                    "start": np.asarray(start, "datetime64[D]"),
                    "end": np.broadcast_to(np.asarray(end, "datetime64[D]"), (m,)).copy(),
                    "end_vis": np.broadcast_to(np.asarray(end_vis, "datetime64[D]"), (m,)).copy(),
                    "reg": reg_time(rng, np.asarray(reg_day, "datetime64[D]")),
                    "why": np.broadcast_to(np.asarray(aarsag, np.int8), (m,)).copy(),
                    "tag": np.full(m, tag, dtype=object),
                }
            )

        add(g[~back], GR2, start1[~back], end1[~back], end1[~back], start1[~back], NO_REASON, "gr2")  # ends on leaving
        add(g[back], GR2, start1[back], end1[back], end1[back], start1[back], NO_REASON, "gr2_back")
        a2 = np.flatnonzero(again)
        add(g[a2], GR2, start2[a2], natural[a2], natural[a2], start2[a2], NO_REASON, "gr2_again")
        # exemptions (F3)
        f = np.flatnonzero(has & (rng.random(N) < R["fritagelse"]))
        fs = self._weekday(rng, _pick(rng, tg[f]))
        why, fe, fv = self._exemption(rng, fs)
        add(f, FRIT, fs, fe, fv, fs, why, "frit")
        sec = rng.random(len(f)) < R["fritagelse_second"]
        f2s = to_weekday(fe + n_days(rng.integers(30, 200, size=len(f))))
        sec &= f2s <= H2 - 10 * DAY
        why2, fe2, fv2 = self._exemption(rng, f2s)
        add(f[sec], FRIT, f2s[sec], fe2[sec], fv2[sec], f2s[sec], why2[sec], "frit2")
        # step-up (informational)
        st = np.flatnonzero(has & (rng.random(N) < R["stepup"]))
        ss_ = self._weekday(rng, _pick(rng, tg[st]))
        se = np.where(rng.random(len(st)) < 0.5, to_weekday(ss_ + n_days(rng.integers(60, 241, size=len(st)))), NAT)
        add(st, STEPUP, ss_, se, se, ss_, NO_REASON, "stepup")
        self.mk_parts = parts

    def _exemption(self, rng, start: np.ndarray):
        """Reason, end and the day the end is known, for exemptions starting on `start`."""
        n = len(start)
        why = rng.choice(4, p=FSM2_RATES["fritagelse_reasons"], size=n).astype(np.int8)
        lo = np.array([30, 90, 14, 30])[why]
        hi = np.array([181, 181, 43, 121])[why]
        end = to_weekday(start + n_days(rng.integers(lo, hi)))
        planned = (why == BARSEL) | (why == JOB6)  # known on registration
        return why, end, np.where(planned, start, end)

    def _transitions(self, who: np.ndarray, t: np.ndarray, kind: np.ndarray) -> None:
        """Group 2 moves on: from the first week of month t the benefit is ressourceforløb or
        fleksjob (to the end of that benefit spell) or førtidspension (for good)."""
        if not len(who):
            return
        w0 = self.wk_lo[t]
        wk = np.arange(self.W)[None, :]
        # the benefit spell of month t (its first week on benefits; t is a target month, so there is one)
        on_t = self.on[who] & (wk >= w0[:, None]) & (wk < self.wk_hi[t][:, None])
        seg_t = self.seg[who, np.argmax(on_t, axis=1)]
        from_t = wk >= w0[:, None]
        same = (self.seg[who] == seg_t[:, None]) & self.on[who]
        perm = (kind == FOERTID)[:, None]
        hit = from_t & (same | perm)
        code = self.code[who]
        code[hit] = np.broadcast_to(kind[:, None], hit.shape)[hit]
        self.code[who] = code
        match = self.match[who]
        match[hit] = np.broadcast_to(np.where(kind == RESSOURCE, AP, 0)[:, None], hit.shape)[hit]
        self.match[who] = match
        intro = self.intro[who]
        intro[hit] = False
        self.intro[who] = intro
        on = self.on[who]
        on[hit] = True  # a benefit is paid
        self.on[who] = on

    def _rows(self, rng, cit, code, start, end, end_vis, reg_day, why, tag) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "cit": np.asarray(cit, np.int64),
                "code": np.asarray(code, np.int8),
                "start": np.asarray(start, "datetime64[D]"),
                "end": np.asarray(end, "datetime64[D]"),
                "end_vis": np.asarray(end_vis, "datetime64[D]"),
                "reg": reg_time(rng, np.asarray(reg_day, "datetime64[D]")),
                "why": np.asarray(why, np.int8),
                "tag": np.full(len(cit), tag, dtype=object),
            }
        )

    def _finish_markings(self) -> None:
        mk = self.mk_draft
        mk = mk[mk["reg"].to_numpy().astype("datetime64[D]") <= H2]
        mk = mk.sort_values(["reg", "cit", "code"], kind="stable").reset_index(drop=True)
        mk["marking_id"] = [f"F2M{i:08d}" for i in range(1, len(mk) + 1)]
        # the municipality on the marking: the paying one in the week it was registered
        w = self._week_of(mk["reg"].to_numpy().astype("datetime64[D]"))
        cit = mk["cit"].to_numpy()
        mk["kom"] = np.where(w >= self.move_w[cit], self.kom2[cit], self.kom1[cit])
        self.mk = mk
        del self.mk_draft, self.mk_parts

    # ----------------------------------------------------------------- activity, hours, education
    def _activity(self) -> None:
        rng = self.rng["activity"]
        R = FSM2_RATES
        N = self.N
        K = len(self.parts)
        self.level = rng.permutation(np.linspace(*R["activity_level_range"], K))
        lev = self.level[self.kidx]
        on_m = np.zeros((N, NM), bool)
        for mo in range(NM):
            on_m[:, mo] = self.on[:, self.wk_lo[mo] : self.wk_hi[mo]].any(axis=1)
        stay = R["activity_stay"]
        r0, r_n = R["activity_ramp"]
        A = np.zeros((N, NM), bool)
        prev = np.zeros(N, bool)
        for mo in range(NM):
            ramp = r0 + (1 - r0) * min(1.0, mo / r_n)
            p = np.where(self.tg[:, mo], lev * ramp, np.where(on_m[:, mo], R["activity_outside_target"], 0.0))
            enter = np.clip(p * (1 - stay) / (1 - p), 0, 1)
            u = rng.random(N)
            A[:, mo] = np.where(prev, u < stay, u < enter) & (p > 0)
            prev = A[:, mo]
        # runs of active months: SU-eligible education or ordinary (part-time) hours
        pad = np.zeros((N, 1), bool)
        d = np.diff(np.hstack([pad, A, pad]).astype(np.int8), axis=1)
        ri, rs = np.nonzero(d == 1)
        _, re_ = np.nonzero(d == -1)
        edu = rng.random(len(ri)) < np.where(self.young[ri], R["education_share_young"], R["education_share"])
        cvr = valid_cvr(rng, max(200, N // 3))
        run_cvr = cvr[rng.integers(0, len(cvr), size=len(ri))]
        hi_, hm = _expand(np.flatnonzero(~edu), rs[~edu], (re_ - rs)[~edu])
        rows = [pd.DataFrame({"i": ri[hi_], "m": hm, "cvr": run_cvr[hi_], "h2": rng.integers(8, 241, size=len(hi_)), "sub": 0})]
        second = rng.random(len(hi_)) < 0.08
        rows.append(hours_rows(rng, cvr, ri[hi_][second], hm[second], (8, 61), sub=0))
        ei, em = _expand(np.flatnonzero(edu), rs[edu], (re_ - rs)[edu])
        udd = [pd.DataFrame({"i": ri[ei], "m": em, "su": 1})]
        # løntilskud (subsidised, never counts)
        lt = np.flatnonzero(self.has_target & (rng.random(N) < R["loentilskud"]))
        lm = _pick(rng, self.tg[lt])
        li, lmm = _expand(lt, lm, rng.integers(3, 7, size=len(lt)))
        keep = lmm < NM
        li, lmm = li[keep], lmm[keep]
        lcvr = dict(zip(lt.tolist(), cvr[rng.integers(0, len(cvr), size=len(lt))].tolist(), strict=True))
        rows.append(
            pd.DataFrame(
                {"i": li, "m": lmm, "cvr": [lcvr[x] for x in li.tolist()], "h2": rng.integers(160, 321, size=len(li)), "sub": 1}
            )
        )
        # fleksjob after group 2 (subsidised)
        fl = np.array([c for c, k in self.trans_kind.items() if k == FLEKS], dtype=np.int64)
        ft = np.array([self.trans_month[c] for c in fl.tolist()], dtype=np.int64)
        fi, fm = _expand(fl, ft, NM - ft)
        rows.append(hours_rows(rng, cvr, fi, fm, (60, 201), sub=1))
        # a job after leaving benefits: full-time hours in the first months off them
        J = self.bnd.shape[1]
        seg_is_on = (np.arange(J) % 2 == 0)[None, :] == self.seg_on0[:, None]
        nxt_syg = (self.syg_bits[:, None] >> (np.arange(J) + 1)[None, :]) & 1
        exit_ = seg_is_on & (nxt_syg == 0) & (self.bnd < self.W) & (rng.random(seg_is_on.shape) < R["job_exit_hours"])
        exit_ &= ~self.gr2_trans[:, None]
        xi, xj = np.nonzero(exit_)
        xm = self.wm[self.bnd[xi, xj]] - M_FIRST
        ji, jm = _expand(xi, xm, rng.integers(1, 4, size=len(xi)))
        keep = jm < NM
        ji, jm = ji[keep], jm[keep]
        rows.append(hours_rows(rng, cvr, ji, jm, (260, 331), sub=0))
        # zero-hour rows (not activity)
        nz = max(2, round(R["zero_hour_rows"] * N * NM))
        zi = rng.integers(0, N, size=4 * nz)
        zm = rng.integers(0, NM, size=4 * nz)
        okz = ~A[zi, zm] & self.tg[zi, zm]
        zi, zm = zi[okz][:nz], zm[okz][:nz]
        rows.append(pd.DataFrame({"i": zi, "m": zm, "cvr": cvr[rng.integers(0, len(cvr), size=len(zi))], "h2": 0, "sub": 0}))
        tm = pd.concat(rows, ignore_index=True)
        tm = tm.drop_duplicates(["i", "m", "cvr"]).reset_index(drop=True)
        tm["m"] = tm["m"] + M_FIRST
        self.timer = tm
        # education that is not SU-eligible, and SU education for the young on uddannelseshjælp
        ns = np.flatnonzero(rng.random(N) < R["education_not_su_citizens"])
        ni, nm_ = _expand(ns, rng.integers(0, NM, size=len(ns)), rng.integers(2, 6, size=len(ns)))
        udd.append(pd.DataFrame({"i": ni, "m": nm_, "su": 0}))
        ys = np.flatnonzero(self.uh & (rng.random(N) < R["education_young_uh"]))
        yi, ym = _expand(ys, rng.integers(0, NM, size=len(ys)), rng.integers(3, 11, size=len(ys)))
        udd.append(pd.DataFrame({"i": yi, "m": ym, "su": 1}))
        ud = pd.concat(udd, ignore_index=True)
        ud = ud[ud["m"] < NM].sort_values(["su"], ascending=False, kind="stable").drop_duplicates(["i", "m"])
        ud = ud.sort_values(["m", "i"], kind="stable").reset_index(drop=True)
        ud["m"] = ud["m"] + M_FIRST
        self.udd = ud
        self.A = A
