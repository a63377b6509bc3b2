"""Writing and checking the audit trail. Everything that records an access calls ``record``.

Each row's ``chain`` is a keyed hash (HMAC-SHA256) of its content and of the previous row's
chain. Rows are chained in id order, one writer at a time: the writer holds a lock until its
transaction commits, so the next one reads the row it wrote. A row changed, removed or slipped
in afterwards breaks the chain at that row, and the key (``AUDIT_CHAIN_KEY``) keeps anyone who
can write to the database but cannot read the server's settings from forging a new chain."""

import datetime
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from audit.context import Actor, current_actor
from audit.models import AuditEvent

Action = AuditEvent.Action
Role = AuditEvent.Role

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
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])
    last = AuditEvent.objects.order_by("-id").values_list("chain", flat=True).first()
    return last or GENESIS


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
    """Record one access: a row per client it concerns (one row when it concerns none), all
    written by one INSERT in the caller's transaction.

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
    rows = [AuditEvent(client_id=client_id, **shared) for client_id in (client_ids or [None])]
    # No savepoint inside the caller's transaction (two round trips fewer per record): a failed
    # INSERT fails the caller's whole write, which is what an unrecorded access must do anyway.
    with transaction.atomic(savepoint=False):
        previous = _last_chain()
        for row in rows:
            row.chain = previous = link(previous, row)
        if connection.vendor == "postgresql":
            _insert_rows(shared, rows)
            return rows
        return AuditEvent.objects.bulk_create(rows)


def _insert_rows(shared: dict, rows: list[AuditEvent]) -> None:
    """The rows of one access in one INSERT on PostgreSQL: the values they share sent once, their
    client ids and links as two arrays, taken in order so that the ids follow the chain.

    ``bulk_create`` prepares every field of every row: for the 400 rows of a list of 50 notes
    that took longer than drawing the page."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    fields = [AuditEvent._meta.get_field(name) for name in shared]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    values = [field.get_db_prep_save(value, connection) for field, value in zip(fields, shared.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}, client_id, chain) "
            f"SELECT {', '.join(['%s'] * len(values))}, row.client_id, row.chain "
            "FROM unnest(%s::bigint[], %s::varchar[]) WITH ORDINALITY AS row(client_id, chain, place) "
            "ORDER BY row.place RETURNING id",
            [*values, [row.client_id for row in rows], [row.chain for row in rows]],
        )
        for row, (pk,) in zip(rows, cursor.fetchall(), strict=True):
            row.pk = row.id = pk
            row._state.adding = False


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
