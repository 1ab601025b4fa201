"""The html's charts as base64 PNG data URIs (matplotlib, OO API): coverage, activity and FSM2 result shares."""

from __future__ import annotations

import base64
import io
import math
from datetime import date
from decimal import Decimal

from fsm import months
from fsm.report.model import Report
from fsm.report.text import Text

FIG_WIDTH_IN = 7.2  # the html shows every chart at this width: A4 portrait minus margins, fonts at their point size
PALETTE = {
    "visited": "#2F6DB5",
    "deferred": "#8DB3E2",
    "line": "#1F4E8C",
    "band": "#C9D8EC",
    "req": "#B00020",
    "earned": "#1E7B34",
}


def _png(fig, dpi: int) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def render_charts(rep: Report, dpi: int = 110) -> dict[str, object]:
    """Coverage per municipality, national activity share, small multiples: base64 PNG data URIs."""
    import matplotlib
    from matplotlib.figure import Figure  # OO API, no pyplot: no global state, Agg via savefig
    from matplotlib.ticker import FuncFormatter

    t = rep.t
    out: dict[str, object] = {"coverage": None, "national": None, "multiples": []}
    pct_fmt = FuncFormatter(lambda v, _: f"{v:.0f} %")
    style = {"font.size": 7, "axes.titlesize": 8, "axes.spines.top": False, "axes.spines.right": False, "svg.fonttype": "none"}
    with matplotlib.rc_context(style):
        # coverage per municipality: stacked visited + deferred, the P2 line
        vis = [v for v in rep.visitation if v["target_n"]]
        if vis:
            vis.sort(key=lambda v: (v["coverage_pct"] or 0, -v["kommune_kode"]))
            n = len(vis)
            height = 1.05 + 0.118 * n
            fig = Figure(figsize=(FIG_WIDTH_IN, height))
            ax = fig.add_axes(_axes_box(height, left=1.05, right=0.1, top=0.62, bottom=0.3))  # fixed margins: fast
            y = list(range(n))
            visited = [100 * v["visited_n"] / v["target_n"] for v in vis]
            deferred = [100 * v["deferred_n"] / v["target_n"] for v in vis]
            ax.barh(y, visited, color=PALETTE["visited"], height=0.75, label=t("visited_n"))
            ax.barh(y, deferred, left=visited, color=PALETTE["deferred"], height=0.75, label=t("deferred_n"))
            req = float(rep.rules.coverage_required_pct)
            ax.axvline(
                req, color=PALETTE["req"], lw=0.8, ls="--", label=t("chart_required", t=t.number(rep.rules.coverage_required_pct))
            )
            # names as plain texts, not 88 tick labels: a Tick is four artists, and making them was a third of the chart
            ax.set_yticks([])
            names_at = ax.get_yaxis_transform()  # x in axes fractions, y in data
            for yi, v in zip(y, vis, strict=True):
                ax.text(-0.008, yi, v["kommune_navn"], transform=names_at, ha="right", va="center", fontsize=5.8)
            for yi, v in zip(y, vis, strict=True):
                ax.text(
                    101,
                    yi,
                    t.pct(v["coverage_pct"]),
                    va="center",
                    fontsize=5.2,
                    color=PALETTE["earned"] if v["coverage_met"] else "#333333",
                )
            ax.set_xlim(0, 112)
            ax.set_ylim(-0.7, n - 0.3)
            ax.set_xticks([0, 20, 40, 60, 80, 100])
            ax.xaxis.set_major_formatter(pct_fmt)
            ax.xaxis.set_ticks_position("both")
            ax.tick_params(axis="x", labeltop=True)
            ax.set_title(t("chart_coverage", m=rep.label), loc="left")
            ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0 + 0.3 / (height - 0.92)), ncols=3, fontsize=6, frameon=False)
            out["coverage"] = _png(fig, dpi)

        ms = rep.activity_months
        if ms:
            labels = [months.label(m) for m in ms]
            x = list(range(len(ms)))
            ticks = _month_ticks(ms)
            thr = float(rep.rules.activity_threshold_pct)
            nat = [None if s is None else float(s) for *_, s in rep.national_share()]
            # national line with the spread across municipalities (25–75 %)
            fig = Figure(figsize=(FIG_WIDTH_IN, 2.8))
            ax = fig.add_axes(_axes_box(2.8, left=0.5, right=0.1, top=0.25, bottom=0.3))
            lo, hi = [], []
            for m in ms:
                vals = sorted(
                    float(r["share_pct"])
                    for k in rep.kommuner
                    if (r := rep.share.get((k.kode, m))) and r["share_pct"] is not None
                )
                lo.append(_quantile(vals, 0.25))
                hi.append(_quantile(vals, 0.75))
            ax.fill_between(
                x,
                [v if v is not None else float("nan") for v in lo],
                [v if v is not None else float("nan") for v in hi],
                color=PALETTE["band"],
                lw=0,
                label=t("chart_iqr"),
            )
            ax.plot(
                x,
                [v if v is not None else float("nan") for v in nat],
                color=PALETTE["line"],
                lw=1.8,
                marker="o",
                ms=2.5,
                label=t("country"),
            )
            ax.axhline(
                thr,
                color=PALETTE["req"],
                lw=0.9,
                ls="--",
                label=t("chart_required", t=t.number(rep.rules.activity_threshold_pct)),
            )
            ax.set_ylim(0, 100)
            ax.yaxis.set_major_formatter(pct_fmt)
            ax.set_xticks(ticks, labels=[labels[i] for i in ticks])
            ax.set_xlim(-0.5, len(ms) - 0.5)
            ax.grid(axis="y", lw=0.3, color="#cccccc")
            ax.set_title(t("chart_national"), loc="left")
            ax.legend(loc="upper left", fontsize=6, frameon=False)
            out["national"] = _png(fig, dpi)

            kom = [k for k in rep.kommuner if any((k.kode, m) in rep.share for m in ms)]
            panels = []
            for k in kom:
                earned3 = bool(k.tranches.get(3, {}).get("earned"))
                values = [_pct_or_none(rep.share.get((k.kode, m))) for m in ms]
                panels.append((("✓ " if earned3 else "") + k.navn, values, PALETTE["earned"] if earned3 else None))
            thr_label = f"{t.number(rep.rules.activity_threshold_pct)} %"
            out["multiples"] = _small_multiples(
                panels, ms, [(thr, PALETTE["req"])], 100.0, ((0.0, "0 %"), (thr, thr_label), (100.0, "100 %")), dpi
            )
        out.update(_fsm2_charts(rep, t, dpi, pct_fmt))
    return out


