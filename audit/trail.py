"""Writing and checking the audit trail. Everything that records an access calls ``record``.

Each row's ``chain`` is a keyed hash (HMAC-SHA256) of its content and of the previous row's
chain. Rows are chained in id order, one writer at a time: the writer holds a lock until its
transaction commits, so the next one reads the row it wrote. A row changed, removed or slipped
in afterwards breaks the chain at that row, and the key (``AUDIT_CHAIN_KEY``) keeps anyone who
can write to the database but cannot read the server's settings from forging a new chain.

The reads of a request (what a page and its parts showed) are written together when it ends:
``reads_of_request`` collects them, and all of them, of every part of the page, take one turn of
the chain (see ``record``). Writes are recorded in their own transaction, when they are made."""

import contextlib
import contextvars
import datetime
import functools
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from audit.context import Actor, current_actor
from audit.models import AuditEvent

Action = AuditEvent.Action
Role = AuditEvent.Role

# What a person was shown: written at the end of the request that showed it (reads_of_request).
READS = frozenset({Action.VIEW, Action.EXPORT})

# pg_advisory_xact_lock key of the one writer at a time ("audit-chain" as a number).
CHAIN_LOCK = int.from_bytes(hashlib.blake2b(b"audit-chain", digest_size=8).digest(), "big", signed=True)
GENESIS = "0" * 64
CHAINED_FIELDS = (
    "at",
    "user_id",
    "username",
    "role",
    "action",
    "model",
    "object_id",
    "client_id",
    "detail",
    "ip",
    "user_agent",
    "request_id",
)


def role_of(user) -> str:
    if user is None or not user.is_authenticated:
        return Role.ANONYMOUS
    if hasattr(user, "therapist"):
        return Role.THERAPIST
    if hasattr(user, "client"):
        return Role.CLIENT
    return Role.STAFF if user.is_staff else Role.ANONYMOUS


def _content(event: AuditEvent) -> bytes:
    values = {name: getattr(event, name) for name in CHAINED_FIELDS}
    values["at"] = event.at.astimezone(datetime.UTC).isoformat()
    return json.dumps(values, sort_keys=True, default=str, separators=(",", ":")).encode()


def link(previous: str, event: AuditEvent) -> str:
    key = settings.AUDIT_CHAIN_KEY.encode()
    return hmac.new(key, previous.encode() + b"|" + _content(event), hashlib.sha256).hexdigest()


def _last_chain() -> str:
    """Take the chain's lock, then read its last link: two statements, so that the read's snapshot
    is taken once the lock is held and sees the row its last holder committed."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
        # A plain cursor: this runs under the lock every writer waits for, so it costs no more
        # than it must (the ORM's query building is most of a short statement's time).
        cursor.execute(_LAST_LINK_SQL)
        last = cursor.fetchone()
    return last[0] if last else GENESIS


_LAST_LINK_SQL = f"SELECT chain FROM {connection.ops.quote_name(AuditEvent._meta.db_table)} ORDER BY id DESC LIMIT 1"


def hold_chain() -> None:
    """Take the chain's lock now, at the start of a write that will record, before its row locks.

    ``record`` takes the lock anyway, but a transaction that locks rows and then waits for the
    chain can meet one that holds the chain and waits for those rows (a discharge that has
    recorded one membership and goes on to lock the next group; an enrolment into that group
    that has locked it and now records): a deadlock. Taken first, in every write that records,
    the order is always the chain, then rows. Reentrant; nothing on SQLite, where one transaction
    writes at a time."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])


def _ip(address: str | None) -> str | None:
    """As the database gives it back, so the chain reads the same value later."""
    try:
        return AuditEvent._meta.get_field("ip").to_python(address)
    except ValidationError:
        return None


def _label(target: Model | type[Model] | None) -> str:
    return target._meta.label_lower if target is not None else ""


def prepare(
    action: str,
    *,
    target: Model | type[Model] | None = None,
    object_id: object = "",
    clients: Iterable[int | Model | None] = (),
    detail: str = "",
    actor: Actor | None = None,
    user=None,
) -> list[AuditEvent]:
    """The rows that record one access, not yet chained: a row per client it concerns (one row
    when it concerns none), sharing every value but the client. ``record`` writes them;
    ``commit_change`` has them built before it takes the chain's lock.

    ``target`` is the record (or, for a list, the model) accessed; ``clients`` the clients it is
    about, as ids or rows. ``user`` stands in for the actor's user for sign-in events, where the
    request's user is not yet, or no longer, the person."""
    actor = actor or current_actor()
    person = user if user is not None else actor.user
    if person is not None and not person.is_authenticated:
        person = None
    if isinstance(target, Model) and not object_id:
        object_id = target.pk
    client_ids = sorted({c.pk if isinstance(c, Model) else c for c in clients if c is not None})
    # What every row of this access shares, worked out once: a list of 50 notes is 400 rows.
    shared = {
        "at": timezone.now(),
        "user_id": person.pk if person is not None else None,
        "username": person.get_username() if person is not None else "",
        "role": role_of(person) if person is not None else (Role.SYSTEM if not actor.request_id else Role.ANONYMOUS),
        "action": action,
        "model": _label(target),
        "object_id": str(object_id or "")[:64],
        "detail": detail.replace("\x00", "")[:300],
        "ip": _ip(actor.ip),
        "user_agent": actor.user_agent.replace("\x00", ""),
        "request_id": actor.request_id,
    }
    return [AuditEvent(client_id=client_id, **shared) for client_id in (client_ids or [None])]


