"""The xlsx workbook's one table layout: title, banner, notes, a frozen and filtered header, data and =SUM totals."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from fsm.report.model import Report
from fsm.report.text import Text


@dataclass
class Col:
    header: str
    kind: str = "text"  # text | int | money | pct (a fraction) | pct100 (0–100) | month | datetime
    total: str | None = None  # "sum": a =SUM() totals cell
    width: float | None = None
    wrap: int | None = None  # text: wrap at this many characters instead of widening the column


@dataclass
class Placed:
    """Where a table landed: 0-based rows, for formulas in other sheets."""

    sheet: str
    header_row: int
    first_row: int
    last_row: int
    total_row: int | None


def col_name(i: int) -> str:
    from xlsxwriter.utility import xl_col_to_name

    return xl_col_to_name(i)


NUM_FORMATS = {
    "int": "#,##0",
    "money": "#,##0.00",
    "pct": "0.00%",
    "pct100": '0.00" %"',
    "month": "yyyy-mm",
    "datetime": "yyyy-mm-dd hh:mm",
}

# Print (A4 landscape, xlsxwriter's margins 0.7"): the printable width in pixels at 100 %, the smallest scale a
# sheet is printed at (a wider one is printed on more pages across, its code and name columns repeated), and the
# width at which a long text column (a basis, a grant source) wraps instead of widening the sheet.
PRINT_WIDTH_PX = (11.69 - 2 * 0.7) * 96
MIN_PRINT_SCALE = 0.7
WRAP_AT = 45
LINE_PT = 13  # a 10 pt line
BASE_FORMAT = {"font_name": "Calibri", "font_size": 10, "valign": "top"}
NOTE_STYLE = {
    "note": {"italic": True, "font_color": "#555555"},
    "warn": {"bold": True, "font_color": "#B00020"},
    "banner": {"bold": True, "font_color": "#FFFFFF", "bg_color": "#B00020"},
}
CHARS_PER_WIDTH = 1.25  # characters of 10 pt text a column width unit holds (a unit is an 11 pt '0')


class Book:
    """One workbook; table() writes a sheet."""

    def __init__(self, path: Path, rep: Report, t: Text):
        import xlsxwriter

        self.rep, self.t = rep, t
        self.wb = xlsxwriter.Workbook(str(path), {"default_date_format": "yyyy-mm-dd", "remove_timezone": True})
        self.wb.set_properties(
            {
                "title": f"{t('title')} {rep.label}",
                "subject": " · ".join(
                    ([t("programme")] if rep.has_fsm1 or not rep.has_fsm2 else []) + ([t("programme2")] if rep.has_fsm2 else [])
                ),
                "company": "STAR",
                "keywords": "INTERN" if rep.internal else "",
                "comments": t("internal", m=rep.small_limit - 1) if rep.internal else "",
                "created": rep.generated_at.replace(tzinfo=None),
            }
        )
        wb = self.wb
        base = BASE_FORMAT
        self.f = {
            "title": wb.add_format({**base, "bold": True, "font_size": 14}),
            "note": wb.add_format({**base, **NOTE_STYLE["note"]}),
            "banner": wb.add_format({**base, **NOTE_STYLE["banner"]}),
            "warn": wb.add_format({**base, **NOTE_STYLE["warn"]}),
            "header": wb.add_format(
                {**base, "bold": True, "bg_color": "#DDE4EE", "bottom": 1, "text_wrap": True, "valign": "bottom"}
            ),
            "header_num": wb.add_format(
                {
                    **base,
                    "bold": True,
                    "bg_color": "#DDE4EE",
                    "bottom": 1,
                    "text_wrap": True,
                    "valign": "bottom",
                    "align": "right",
                }
            ),
            "text": wb.add_format(base),
            "wrap": wb.add_format({**base, "text_wrap": True}),
            "total_text": wb.add_format({**base, "bold": True, "top": 1}),
            "good": wb.add_format({"bg_color": "#D7EFD9", "font_color": "#1E5E24"}),
            "fair": wb.add_format({"bg_color": "#EEF8E6", "font_color": "#3D7A2A"}),
        }
        for kind, num in NUM_FORMATS.items():
            self.f[kind] = wb.add_format({**base, "num_format": num})
            self.f["total_" + kind] = wb.add_format({**base, "num_format": num, "bold": True, "top": 1})

    def close(self) -> None:
        self.wb.close()

    def _display_len(self, kind: str, v: object) -> int:
        if v is None:
            return 0
        if kind == "money":
            return len(f"{v:,.2f}")
        if kind == "int":
            return len(f"{v:,}") if isinstance(v, int) else len(str(v))
        if kind in ("pct", "pct100"):
            return 9
        if kind == "month":
            return 7 if isinstance(v, date) else len(str(v))
        if kind == "datetime":
            return 16
        return max((len(x) for x in str(v).split("\n")), default=0)

    def _write(self, ws, row: int, col: int, kind: str, v: object, fmt_key: str | None = None) -> None:
        fmt = self.f[fmt_key or kind]
        if v is None:
            ws.write_blank(row, col, None, fmt)
        elif isinstance(v, bool):
            ws.write_string(row, col, self.t.yes_no(v), self.f["text"])
        elif isinstance(v, (Decimal, int, float)) and kind not in ("text",):
            ws.write_number(row, col, float(v), fmt)  # a float only here, at the very end (money is Decimal until now)
        elif isinstance(v, datetime) and kind in ("datetime", "month"):
            ws.write_datetime(row, col, v.replace(tzinfo=None), fmt)
        elif isinstance(v, date) and kind in ("month", "datetime"):
            ws.write_datetime(row, col, datetime(v.year, v.month, v.day), fmt)
        else:
            ws.write_string(row, col, str(v), self.f["text"])

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
        custom_totals=None,  # (first, last, total_row) 0-based -> {col: (formula, cached Decimal value)}
        total_label: str | None = None,
        good_cells: tuple[int, int, Decimal] | None = None,
        bands: tuple[int, int, list[tuple[Decimal, str]]] | None = None,  # (first col, last col, [(at least, format)])
        extra_totals=None,  # (first, last, total_row) 0-based -> rows below the totals row: [{col: text | (formula, value) | number}]
        programme: str | None = None,
    ) -> Placed:
        """One sheet: title, banner, notes, a header row (frozen, autofiltered), data, a totals row."""
        rep, t = self.rep, self.t
        programme = programme or t("programme")
        ws = self.wb.add_worksheet(name)
        ws.hide_gridlines(2)
        r = 0
        ws.write_string(r, 0, title, self.f["title"])
        r += 1
        note_rows: list[tuple[int, str, str]] = []
        if rep.internal:
            ws.write_string(r, 0, t("internal", m=rep.small_limit - 1), self.f["banner"])
            note_rows.append((r, t("internal", m=rep.small_limit - 1), "banner"))
            r += 1
        sub = f"{programme} · {t('as_of')} {rep.label}"
        if rep.snapshot_dates:
            sub += f" · {t('snapshot')} {', '.join(d.isoformat() for d in rep.snapshot_dates)}"
        ws.write_string(r, 0, sub, self.f["note"])
        note_rows.append((r, sub, "note"))
        r += 1
        for n in notes:
            kind = "warn" if n.startswith(("ADVARSEL", "WARNING", "AFSTEMNINGSFEJL", "RECONCILIATION")) else "note"
            note_rows.append((r, n, kind))
            ws.write_string(r, 0, n, self.f[kind])
            r += 1
        r += 1
        header_row = r
        widths: list[float] = []
        wraps: list[int | None] = []
        max_lines = 1
        for c, col in enumerate(cols):
            ws.write_string(header_row, c, col.header, self.f["header" if col.kind == "text" else "header_num"])
            data_len = max((self._display_len(col.kind, row[c]) for row in rows), default=0)
            word = max(len(w) for w in col.header.split())
            wrap = col.wrap or (WRAP_AT if col.kind == "text" and not col.width and data_len > WRAP_AT else None)
            wraps.append(wrap)
            width = col.width or min(max(data_len, word, 6) + 2, wrap or 120)
            widths.append(width)
            max_lines = max(max_lines, math.ceil(len(col.header) / max(width - 1, 1)))
            ws.set_column(c, c, width)
        ws.set_row(header_row, 14 * max_lines)
        first = header_row + 1
        for i, row in enumerate(rows):
            lines = 1
            for c, col in enumerate(cols):
                if wraps[c] and isinstance(row[c], str):
                    ws.write_string(first + i, c, row[c], self.f["wrap"])
                    lines = max(lines, wrapped_lines(row[c], (widths[c] - 1) * CHARS_PER_WIDTH))
                else:
                    self._write(ws, first + i, c, col.kind, row[c])
            if lines > 1:  # the height of the wrapped text: LibreOffice and a printout do not fit it themselves
                ws.set_row(first + i, LINE_PT * lines)
        last = first + max(len(rows), 1) - 1
        end_row = last
        total_row = None
        if any(col.total for col in cols) or custom_totals:
            total_row = last + 1
            custom = custom_totals(first, last, total_row) if custom_totals else {}
            ws.write_string(total_row, total_label_col, total_label or t("total"), self.f["total_text"])
            for c, col in enumerate(cols):
                if c == total_label_col:
                    continue
                if c in custom and isinstance(custom[c], str):
                    ws.write_string(total_row, c, custom[c], self.f["total_text"])
                elif c in custom:
                    formula, value = custom[c]
                    ws.write_formula(total_row, c, formula, self.f["total_" + col.kind], cached(value))
                elif col.total == "sum":
                    value = sum(
                        (Decimal(row[c]) if isinstance(row[c], (int, Decimal)) else Decimal(0) for row in rows), Decimal(0)
                    )
                    ref = f"{col_name(c)}{first + 1}:{col_name(c)}{last + 1}"
                    ws.write_formula(total_row, c, f"=SUM({ref})", self.f["total_" + col.kind], cached(value))
                else:
                    ws.write_blank(total_row, c, None, self.f["total_text"])
            end_row = total_row
            for i, extra in enumerate(extra_totals(first, last, total_row) if extra_totals else []):
                row = total_row + 1 + i
                end_row = row
                for c, col in enumerate(cols):
                    v = extra.get(c)
                    if isinstance(v, tuple):
                        ws.write_formula(row, c, v[0], self.f["total_" + col.kind], cached(v[1]))
                    elif isinstance(v, str):
                        ws.write_string(row, c, v, self.f["total_text"])
                    elif v is None:
                        ws.write_blank(row, c, None, self.f["total_text"])
                    else:
                        ws.write_number(row, c, float(v), self.f["total_" + col.kind])
        ws.freeze_panes(header_row + 1, freeze_cols)
        ws.autofilter(header_row, 0, last, len(cols) - 1)
        if good_cells is not None:
            c0, c1, threshold = good_cells
            ws.conditional_format(
                first, c0, last, c1, {"type": "cell", "criteria": ">=", "value": float(threshold), "format": self.f["good"]}
            )
        if bands is not None:  # highest first: a cell takes the first band it reaches
            c0, c1, levels = bands
            for at_least, fmt in sorted(levels, key=lambda x: x[0], reverse=True):
                ws.conditional_format(
                    first,
                    c0,
                    last,
                    c1,
                    {"type": "cell", "criteria": ">=", "value": float(at_least), "format": self.f[fmt], "stop_if_true": True},
                )
        # print: A4 landscape, as few pages across as keep the print at MIN_PRINT_SCALE or larger (one for most
        # sheets; then code and name repeat on each), header row repeated, the table as print area, INTERN in the header
        ws.set_paper(9)
        ws.set_landscape()
        table_px = sum(w * 7 + 5 for w in widths)
        across = max(1, math.ceil(table_px / (PRINT_WIDTH_PX / MIN_PRINT_SCALE)))
        ws.fit_to_pages(across, 0)
        if across > 1 and freeze_cols:
            ws.repeat_columns(0, freeze_cols - 1)
            ws.print_across()
        ws.repeat_rows(header_row)
        ws.print_area(0, 0, end_row, len(cols) - 1)
        self._wrap_notes(ws, note_rows, len(cols), sum(widths))
        left = ('&L&"-,Bold"&KB00020' + _hf(t("internal", m=rep.small_limit - 1))) if rep.internal else "&L" + _hf(programme)
        ws.set_header(left + "&R" + _hf(f"{title} · {rep.label}"))
        ws.set_footer("&L" + _hf(f"{t('generated')} {rep.generated_at:%Y-%m-%d %H:%M}") + "&R&P / &N")
        return Placed(name, header_row, first, last, total_row)

    def _wrap_notes(self, ws, note_rows: list[tuple[int, str, str]], ncols: int, width: float) -> None:
        """A note wider than the table wraps within the table's width (the print area would cut it off); the
        INTERN banner spans the table (a filled cell's text does not run into the next cell)."""
        for row, text, kind in note_rows:
            lines = wrapped_lines(text, width * CHARS_PER_WIDTH)
            if ncols == 1 or (lines == 1 and kind != "banner"):
                continue
            key = kind + "_wrap"
            if key not in self.f:
                self.f[key] = self.wb.add_format({**BASE_FORMAT, "text_wrap": True, **NOTE_STYLE[kind]})
            ws.merge_range(row, 0, row, ncols - 1, text, self.f[key])
            ws.set_row(row, LINE_PT * lines)


def wrapped_lines(text: str, width: float) -> int:
    """How many lines `text` takes when wrapped at word boundaries in a column `width` characters wide."""
    total = 0
    for para in text.split("\n"):
        lines, used = 1, 0
        for word in para.split():
            n = len(word)
            if used and used + 1 + n > width:
                lines += 1
                used = n
            else:
                used += n + (1 if used else 0)
        total += lines
    return total


def _hf(text: str) -> str:
    """Header/footer text: '&' is a control character there."""
    return text.replace("&", "&&")


def cached(value: Decimal | None) -> object:
    if value is None:
        return ""
    return float(value)