def _month_ticks(ms: list[date]) -> list[int]:
    """x positions to label: every month of a short series, else quarters or half-years."""
    if len(ms) <= 6:
        return list(range(len(ms)))
    every = (1, 7) if len(ms) > 18 else (1, 4, 7, 10)
    return [i for i, m in enumerate(ms) if m.month in every] or [0]


def _pct_or_none(r: dict[str, object] | None) -> float | None:
    return float(r["share_pct"]) if r and r.get("share_pct") is not None else None


FSM2_ORIGIN_STYLE = {  # colour, line width: the total bold, the origins thin and distinct
    "ALL": ("#1F4E8C", 2.0),
    "DANSK": ("#5B9BD5", 1.0),
    "VESTLIG": ("#E08E0B", 1.0),
    "IKKE_VESTLIG": ("#8E44AD", 1.0),
}
FSM2_LOW = "#E3935A"  # the lower threshold's line; the higher is PALETTE["req"]


def fsm2_y_max(rep: Report) -> float:
    """A common y range for the FSM2 charts: shares are low (15–20 % is the goal), so 0–100 % would flatten them."""
    top = max(
        [float(r["share_pct"]) for r in rep.fsm2_rows if r["share_pct"] is not None and r["herkomst"] == "ALL"]
        + [
            float(s)
            for m in rep.fsm2_months
            for o in ("ALL", *rep.fsm2_origins)
            if (s := rep.fsm2_sum(m, o)["share_pct"]) is not None
        ]
        + [float(rep.fsm2_thresholds[-1]) if rep.fsm2_thresholds else 20.0]
    )
    return float(min(100, max(30, 10 * math.ceil((top + 2) / 10))))


