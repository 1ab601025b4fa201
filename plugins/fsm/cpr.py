"""CPR numbers: validated with python-stdnum, then replaced at once by a keyed pseudonym.

No raw CPR leaves this module's callers: the warehouse, logs, XCom and reports see only
`person_key` = HMAC-SHA256(key, 10-digit CPR) in hex.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import date
from functools import cache

from stdnum.dk import cpr as stdnum_cpr
from stdnum.exceptions import ValidationError

from fsm import connections
from fsm.config import DEVELOPMENT_PSEUDONYM_KEY, env_name, settings
from fsm.errors import PermanentError

log = logging.getLogger(__name__)

# Anything that may hold a CPR inside free text: DDMMYY-SSSS / DDMMYYSSSS, also with a space or a dash
# of another kind (python-stdnum accepts those), and any run of ten or more digits: a CPR glued to
# its neighbour by a lost separator ('T00000026' + '0401761662') is still a CPR. Unicode digits too.
_CPR_LIKE = re.compile(r"\d{6,}[ \-\u2010-\u2015]?\d{4,}")


class PseudonymKeyError(PermanentError, RuntimeError):
    pass


@cache
def pseudonym_key() -> bytes:
    """The key setting (config: pseudonym_key), else the Airflow connection `fsm_pseudonym` (its password), else the dev key."""
    s = settings()
    key = s.pseudonym_key.get_secret_value() if s.pseudonym_key else None
    if not key:
        key = _key_from_airflow()
    if not key:
        if s.production:
            raise PseudonymKeyError(
                f"no pseudonym key under {env_name('env')}={s.env}: {connections.where_defined(connections.PSEUDONYM)} "
                f"or set {env_name('pseudonym_key')}; refusing to pseudonymise with the public development key"
            )
        log.warning(
            "USING THE BUILT-IN DEVELOPMENT PSEUDONYM KEY: person_keys are not secret. "
            "Set %s (or the Airflow connection 'fsm_pseudonym') for real data.",
            env_name("pseudonym_key"),
        )
        key = DEVELOPMENT_PSEUDONYM_KEY
    if s.production and key == DEVELOPMENT_PSEUDONYM_KEY:
        raise PseudonymKeyError(f"{env_name('env')}={s.env}: the development pseudonym key is refused.")
    return key.encode("utf-8")


def _key_from_airflow() -> str | None:
    conn = connections.lookup(connections.PSEUDONYM)
    return conn.password if conn is not None else None


_PLAIN = re.compile(r"[0-9]{6}-?[0-9]{4}")


def normalise(raw: str) -> str | None:
    """The 10-digit CPR if `raw` is a valid one (date and century rules; no modulus 11), else None.

    Plain ASCII forms (DDMMYYSSSS, DDMMYY-SSSS) take a fast path with python-stdnum's rules (its
    Unicode clean-up costs 14 µs a value: most of a large file's load); anything else goes through
    python-stdnum itself. tests/test_hardening_inputs.py checks the two agree.
    """
    text = raw.strip()
    if _PLAIN.fullmatch(text):
        number = text.replace("-", "")
        born = _birth_date_or_none(number)
        return number if born is not None and born <= date.today() else None
    try:
        return stdnum_cpr.validate(text)
    except (ValidationError, ValueError, IndexError):
        return None


def _birth_date_or_none(number: str) -> date | None:
    """python-stdnum's dk.cpr.get_birth_date on ten ASCII digits (century from the 7th digit)."""
    day, month, year = int(number[0:2]), int(number[2:4]), int(number[4:6])
    if number[6] in "5678" and year >= 58:
        year += 1800
    elif number[6] in "0123" or (number[6] in "49" and year >= 37):
        year += 1900
    else:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        return None


def birth_date(cpr10: str) -> date:
    born = _birth_date_or_none(cpr10) if _PLAIN.fullmatch(cpr10) else None
    return born if born is not None else stdnum_cpr.get_birth_date(cpr10)


def person_key(cpr10: str, key: bytes | None = None) -> str:
    return hmac.new(key or pseudonym_key(), cpr10.encode("ascii"), hashlib.sha256).hexdigest()


def mask(text: str) -> str:
    """Blank out anything CPR-shaped in free text (rejected rows, reasons, messages, free-text fields)."""
    return _CPR_LIKE.sub("XXXXXX-XXXX", text)
