"""A named lock held until the transaction ends, for work that reads many tables and then writes."""

import hashlib

from django.db import connection


def hold_until_commit(name: str) -> None:
    """Wait for the lock called ``name`` and hold it until the current transaction ends.

    On PostgreSQL this is an advisory lock: a second run of the same work waits here and then,
    reading what the first run committed, finds its work done. SQLite lets one transaction write
    at a time, so there a second run that overlaps the first is refused ("database is locked")
    and writes nothing. Either way the database's constraints still hold.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("hold_until_commit() needs a transaction to hold the lock for.")
    if connection.vendor == "postgresql":
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
