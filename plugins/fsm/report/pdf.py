"""tranche_report.pdf: the month's report on A4 landscape pages, drawn with ReportLab (pure Python, no system library).

Page 1 has the key figures and the html's national charts; then come the xlsx's tables in the xlsx's order: the
same sheet builders (xlsx.py, xlsx_fsm2.py) draw into a PdfBook instead of a workbook, so the PDF shows the
same facts, labels, notes and totals as the xlsx (a formula's total is its cached value). Left out: the
count sheets that only feed the share formulas, and the tranche detail (the csv's rows; the status table
has its amounts, months and bases). Every table repeats its header row on each page; a table too
wide for the page is split into column groups that repeat its frozen columns (code and name). Text is set in
DejaVu Sans from matplotlib's own files (every character of the catalogue: æøå, –, →, ≥).
"""

from __future__ import annotations

import base64
import io
import math
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib.colors import HexColor
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    Image,
    KeepInFrame,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from fsm.report.model import Report
from fsm.report.text import Text
from fsm.report.xlsx import sheets
from fsm.report.xlsx_book import Col, Placed

FONT, BOLD, ITALIC = "FsmSans", "FsmSans-Bold", "FsmSans-Oblique"
SIZE = 7.2  # table text, points
PAD = 2.5  # cell padding, points
TEXT_MAX, TEXT_COMFORT = 240.0, 150.0  # a text column wraps above TEXT_MAX; it moves on rather than narrow below TEXT_COMFORT
INK, MUTED, HEAD, LINE, RED = (HexColor(x) for x in ("#1b1f24", "#5b6470", "#e6ecf4", "#d9dde3", "#b00020"))
BAND_COLORS = {"good": HexColor("#d7efd9"), "fair": HexColor("#eef8e6")}  # the xlsx's conditional formats
WARN_PREFIXES = ("ADVARSEL", "WARNING", "AFSTEMNINGSFEJL", "RECONCILIATION")


def _register_fonts() -> None:
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf"), (ITALIC, "DejaVuSans-Oblique.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(ttf / file)))
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, BOLD)
    addMapping(FONT, 0, 1, ITALIC)
    addMapping(FONT, 1, 1, BOLD)


