"""Text in the report's language: catalogue messages filled with numbers, money and months formatted by Babel."""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

from fsm import months
from fsm.report.catalogue import LANGS, MESSAGES

# Babel's Danish and English: '1.071.741,60' and '1,071,741.60'. English is also the language of the
# warehouse's basis sentences, whose numbers have always been written the English way.
LOCALES = {"da": "da_DK", "en": "en"}
NBSP = "\u00a0"


def _decimal(v: object) -> Decimal | int:
    return v if isinstance(v, (int, Decimal)) else Decimal(str(v))


def _month(v: object) -> date:
    return v if isinstance(v, date) else date.fromisoformat(str(v))


class Text:
    """t('key', name=value) in one language; t.money(), t.count(), t.pct() … for the cells."""

    def __init__(self, lang: str):
        if lang not in LANGS:
            raise ValueError(f"report language {lang!r}: expected one of {', '.join(LANGS)}")
        self.lang = lang
        self.locale = Locale.parse(LOCALES[lang])
        self._formatter = _Formatter(self)
        self._numbers: dict[tuple[object, str], str] = {}  # Babel is ~20 µs a number; reports repeat them a lot

    def _babel(self, v: Decimal | int, pattern: str, exact: bool = False) -> str:
        key = (v, pattern)  # equal values format alike with these patterns (trailing zeros never shown or fixed)
        out = self._numbers.get(key)
        if out is None:
            out = self._numbers[key] = format_decimal(v, pattern, locale=self.locale, decimal_quantization=not exact)
        return out

    def __call__(self, key: str, **kw: object) -> str:
        template = MESSAGES[key][self.lang]
        return self._formatter.vformat(template, (), kw) if kw else template

    # -- codes shown by name: an unknown code stays as it is (it is an identifier, not a sentence)
    def rule(self, rule_id: str) -> str:
        return self(f"dq.{rule_id}") if f"dq.{rule_id}" in MESSAGES else rule_id

    def severity(self, sev: str | None) -> str:
        return self(f"severity.{sev}") if f"severity.{sev}" in MESSAGES else sev or ""

    def origin(self, code: str) -> str:
        return self(f"origin.{code}") if f"origin.{code}" in MESSAGES else code

    def yes_no(self, flag: bool) -> str:
        return self("yes") if flag else self("no")

    # -- numbers as the reader's locale writes them (html and text cells)
    def money(self, v: Decimal | None) -> str:
        """'1.071.741,60' (da), '1,071,741.60' (en)."""
        return "" if v is None else self._babel(v, "#,##0.00")

    def count(self, v: int | None) -> str:
        return "" if v is None else self._babel(v, "#,##0")

    def pct(self, v: Decimal | None, places: int = 2) -> str:
        """'66,67 %' with a no-break space before the sign."""
        if v is None:
            return ""
        return self._babel(v, "#,##0." + "0" * places if places else "#,##0") + NBSP + "%"

    def number(self, v: Decimal | int | None) -> str:
        """As exact as the value, no trailing zeros, no grouping: 40, 12,5 (da) / 12.5 (en); None is 'n/a'."""
        if v is None:
            return self("n_a")
        return self._babel(_decimal(v), "0.###", exact=True)

    def amount(self, v: Decimal | int) -> str:
        """Kroner grouped, whole kroner without decimals: '262.500.000' (da), '262,500,000' (en)."""
        d = v if isinstance(v, Decimal) else Decimal(str(v))
        return self._babel(d, "#,##0" if d == d.to_integral_value() else "#,##0.00")

    def month(self, m: date | None) -> str:
        """'2019-12': months in tables and sentences are ISO, as in the warehouse and the csv."""
        return "" if m is None else months.label(m)

    def month_name(self, m: date) -> str:
        """'december 2019' (da), 'December 2019' (en)."""
        return format_date(m, "MMMM y", locale=self.locale)

    def share(self, v: Decimal | None) -> str:
        """A share in a sentence: '40 %' or 'n/a'."""
        return self("n_a") if v is None else self.number(v) + " %"

    def join(self, items: Iterable[object], fmt: Callable[[object], str]) -> str:
        return ", ".join(fmt(x) for x in items)


class _Formatter:
    """str.format with the catalogue's specs ({n:count}); a value without a spec is text as given.

    Each template is parsed once (string.Formatter.parse); the specs format through the Text's Babel."""

    def __init__(self, t: Text):
        self.specs: dict[str, Callable[[object], str]] = {
            "": str,
            "count": lambda v: t.count(int(v)),  # citizens, grouped: 24.000 / 24,000
            "int": lambda v: str(int(v)),  # a plain integer: 3 (months), 1234 (FSM2 counts, as ever)
            "dec": lambda v: t.number(None if v is None else _decimal(v)),  # 40, 33,33 / 33.33; n/a
            "share": lambda v: t.share(None if v is None else _decimal(v)),  # '40 %' or n/a
            "shares": lambda v: t.share(None) if v is None else t.join(v, lambda x: t.share(None if x is None else _decimal(x))),
            "month": lambda v: t.month(_month(v)),
            "months": lambda v: t.join(v, lambda x: t.month(_month(x))),
            "amount": lambda v: t.amount(_decimal(v)),
        }
        self._parsed: dict[str, list[tuple[str, str | None, str]]] = {}

    def vformat(self, template: str, _args: tuple, kw: Mapping[str, object]) -> str:
        parts = self._parsed.get(template)
        if parts is None:
            parts = self._parsed[template] = [
                (lit, name, spec or "") for lit, name, spec, _ in string.Formatter().parse(template)
            ]
            unknown = {spec for _, name, spec in parts if name is not None and spec not in self.specs}
            if unknown:
                raise ValueError(f"unknown format spec(s) {sorted(unknown)} in the catalogue: {template!r}")
        out = []
        for literal, name, spec in parts:
            out.append(literal)
            if name is not None:
                out.append(self.specs[spec](kw[name]))  # a missing fact is a KeyError, never a blank
        return "".join(out)
