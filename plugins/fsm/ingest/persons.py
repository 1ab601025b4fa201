"""The person dimension (issue 17 part 2): a CPR's person_key computed once, stored once in `dim_person`.

The HMAC (fsm.cpr) and the birth date are computed once per distinct CPR of a feed's load (fsm.ingest.fast
looks each chunk's distinct CPRs up and calls `ids_of` for the new ones only). Keys not seen in this feed
are inserted (`on conflict do nothing`) and their ids fetched. Those inserts commit at once, on their own
connection, apart from the file's transaction: loaders of different feeds never wait on each other's
files, and a file that rolls back leaves at most a pseudonym and a birth date behind (no fact, no CPR).
"""

from __future__ import annotations

from datetime import date

from fsm import cpr as cprmod


class PersonIds:
    """person_key → dim_person.person_id for one feed's load, new keys inserted as they come."""

    def __init__(self):
        self._ids: dict[str, int] = {}
        self._conn = None

    def ids_of(self, cpr10: list[str]) -> list[int]:
        """The person_id of each valid 10-digit CPR: HMAC and birth date computed here, new citizens inserted."""
        key = cprmod.pseudonym_key()
        keys = [cprmod.person_key(c, key) for c in cpr10]
        new = sorted({k: c for k, c in zip(keys, cpr10, strict=True) if k not in self._ids}.items())
        if new:
            self._store([k for k, _ in new], [cprmod.birth_date(c) for _, c in new])
        return [self._ids[k] for k in keys]

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