def record(
    action: str,
    *,
    target: Model | type[Model] | None = None,
    object_id: object = "",
    clients: Iterable[int | Model | None] = (),
    detail: str = "",
    actor: Actor | None = None,
    user=None,
) -> list[AuditEvent]:
    """Record one access (see ``prepare``), all its rows written by one INSERT in the caller's
    transaction; or, for a read during a request, at the end of the request with its other reads
    (``reads_of_request``): the rows are then returned before they are written."""
    rows = prepare(action, target=target, object_id=object_id, clients=clients, detail=detail, actor=actor, user=user)
    pending = _reads_of_request.get()
    if pending is not None and action in READS:
        pending.extend(rows)
        return rows
    # No savepoint inside the caller's transaction (two round trips fewer per record): a failed
    # INSERT fails the caller's whole write, which is what an unrecorded access must do anyway.
    with transaction.atomic(savepoint=False):
        return _append(rows, previous=_last_chain())


_reads_of_request: contextvars.ContextVar[list[AuditEvent] | None] = contextvars.ContextVar(
    "audit_reads_of_request", default=None
)


@contextlib.contextmanager
def reads_of_request():
    """Collect the reads recorded inside (``record`` of a VIEW or an EXPORT), and write them all
    when it ends, however it ends: one turn of the chain (its lock, its last link, one INSERT,
    one COMMIT: two round trips on PostgreSQL), in a transaction of their own, instead of one per
    part of the page (the safety banner, the dashboard's lists, the page itself).

    Each read keeps its own rows (its time, what and whose), the same as if written at once. So:
    a page is recorded before it leaves (the middleware returns it only after this has written,
    and a write that fails fails the request: no page shown unrecorded); a request that fails
    after reading still records what it read, even a read inside a transaction it rolled back;
    the reads come after the request's writes in the chain (each row keeps the time it was read).
    Outside (a command, a task, a test calling a service) a read is written at once."""
    token = _reads_of_request.set([])
    try:
        yield
    finally:
        rows = _reads_of_request.get()
        _reads_of_request.reset(token)
        if rows:
            write(rows)


def write(rows: list[AuditEvent]) -> list[AuditEvent]:
    """Write rows from ``prepare`` (of one access or of several) by one turn of the chain, and
    commit them; inside a transaction, in that one. See ``_turn``."""
    _turn(rows)
    return rows


def commit_change(rows: list[AuditEvent], *, change: str, params: Sequence[object], wait_for_disk: bool = True) -> bool:
    """Make a change, write ``rows`` (from ``prepare``) as its record and commit both; the rows
    only if the change changed something. ``change`` is one statement that returns a row for each
    row it changed (``UPDATE … RETURNING id``). Returns whether it did. Called inside a
    transaction (a test's, an eager task's), it writes in that one and leaves the COMMIT to it.

    For a write that many processes make at a high rate (a reminder recorded as sent). The chain's
    lock is every writer's turn until the COMMIT, and a holder that waits between two statements
    (for its answer, for its turn on a busy CPU) makes every other writer wait as well. So nothing
    is done under it that can be done before (the rows are built first), and on PostgreSQL it
    takes two round trips: one begins, takes the lock, makes the change and reads the chain's
    last link (statements sent together, each with a snapshot of its own taken after the one
    before it ran); the other writes the rows and commits. The change's row locks come after the
    chain's lock, as ``hold_chain`` asks.

    ``wait_for_disk=False`` lets the COMMIT return before it reaches the disk (PostgreSQL's
    ``synchronous_commit`` off, for this transaction only). The commit is as final as any for
    every other connection, and this process dying after it returned cannot undo it; only a crash
    of PostgreSQL itself (or of the machine) within about three ``wal_writer_delay`` (200 ms by
    default) can, and then the change and its record are both gone, as if never made. Only for a
    change that is made again after such a crash."""
    return _turn(rows, change=change, params=params, wait_for_disk=wait_for_disk)


