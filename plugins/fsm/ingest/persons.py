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
        # Keys and dates travel as one comma-joined text each (hex keys and ISO dates hold no comma): psycopg
        # would adapt a list of 80,000 values one by one, every monthly run, for citizens mostly known already.
        keys_text = ",".join(keys)
        known = self._conn.execute(
            "select person_key, person_id, birth_date is null from dim_person where person_key = any(string_to_array(%s, ','))",
            (keys_text,),
        ).fetchall()
        self._ids.update((k, i) for k, i, _ in known)
        undated = {k for k, _, no_birth in known if no_birth}
        # A person staged before V011 without a benefit row has no birth date yet: it is filled here, before their rows are.
        if undated:
            pairs = [(k, b) for k, b in zip(keys, births, strict=True) if k in undated]
            self._conn.execute(
                "update dim_person as p set birth_date = u.b"
                " from unnest(string_to_array(%s, ','), string_to_array(%s, ',')::date[]) as u (k, b)"
                " where p.person_key = u.k and p.birth_date is null",
                (",".join(k for k, _ in pairs), ",".join(b.isoformat() for _, b in pairs)),
            )
        new = [(k, b) for k, b in zip(keys, births, strict=True) if k not in self._ids]
        if new:  # in key order, so that two loaders inserting the same new citizens never deadlock
            new_keys = ",".join(k for k, _ in new)
            self._conn.execute(
                "insert into dim_person (person_key, birth_date)"
                " select k, b from unnest(string_to_array(%s, ','), string_to_array(%s, ',')::date[]) as u (k, b) order by k"
                " on conflict (person_key) do nothing",
                (new_keys, ",".join(b.isoformat() for _, b in new)),
            )
            rows = self._conn.execute(
                "select person_key, person_id from dim_person where person_key = any(string_to_array(%s, ','))", (new_keys,)
            )
            self._ids.update(rows.fetchall())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> PersonIds:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