def write_pdf(rep: Report, path: Path, charts: dict[str, object] | None = None) -> int:
    """Write the report to `path` (A4 landscape, through `path`.tmp and a rename); returns the number of pages."""
    _register_fonts()
    t = rep.t
    title = t("title") if rep.has_fsm1 or not rep.has_fsm2 else t("title2")
    size = landscape(A4)
    margin = 10 * mm
    tmp = path.with_name(path.name + ".tmp")
    doc = BaseDocTemplate(
        str(tmp),
        pagesize=size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin + 5 * mm,
        bottomMargin=margin + 4 * mm,
        title=f"{title} · {rep.label}",
        author="STAR",
        subject=" · ".join(_programmes(rep, t)),
        keywords="INTERN" if rep.internal else "",
        creator="fsm-monitor",
        invariant=True,  # the same facts give the same bytes (no creation date, a fixed document id)
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body", leftPadding=0, rightPadding=0)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPageEnd=_header(rep, t, title))])
    book = PdfBook(rep, t, doc.width, doc.height)
    book.front_page(title, charts)
    _tables(book, rep, t)
    doc.build(book.story, canvasmaker=_numbered_canvas(rep, t))
    os.replace(tmp, path)
    return doc.page


def _programmes(rep: Report, t: Text) -> list[str]:
    return ([t("programme")] if rep.has_fsm1 or not rep.has_fsm2 else []) + ([t("programme2")] if rep.has_fsm2 else [])


def _tables(book: PdfBook, rep: Report, t: Text) -> None:
    """The xlsx's sheets in its order (write_xlsx), through the same sheet builders."""
    book.skip = {t(k) for k in ("sh_detail", "sh_active", "sh_cohort", "sh_fsm2_active", "sh_fsm2_cohort")}
    sheets(book, rep, t)


def _header(rep: Report, t: Text, title: str):
    """Each page's head: the programme (or the INTERN warning in red) left, the title, month and current table right."""

    def draw(canvas, doc) -> None:
        canvas.saveState()
        y = doc.pagesize[1] - doc.topMargin + 4 * 2.83
        if rep.internal:
            canvas.setFillColor(RED)
            canvas.setFont(BOLD, 7.5)
            canvas.drawString(doc.leftMargin, y, t("internal", m=rep.small_limit - 1))
        else:
            canvas.setFillColor(MUTED)
            canvas.setFont(FONT, 7.5)
            canvas.drawString(doc.leftMargin, y, " · ".join(_programmes(rep, t)))
        canvas.setFillColor(MUTED)
        canvas.setFont(FONT, 7.5)
        marks = [m for m in getattr(canvas, "fsm_marks", []) if m]
        section = " · ".join(marks) if marks else getattr(canvas, "fsm_section", "")  # tables begun here, else the one going on
        canvas.fsm_section, canvas.fsm_marks = (marks[-1] if marks else section), []
        canvas.drawRightString(doc.leftMargin + doc.width, y, " · ".join(x for x in (title, rep.label, section) if x))
        canvas.restoreState()

    return draw


def _numbered_canvas(rep: Report, t: Text):
    """A canvas that writes 'side 3 af 17' once it knows how many pages there are."""
    left = f"{t('generated')} {rep.generated_at:%Y-%m-%d %H:%M}"

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            self._states: list[dict] = []

        def showPage(self) -> None:
            self._states.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            n = len(self._states)
            for i, state in enumerate(self._states, start=1):
                self.__dict__.update(state)
                w, _ = self._pagesize
                self.saveState()
                self.setFont(FONT, 7)
                self.setFillColor(MUTED)
                self.drawString(28.35, 18, left)
                self.drawRightString(w - 28.35, 18, t("pdf.page", p=i, n=n))
                self.restoreState()
                super().showPage()
            super().save()

    return NumberedCanvas


class _Section(Flowable):
    """A zero-size flowable: the head of the page it lands on names the table (and of the pages it goes on to)."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text

    def wrap(self, *_):
        return 0, 0

    def draw(self) -> None:
        self.canv.fsm_marks = [*getattr(self.canv, "fsm_marks", []), self.text]


class PdfBook:
    """Book's table() drawn as platypus flowables: the xlsx's sheet builders write into it unchanged."""

    def __init__(self, rep: Report, t: Text, width: float, height: float):
        self.rep, self.t, self.width, self.height = rep, t, width, height
        self.story: list[object] = []
        self.skip: set[str] = set()
        base = ParagraphStyle("base", fontName=FONT, fontSize=SIZE, leading=SIZE * 1.22, textColor=INK)
        self.s = {
            "cell": base,
            "cell_r": ParagraphStyle("cell_r", parent=base, alignment=2),
            "head": ParagraphStyle("head", parent=base, fontName=BOLD),
            "head_r": ParagraphStyle("head_r", parent=base, fontName=BOLD, alignment=2),
            "total": ParagraphStyle("total", parent=base, fontName=BOLD),
            "h1": ParagraphStyle("h1", parent=base, fontName=BOLD, fontSize=17, leading=21, textColor="#1f4e8c"),
            "h2": ParagraphStyle(
                "h2", parent=base, fontName=BOLD, fontSize=12, leading=15, textColor="#1f4e8c", spaceBefore=4, spaceAfter=2
            ),
            "meta": ParagraphStyle("meta", parent=base, fontSize=8.5, leading=11, textColor=MUTED),
            "note": ParagraphStyle("note", parent=base, fontName=ITALIC, fontSize=7.8, leading=9.8, textColor=MUTED),
            "warn": ParagraphStyle("warn", parent=base, fontName=BOLD, fontSize=8, leading=10, textColor=RED),
            "banner": ParagraphStyle(
                "banner",
                parent=base,
                fontName=BOLD,
                fontSize=9.5,
                leading=12,
                textColor="#ffffff",
                backColor=RED,
                borderPadding=4,
            ),
            "card_k": ParagraphStyle("card_k", parent=base, fontSize=8, leading=10, textColor=MUTED),
            "card_v": ParagraphStyle("card_v", parent=base, fontName=BOLD, fontSize=13, leading=16),
        }

    def p(self, text: str, style: str = "cell"):
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), self.s[style])

    # -- page 1: key figures and charts
    def front_page(self, title: str, charts: dict[str, object] | None) -> None:
        rep, t = self.rep, self.t
        story = self.story
        story.append(_Section(""))
        if rep.internal:
            story += [self.p(t("internal", m=rep.small_limit - 1), "banner"), Spacer(1, 8)]
            story.append(self.p(t("internal_detail", k=rep.small_counts, m=rep.small_limit - 1), "warn"))
        story.append(self.p(title, "h1"))
        meta = f"{' · '.join(_programmes(rep, t))} · {t('as_of')} {rep.label}"
        if rep.snapshot_dates:
            meta += f" · {t('snapshot')} {', '.join(d.isoformat() for d in rep.snapshot_dates)}"
        story.append(self.p(f"{meta} · {t('generated')} {rep.generated_at:%Y-%m-%d %H:%M}", "meta"))
        fsm1 = rep.has_fsm1 or not rep.has_fsm2
        if fsm1 and not rep.tranches:
            story.append(self.p(t("no_data", m=rep.label), "warn"))
        if not fsm1:
            story.append(self.p(rep.fsm1_absent_text(t), "note"))
        tot = rep.totals()
        if not rep.reconciled:
            story.append(self.p(t("reconcile_bad", a=t.money(tot["granted"]), b=t.money(tot["tranches"])), "warn"))
        story.append(Spacer(1, 6))
        if fsm1:
            keys = ("due_now", "earned_to_date", "outstanding", "granted")
            values = (tot["due"], tot["earned"], tot["outstanding"], tot["granted"])
            story.append(self._cards([(t(k), t.money(v)) for k, v in zip(keys, values, strict=True)]))
        if rep.has_fsm2:
            nat = rep.fsm2_sum()
            cards = [
                (t("fsm2_share_now", m=rep.label), t.pct(nat["share_pct"])),
                (f"{t('cohort_n')} (FSM2)", t.count(nat["indsatsgruppe_n"])),
            ]
            n = len(rep.fsm2_codes)
            cards += [(t("n_met", t=t.number(thr)), f"{rep.fsm2_n_met(thr)} / {n}") for thr in rep.fsm2_thresholds]
            story.append(self._cards(cards))
        # the national charts below the key figures, shrunk together to fit page 1; coverage on a page of its own
        used = sum(f.wrap(self.width, self.height)[1] for f in story) + 20
        imgs = [img for key in ("national", "fsm2_national") if (img := self._chart((charts or {}).get(key)))]
        if imgs:
            story += [Spacer(1, 8), KeepInFrame(self.width, self.height - used, imgs, mode="shrink", hAlign="LEFT")]
        coverage = self._chart((charts or {}).get("coverage"))
        if coverage is not None:
            story += [CondPageBreak(coverage.drawHeight + 10), coverage]

    def _cards(self, cards: list[tuple[str, str]]):
        w = self.width / 4
        cells = [[[self.p(k, "card_k"), self.p(v, "card_v")] for k, v in cards]]
        tbl = Table(cells, colWidths=[w] * len(cards), hAlign="LEFT")
        tbl.setStyle(
            TableStyle(
                [
                    ("BOX", (0, 0), (-1, -1), 0.5, LINE),
                    ("INNERGRID", (0, 0), (-1, -1), 0.5, LINE),
                    ("BACKGROUND", (0, 0), (0, 0), "#eef3fa"),
                    ("TOPPADDING", (0, 0), (-1, -1), 4),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
                ]
            )
        )
        return tbl

    def _chart(self, uri: object):
        """A chart's PNG at the size the html shows it, smaller only to fit the page; left out below 75 %."""
        if not isinstance(uri, str) or "," not in uri:
            return None
        data = base64.b64decode(uri.split(",", 1)[1])
        w_px, h_px = ImageReader(io.BytesIO(data)).getSize()
        w = 7.2 * 72  # charts.FIG_WIDTH_IN
        h = w * h_px / w_px
        scale = min(1.0, (self.height - 40) / h)
        if scale < 0.75:  # e.g. coverage for 98 municipalities: the visitation table has the figures
            return None
        return Image(io.BytesIO(data), width=w * scale, height=h * scale, hAlign="LEFT")

    # -- the tables: Book.table's signature
    def table(
        self,
        name: str,
        title: str,
        notes: list[str],
        cols: list[Col],
        rows: list[list[object]],
        *,
        freeze_cols: int = 2,
        total_label_col: int = 0,
        custom_totals=None,
        total_label: str | None = None,
        good_cells: tuple[int, int, Decimal] | None = None,
        bands: tuple[int, int, list[tuple[Decimal, str]]] | None = None,
        extra_totals=None,
        programme: str | None = None,
    ) -> Placed:
        t = self.t
        first = 1
        last = first + max(len(rows), 1) - 1
        placed = Placed(name, 0, first, last, None)
        if name in self.skip:
            return placed
        body = [[self._value(col.kind, r[c]) for c, col in enumerate(cols)] for r in rows]
        totals: list[list[str]] = []
        if any(col.total for col in cols) or custom_totals:
            placed.total_row = last + 1
            custom = custom_totals(first, last, last + 1) if custom_totals else {}
            line = [""] * len(cols)
            for c, col in enumerate(cols):
                v = custom.get(c)
                if isinstance(v, tuple):
                    line[c] = self._value(col.kind, v[1])
                elif isinstance(v, str):
                    line[c] = v
                elif col.total == "sum":
                    line[c] = self._value(col.kind, sum((Decimal(r[c]) for r in rows if _is_num(r[c])), Decimal(0)))
            line[total_label_col] = total_label or t("total")
            totals.append(line)
            for extra in extra_totals(first, last, last + 1) if extra_totals else []:
                totals.append(
                    [
                        self._value(col.kind, v[1] if isinstance(v, tuple) else v)
                        for c, col in enumerate(cols)
                        for v in [extra.get(c)]
                    ]
                )
        prog = programme or t("programme")
        heading = f"{title} · {prog}" if prog not in title else title
        self.story += [CondPageBreak(self.height * 0.3), _Section(name), self.p(heading, "h2")]
        self.story += [self.p(n, "warn" if n.startswith(WARN_PREFIXES) else "note") for n in notes]
        self.story.append(Spacer(1, 3))
        shade = self._shading(cols, rows, good_cells, bands)
        groups = self._layout(cols, body + totals, len(body), min(freeze_cols, len(cols)))
        for i, (group, widths) in enumerate(groups):
            if len(groups) > 1:
                a, b = group[min(freeze_cols, len(group) - 1)] + 1, group[-1] + 1
                self.story.append(self.p(t("pdf.columns", a=a, b=b, n=len(cols)), "note"))
            self.story.append(self._table(cols, body, totals, widths, group, shade))
            if i < len(groups) - 1:
                self.story.append(Spacer(1, 8))
        return placed

    def _value(self, kind: str, v: object) -> str:
        t = self.t
        if v is None:
            return ""
        if isinstance(v, bool):
            return t.yes_no(v)
        if kind == "money" and _is_num(v):
            return t.money(Decimal(v))
        if kind == "int" and _is_num(v):
            return t.count(int(v)) if Decimal(v) == int(v) else t.number(Decimal(v))
        if kind == "pct" and _is_num(v):
            return t.pct(Decimal(v) * 100)
        if kind == "pct100" and _is_num(v):
            return t.pct(Decimal(v))
        if isinstance(v, datetime):
            return f"{v:%Y-%m-%d %H:%M}"
        if isinstance(v, date):
            return t.month(v) if kind == "month" else v.isoformat()
        if _is_num(v):
            return t.number(Decimal(v))
        return str(v)

    def _shading(self, cols, rows, good_cells, bands) -> dict[tuple[int, int], HexColor]:
        """The xlsx's conditional formats as cell backgrounds: (row, col) -> colour."""
        out: dict[tuple[int, int], HexColor] = {}
        rules = []
        if good_cells is not None:
            rules.append((good_cells[0], good_cells[1], [(good_cells[2], "good")]))
        if bands is not None:
            rules.append((bands[0], bands[1], sorted(bands[2], key=lambda x: x[0], reverse=True)))
        for c0, c1, levels in rules:
            for i, r in enumerate(rows):
                for c in range(c0, min(c1, len(cols) - 1) + 1):
                    v = r[c]
                    if _is_num(v):
                        hit = next((fmt for at_least, fmt in levels if Decimal(v) >= Decimal(at_least)), None)
                        if hit:
                            out[(i, c)] = BAND_COLORS.get(hit, BAND_COLORS["good"])
        return out

    def _layout(self, cols: list[Col], cells: list[list[str]], n_body: int, frozen: int) -> list[tuple[list[int], list[float]]]:
        """Column groups that fit the page width (each starting with the frozen columns), with their widths in points.

        Numbers are as wide as their widest value; text is as wide as its longest line up to TEXT_MAX, wraps
        below that, and a text column goes to the next group rather than below TEXT_COMFORT; a group's spare
        width goes to its wrapped text columns."""
        natural, text = [], []
        for c, col in enumerate(cols):
            words = max((stringWidth(w, BOLD, SIZE) for w in col.header.replace("_", "_ ").split()), default=0)
            data = max(
                (
                    stringWidth(line, BOLD if i >= n_body else FONT, SIZE)
                    for i, r in enumerate(cells)
                    for line in r[c].split("\n")
                ),
                default=0,
            )
            if col.kind == "text":
                text.append(c)
                w = max(min(data, TEXT_MAX), words, stringWidth(col.header, BOLD, SIZE) / 2)
            else:
                w = max(data * 1.04, words, 24)
            natural.append(w + 2 * PAD + 1)
        needs = [min(natural[c], TEXT_COMFORT) if c in text else natural[c] for c in range(len(cols))]
        fixed = list(range(frozen))
        room = self.width - sum(needs[c] for c in fixed)
        groups, cur, used = [], [], 0.0
        for c in range(frozen, len(cols)):
            if cur and used + needs[c] > room:
                groups.append(fixed + cur)
                cur, used = [], 0.0
            cur.append(c)
            used += needs[c]
        if cur or not groups:
            groups.append(fixed + cur)
        out = []
        for group in groups:
            widths = {c: natural[c] for c in group}
            wrapped = [c for c in group if c in text]
            excess = sum(widths.values()) - self.width
            if excess > 0 and wrapped:  # narrow the text columns towards TEXT_COMFORT (they wrap)
                room_ = sum(max(widths[c] - needs[c], 0) for c in wrapped) or 1
                for c in wrapped:
                    widths[c] -= max(widths[c] - needs[c], 0) * min(1.0, excess / room_)
            long = [c for c in wrapped if max((stringWidth(r[c], FONT, SIZE) for r in cells), default=0) > widths[c]]
            spare = self.width - sum(widths.values())
            if spare > 0 and long:  # the spare width to the text that still wraps
                for c in long:
                    widths[c] += spare / len(long)
            out.append((group, [widths[c] for c in group]))
        return out

    def _table(self, cols, body, totals, widths, group, shade):
        wmap = dict(zip(group, widths, strict=True))

        def cell(text: str, c: int, style: str):
            if "\n" in text or stringWidth(text, BOLD if style == "total" else FONT, SIZE) > wmap[c] - 2 * PAD - 1:
                return self.p(text, style if cols[c].kind == "text" or style == "total" else "cell_r")
            return text

        head = [
            Paragraph(_head_markup(cols[c].header, wmap[c] - 2 * PAD), self.s["head" if cols[c].kind == "text" else "head_r"])
            for c in group
        ]
        data = [head]
        data += [[cell(r[c], c, "cell") for c in group] for r in body]
        data += [[cell(r[c], c, "total") for c in group] for r in totals]
        style = [
            ("FONT", (0, 0), (-1, -1), FONT, SIZE),
            ("TEXTCOLOR", (0, 0), (-1, -1), INK),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("VALIGN", (0, 0), (-1, 0), "BOTTOM"),
            ("LEFTPADDING", (0, 0), (-1, -1), PAD),
            ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ("BACKGROUND", (0, 0), (-1, 0), HEAD),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, "#9aa7b8"),
            ("LINEBELOW", (0, 1), (-1, -1), 0.3, LINE),
        ]
        for j, c in enumerate(group):
            if cols[c].kind != "text":
                style.append(("ALIGN", (j, 1), (j, -1), "RIGHT"))
        for (i, c), colour in shade.items():
            if c in group:
                style.append(("BACKGROUND", (group.index(c), i + 1), (group.index(c), i + 1), colour))
        if totals:
            n = len(body) + 1
            style += [
                ("FONT", (0, n), (-1, -1), BOLD, SIZE),
                ("LINEABOVE", (0, n), (-1, n), 1.0, INK),
                ("BACKGROUND", (0, n), (-1, -1), "#f3f5f8"),
            ]
        tbl = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
        tbl.setStyle(TableStyle(style))
        return tbl


def _head_markup(header: str, width: float) -> str:
    """A header as Paragraph markup; a rule id (no spaces) breaks after its underscores, as many parts a line as fit."""
    if "_" not in header or " " in header:
        return escape(header)
    lines: list[str] = []
    for part in header.replace("_", "_ ").split():
        if lines and stringWidth(lines[-1] + part, BOLD, SIZE) <= width:
            lines[-1] += part
        else:
            lines.append(part)
    return "<br/>".join(escape(x) for x in lines)


def _is_num(v: object) -> bool:
    return isinstance(v, (int, Decimal, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v))