def _fsm2_charts(rep: Report, t: Text, dpi: int, pct_fmt) -> dict[str, object]:
    """National result share by origin against the thresholds; one small panel per municipality."""
    from matplotlib.figure import Figure

    out: dict[str, object] = {"fsm2_national": None, "fsm2_multiples": [], "fsm2_y_max": None}
    ms = rep.fsm2_months
    if not ms:
        return out
    ymax = fsm2_y_max(rep)
    out["fsm2_y_max"] = int(ymax)
    thresholds = rep.fsm2_thresholds
    lo, hi = float(thresholds[0]), float(thresholds[-1])
    labels = [months.label(m) for m in ms]
    x = list(range(len(ms)))
    ticks = _month_ticks(ms)
    fig = Figure(figsize=(FIG_WIDTH_IN, 2.9))
    ax = fig.add_axes(_axes_box(2.9, left=0.5, right=0.1, top=0.25, bottom=0.3))
    for o in ("ALL", *rep.fsm2_origins):
        colour, lw = FSM2_ORIGIN_STYLE.get(o, ("#777777", 1.0))
        ys = [rep.fsm2_sum(m, o)["share_pct"] for m in ms]
        if o != "ALL" and all(v is None for v in ys):
            continue
        ax.plot(
            x,
            [float(v) if v is not None else float("nan") for v in ys],
            color=colour,
            lw=lw,
            marker="o" if o == "ALL" else None,
            ms=2.5,
            label=t("country") + (f" ({t.origin('ALL').lower()})" if o == "ALL" else f": {t.origin(o).lower()}"),
            zorder=3 if o == "ALL" else 2,
        )
    for thr, colour in ((hi, PALETTE["req"]), (lo, FSM2_LOW)) if lo != hi else ((hi, PALETTE["req"]),):
        ax.axhline(thr, color=colour, lw=0.9, ls="--", label=t("chart_required", t=t.number(Decimal(str(thr)))), zorder=1)
    ax.set_ylim(0, ymax)
    ax.yaxis.set_major_formatter(pct_fmt)
    ax.set_xticks(ticks, labels=[labels[i] for i in ticks])
    ax.set_xlim(-0.5, len(ms) - 0.5)
    ax.grid(axis="y", lw=0.3, color="#cccccc")
    ax.set_title(t("chart_fsm2_national"), loc="left")
    ax.legend(loc="upper left", fontsize=6, frameon=False, ncols=3)
    out["fsm2_national"] = _png(fig, dpi)

    panels = []
    for k in rep.fsm2_codes:
        met = [thr for thr in thresholds if (q := rep.fsm2_req_by.get((k, thr))) and q["met"]]
        mark, colour = "", None
        if hi in [float(m) for m in met]:
            mark, colour = "✓ ", PALETTE["earned"]
        elif met:
            mark, colour = "(✓) ", "#4F8F5B"
        values = [_pct_or_none(rep.fsm2_at(k, m)) for m in ms]
        panels.append((mark + rep.name(k), values, colour))
    hi_label = f"{t.number(thresholds[-1])} %"
    lines = [(hi, PALETTE["req"])] + ([(lo, FSM2_LOW)] if lo != hi else [])
    out["fsm2_multiples"] = _small_multiples(
        panels, ms, lines, ymax, ((0.0, "0 %"), (hi, hi_label), (ymax, f"{ymax:.0f} %")), dpi
    )
    return out


def _axes_box(height: float, left: float, right: float, top: float, bottom: float) -> tuple[float, float, float, float]:
    """An Axes rectangle (figure fractions) from margins in inches."""
    return (left / FIG_WIDTH_IN, bottom / height, 1 - (left + right) / FIG_WIDTH_IN, 1 - (top + bottom) / height)


