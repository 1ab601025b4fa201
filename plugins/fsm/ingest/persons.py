"""The person dimension (issue 17 part 2): a CPR's person_key computed once, stored once in `dim_person`.

A chunk's CPRs are dictionary-encoded with Arrow: the HMAC (fsm.cpr) and the birth date are computed
for its distinct CPRs only (and once per feed: CprMemo), and each row keeps its position among them.
The loader turns positions into `dim_person.person_id`s: keys it has not seen in this feed are
inserted (`on conflict do nothing`) and their ids fetched. Those inserts commit at once, on their own
connection, apart from the file's transaction: loaders of different feeds never wait on each other's
files, and a file that rolls back leaves at most a pseudonym and a birth date behind (no fact, no CPR).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ChunkPersons:
    """The distinct citizens of a chunk: their person_keys and birth dates, and each row's position among them."""

    keys: list[str]
    birth_dates: list[date]
    positions: np.ndarray  # int32, one per row


def chunk_persons(cpr10: pd.Series, memo) -> ChunkPersons:
    """`cpr10` (valid 10-digit CPRs) as positions into its distinct values; HMAC and birth date per distinct CPR."""
    import pyarrow as pa

    encoded = pa.array(cpr10.to_numpy(dtype=object), type=pa.string()).dictionary_encode()
    distinct = encoded.dictionary.to_pylist()
    positions = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return ChunkPersons(memo.keys(distinct), memo.birth_dates(distinct), positions)


class PersonIds:
    """person_key → dim_person.person_id for one feed's load, new keys inserted as they come."""

    def __init__(self):
        self._ids: dict[str, int] = {}
        self._conn = None

    def ids(self, persons: ChunkPersons) -> np.ndarray:
        """Each row's person_id (int32)."""
        new = sorted({i for i, k in enumerate(persons.keys) if k not in self._ids}, key=persons.keys.__getitem__)
        if new:
            self._store([persons.keys[i] for i in new], [persons.birth_dates[i] for i in new])
        lookup = np.fromiter((self._ids[k] for k in persons.keys), dtype=np.int32, count=len(persons.keys))
        return lookup[persons.positions]

    def _store(self, keys: list[str], births: list[date]) -> None:
        if self._conn is None:
            import psycopg

            from fsm.warehouse import url

            self._conn = psycopg.connect(url(), autocommit=True)
        # In key order, so that two loaders inserting the same new citizens never deadlock. A person staged
        # before V011 without a benefit row has no birth date yet: it is filled here, before their rows are.
        inserted = self._conn.execute(
            "insert into dim_person (person_key, birth_date)"
            " select k, b from unnest(%s::text[], %s::date[]) as u (k, b) order by k"
            " on conflict (person_key) do nothing",
            (keys, births),
        ).rowcount
        if inserted < len(keys):
            self._conn.execute(
                "update dim_person as p set birth_date = u.b from unnest(%s::text[], %s::date[]) as u (k, b)"
                " where p.person_key = u.k and p.birth_date is null",
                (keys, births),
            )
        rows = self._conn.execute("select person_key, person_id from dim_person where person_key = any(%s)", (keys,))
        self._ids.update(rows.fetchall())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> PersonIds:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