def _turn(
    rows: list[AuditEvent], *, change: str | None = None, params: Sequence[object] = (), wait_for_disk: bool = True
) -> bool:
    """One writer's turn of the chain, as short as it can be: see ``commit_change``. Without a
    change, the rows are written anyway."""
    if connection.vendor != "postgresql":  # one writer at a time already: no lock to hold short
        # No savepoint inside the caller's transaction, as in ``record``.
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            if change is not None:
                cursor.execute(change, params)
                if not cursor.fetchall():
                    return False
            _append(rows, previous=_last_chain())
            return True
    # The transaction is begun and ended by these two round trips, and Django's connection is in
    # autocommit mode before and after; inside the caller's transaction, it is the caller's.
    own = not connection.in_atomic_block
    begin = ["BEGIN", *([] if wait_for_disk else ["SET LOCAL synchronous_commit TO OFF"])] if own else []
    statements = [*begin, "SELECT pg_advisory_xact_lock(%s)", *([change] if change is not None else []), _LAST_LINK_SQL]
    commit = "; COMMIT" if own else ""
    with connection.cursor() as cursor:
        try:
            # Several statements in one execute: Django's psycopg cursor binds parameters on the
            # client (its default), so they go as one simple query; their results follow in order.
            cursor.execute("; ".join(statements), [CHAIN_LOCK, *params])
            for _ in range(len(statements) - 1 - (change is not None)):
                cursor.nextset()
            changed = True
            if change is not None:
                changed = bool(cursor.fetchall())
                cursor.nextset()
            last = cursor.fetchone()
            if changed:
                _chain(rows, previous=last[0] if last else GENESIS)
                insert, values = _insert_rows(rows)
                cursor.execute(insert + commit, values)
                _take_ids(rows, cursor.fetchall())
            elif own:
                cursor.execute("COMMIT")
        except BaseException:
            if own:
                with contextlib.suppress(DatabaseError):
                    cursor.execute("ROLLBACK")
            raise
    return changed


def _append(rows: list[AuditEvent], *, previous: str) -> list[AuditEvent]:
    """Chain the rows after ``previous`` and write them by one INSERT."""
    _chain(rows, previous=previous)
    if connection.vendor != "postgresql":
        return AuditEvent.objects.bulk_create(rows)
    insert, values = _insert_rows(rows)
    with connection.cursor() as cursor:
        cursor.execute(insert, values)
        _take_ids(rows, cursor.fetchall())
    return rows


def _chain(rows: list[AuditEvent], *, previous: str) -> None:
    for row in rows:
        row.chain = previous = link(previous, row)


def _insert_rows(rows: list[AuditEvent]) -> tuple[str, list[object]]:
    """The one INSERT, and its values, that writes rows on PostgreSQL: the values they share sent
    once, the others (their client ids and links; for the reads of several parts of a page, also
    their times, what was read and why) as arrays, taken in order so that the ids follow the
    chain.

    ``bulk_create`` prepares every field of every row: for the 400 rows of a list of 50 notes
    that took longer than drawing the page, and for the one row of a reminder sent it was most of
    the time the chain's lock was held. The values go as they are, but for the time and the
    address, in the backend's form."""
    first = rows[0]
    varying = tuple(name for name in _SHARED if any(getattr(row, name) != getattr(first, name) for row in rows))
    adapt = {
        "at": connection.ops.adapt_datetimefield_value,
        # Addresses that differ go as text in an array cast to inet[]; one shared, in the backend's form.
        "ip": (lambda value: value) if "ip" in varying else connection.ops.adapt_ipaddressfield_value,
    }
    values = [adapt.get(name, _as_is)(getattr(first, name)) for name in _SHARED if name not in varying]
    for name in (*varying, "client_id", "chain"):
        values.append([adapt.get(name, _as_is)(getattr(row, name)) for row in rows])
    return _insert_sql(varying), values


def _as_is(value):
    return value


@functools.cache
def _insert_sql(varying: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    shared = [name for name in _SHARED if name not in varying]
    arrays = [*varying, "client_id", "chain"]
    columns = ", ".join(quote(AuditEvent._meta.get_field(name).column) for name in [*shared, *arrays])
    unnest = ", ".join(f"%s::{_array_type(name)}" for name in arrays)
    return (
        f"INSERT INTO {quote(AuditEvent._meta.db_table)} ({columns}) "
        f"SELECT {', '.join(['%s'] * len(shared) + [f'row.{quote(name)}' for name in arrays])} "
        f"FROM unnest({unnest}) WITH ORDINALITY AS row({', '.join(quote(name) for name in arrays)}, place) "
        "ORDER BY row.place RETURNING id"
    )


def _array_type(name: str) -> str:
    if name == "client_id":
        return "bigint[]"
    return f"{AuditEvent._meta.get_field(name).db_type(connection)}[]"


def _take_ids(rows: list[AuditEvent], ids: list[tuple[int]]) -> None:
    for row, (pk,) in zip(rows, ids, strict=True):
        row.pk = row.id = pk
        row._state.adding, row._state.db = False, connection.alias


_SHARED = tuple(name for name in CHAINED_FIELDS if name != "client_id")


@dataclass(frozen=True)
class Verification:
    checked: int
    broken_at: int | None = None  # the id of the first row whose chain does not hold
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(*, batch: int = 5000) -> Verification:
    """Walk the trail in id order and recompute each link."""
    previous, checked = GENESIS, 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch):
        expected = link(previous, event)
        if not hmac.compare_digest(expected, event.chain):
            return Verification(checked, event.pk, "its content or its place in the chain was altered")
        previous, checked = event.chain, checked + 1
    return Verification(checked)
