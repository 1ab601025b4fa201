"""CPR numbers: validated with python-stdnum, then replaced at once by a keyed pseudonym.

No raw CPR leaves this module's callers: the warehouse, logs, XCom and reports see only
`person_key` = HMAC-SHA256(key, 10-digit CPR) in hex.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from datetime import date
from functools import cache

from stdnum.dk import cpr as stdnum_cpr
from stdnum.exceptions import ValidationError

from fsm.config import DEVELOPMENT_PSEUDONYM_KEY

log = logging.getLogger(__name__)

# Anything that looks like a CPR inside free text: DDMMYY-SSSS or ten digits on their own.
_CPR_LIKE = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")


class PseudonymKeyError(RuntimeError):
    pass


@cache
def pseudonym_key() -> bytes:
    """FSM_PSEUDONYM_KEY, else the Airflow connection `fsm_pseudonym` (its password), else the dev key."""
    key = os.environ.get("FSM_PSEUDONYM_KEY")
    if not key:
        key = _key_from_airflow()
    if not key:
        if os.environ.get("FSM_ENV", "").lower() in ("prod", "production"):
            raise PseudonymKeyError(
                "FSM_ENV=production but no FSM_PSEUDONYM_KEY (or Airflow connection 'fsm_pseudonym') is set; "
                "refusing to pseudonymise with the public development key."
            )
        log.warning(
            "USING THE BUILT-IN DEVELOPMENT PSEUDONYM KEY: person_keys are not secret. "
            "Set FSM_PSEUDONYM_KEY (or the Airflow connection 'fsm_pseudonym') for real data."
        )
        key = DEVELOPMENT_PSEUDONYM_KEY
    if os.environ.get("FSM_ENV", "").lower() in ("prod", "production") and key == DEVELOPMENT_PSEUDONYM_KEY:
        raise PseudonymKeyError("FSM_ENV=production: the development pseudonym key is refused.")
    return key.encode("utf-8")


def _key_from_airflow() -> str | None:
    if not os.environ.get("AIRFLOW_CONN_FSM_PSEUDONYM"):
        return None
    try:  # only inside Airflow; the env-var connection needs no metadata database
        from airflow.sdk import Connection

        return Connection.get("fsm_pseudonym").password
    except Exception:  # noqa: BLE001 - fall back to the env/dev key with its warning
        return None


def normalise(raw: str) -> str | None:
    """The 10-digit CPR if `raw` is a valid one (date and century rules; no modulus 11), else None."""
    try:
        return stdnum_cpr.validate(raw.strip())
    except (ValidationError, ValueError, IndexError):
        return None


def birth_date(cpr10: str) -> date:
    return stdnum_cpr.get_birth_date(cpr10)


def person_key(cpr10: str, key: bytes | None = None) -> str:
    return hmac.new(key or pseudonym_key(), cpr10.encode("ascii"), hashlib.sha256).hexdigest()


def mask(text: str) -> str:
    """Blank out anything CPR-shaped in free text (used for rejected rows)."""
    return _CPR_LIKE.sub("XXXXXX-XXXX", text)