def _small_multiples(
    panels: list[tuple[str, list[float | None], str | None]],
    ms: list[date],
    lines: list[tuple[float, str]],
    y_max: float,
    y_marks: tuple[tuple[float, str], ...],
    dpi: int,
) -> list[str]:
    """One small panel per municipality (title, values 0–y_max or None, highlight colour or None), 8 across,
    up to 48 (an A4 page) per figure; `lines` are the dashed threshold lines (value, colour).

    All panels of a figure are drawn into one Axes in inch coordinates: a Matplotlib Axes per
    municipality costs tens of milliseconds to create and draw, 88 of them would be most of the report's time.
    """
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.figure import Figure

    ncols, per_fig = 8, 48
    left, right, top_pad, bottom_pad = 0.34, 0.03, 0.04, 0.16
    cell_h, title_h, gap_x, gap_y = 0.86, 0.16, 0.08, 0.16
    cell_w = (FIG_WIDTH_IN - left - right) / ncols
    n = len(ms)
    years = [i for i, m in enumerate(ms) if m.month == 1] or [0]
    year_labels = [months.label(ms[i])[:4] if ms[i].month == 1 else months.label(ms[i]) for i in years]
    uris = []
    for start in range(0, len(panels), per_fig):
        chunk = panels[start : start + per_fig]
        nrows = math.ceil(len(chunk) / ncols)
        height = top_pad + nrows * cell_h + bottom_pad
        fig = Figure(figsize=(FIG_WIDTH_IN, height))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_autoscale_on(False)
        ax.set_xlim(0, FIG_WIDTH_IN)
        ax.set_ylim(0, height)
        frames, ticks, bands, traces, trace_colours = [], [], [], [], []
        thresholds: dict[str, list] = {}
        for i, (title, values, highlight) in enumerate(chunk):
            row, col = divmod(i, ncols)
            x0, w = left + col * cell_w + gap_x / 2, cell_w - gap_x
            y1 = height - top_pad - row * cell_h - title_h
            y0 = height - top_pad - (row + 1) * cell_h + gap_y
            h = y1 - y0
            xs = [x0 + (j + 0.5) / n * w for j in range(n)]
            ys = [y0 + min(v, y_max) / y_max * h if v is not None else float("nan") for v in values]
            colour = highlight or PALETTE["line"]
            frames.append([(x0, y1), (x0, y0), (x0 + w, y0)])
            for v, c in lines:
                thresholds.setdefault(c, []).append([(x0, y0 + v / y_max * h), (x0 + w, y0 + v / y_max * h)])
            for run in _runs(values):  # a month without a share breaks the line and the band, as fill_between/plot did
                pts = [(xs[j], ys[j]) for j in run]
                bands.append([(pts[0][0], y0), *pts, (pts[-1][0], y0)])
                traces.append(pts)
                trace_colours.append(colour)
            ax.text(
                x0 + w / 2,
                y1 + 0.025,
                title,
                ha="center",
                va="bottom",
                fontsize=5.8,
                color=highlight or "#222222",
                clip_on=False,
            )
            if col == 0:
                for v, label in y_marks:
                    ax.text(x0 - 0.04, y0 + v / y_max * h, label, ha="right", va="center", fontsize=4.8, color="#333333")
                    ticks.append([(x0 - 0.025, y0 + v / y_max * h), (x0, y0 + v / y_max * h)])
            if i + ncols >= len(chunk):  # the lowest panel of its column
                for j, label in zip(years, year_labels, strict=True):
                    ax.text(xs[j], y0 - 0.035, label, ha="center", va="top", fontsize=4.8, color="#333333")
                    ticks.append([(xs[j], y0), (xs[j], y0 - 0.02)])
        # one collection each for the bands and the traces (a fill_between and a plot per panel cost ~10 ms each);
        # zorder as before: bands under the frames and thresholds, traces above them
        ax.add_collection(PolyCollection(bands, facecolors=PALETTE["band"], linewidths=0, zorder=1))
        ax.add_collection(LineCollection(traces, colors=trace_colours, linewidths=0.9, joinstyle="round", zorder=2))
        ax.add_collection(LineCollection(frames, colors="#555555", linewidths=0.5))
        ax.add_collection(LineCollection(ticks, colors="#555555", linewidths=0.4))
        for c, segs in thresholds.items():
            ax.add_collection(LineCollection(segs, colors=c, linewidths=0.6, linestyles="--"))
        uris.append(_png(fig, dpi))
    return uris


def _runs(values: list[float | None]) -> list[list[int]]:
    """The index runs of consecutive months with a value: [0.1, None, 0.2, 0.3] → [[0], [2, 3]]."""
    runs: list[list[int]] = []
    for j, v in enumerate(values):
        if v is None:
            continue
        if runs and runs[-1][-1] == j - 1:
            runs[-1].append(j)
        else:
            runs.append([j])
    return runs


def _quantile(vals: list[float], q: float) -> float | None:
    if not vals:
        return None
    pos = (len(vals) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)
