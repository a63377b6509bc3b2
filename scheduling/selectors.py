"""Reads that the portal, the calendar feed and (later) reminders share."""

import datetime
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Max, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from clients.models import Client
from groups.models import member_at
from iop.clock import start_of_day, start_of_day_after
from iop.i18n import supported_language
from iop.statements import instances_of, rows_of
from scheduling.models import MAX_MINUTES, Session

# Past meetings stay in the client's calendar feed this long.
FEED_PAST_WEEKS = 4
# Raised when the feed's entries are written differently, so that calendars fetch them anew.
FEED_FORMAT = 1


def client_for_portal(user) -> Client:
    """The client record of the signed-in user, or 404: no one else's schedule is reachable."""
    client = getattr(user, "client", None) if user.is_authenticated else None
    if client is None:
        raise Http404("No client record for this login.")
    return client


def sessions_for_client(client: Client) -> QuerySet[Session]:
    """Rolling admission: the sessions of every group the client was a member of at the session's
    start (``member_at``). Joining mid-way brings all later sessions; leaving drops them."""
    return (
        Session.objects.filter(
            member_at(F("starts_at"), prefix="group__memberships__"),
            group__memberships__client=client,
        )
        .select_related("group")
        .order_by("starts_at")
    )


def first_group_has_met(client: Client) -> bool:
    """Whether a meeting of one of the client's groups has been held with them on its roster:
    until then the portal prepares them for their first group. One query."""
    return bool(_met_before(client.pk, timezone.now()))


# What the portal's week shows of a session and its group: a client in six groups has some thirty
# sessions a week, each of thirty-five columns of session and group without this.
PORTAL_SESSION_FIELDS = (
    "starts_at",
    "ends_at",
    "status",
    "objective",
    "cancellation_reason",
    "room",
    "video_link",
    "group__name",
    "group__kind",
)


def sessions_for_client_between(client: Client, first_day: datetime.date, last_day: datetime.date) -> list[Session]:
    """The client's sessions from ``first_day`` to ``last_day``, with what the portal shows."""
    return _sessions_between(client.pk, start_of_day(first_day), start_of_day_after(last_day))


def next_session_for_client(client: Client, *, now: datetime.datetime) -> Session | None:
    """The client's next meeting that still takes place: under way now, or the first to start."""
    # No meeting lasts longer than MAX_MINUTES (a check constraint): one that has not ended began
    # after this, a bound that lets the index on (group, start) skip each group's past.
    found = _next_session(client.pk, now, now - datetime.timedelta(minutes=MAX_MINUTES))
    return found[0] if found else None


# The client's week asks these three on every request (and the page before the first group the
# first): their SQL is written once for the process (``iop.statements``), since building the rule
# of who belongs to a meeting into each query cost the page more than running it.


@rows_of
def _met_before(client_id: int, now: datetime.datetime) -> QuerySet:
    return sessions_for_client(Client(pk=client_id)).filter(starts_at__lte=now).met().values_list("pk")[:1]


@instances_of
def _sessions_between(client_id: int, start: datetime.datetime, end: datetime.datetime) -> QuerySet[Session]:
    sessions = sessions_for_client(Client(pk=client_id))
    return sessions.filter(starts_at__gte=start, starts_at__lt=end).only(*PORTAL_SESSION_FIELDS)


@instances_of
def _next_session(client_id: int, now: datetime.datetime, began_after: datetime.datetime) -> QuerySet[Session]:
    sessions = sessions_for_client(Client(pk=client_id))
    still_to_come = sessions.filter(starts_at__gt=began_after, ends_at__gt=now, status=Session.Status.SCHEDULED)
    return still_to_come.only(*PORTAL_SESSION_FIELDS)[:1]


def client_for_feed(token: str) -> Client | None:
    """The client whose calendar link this is; None for an unknown, rotated or discharged
    client's link. Carries ``memberships_changed_at``, the last change to any of their
    memberships (a join or an end changes which meetings the feed lists)."""
    return (
        Client.objects.exclude(status=Client.Status.DISCHARGED)
        .filter(calendar_token=token)
        .annotate(memberships_changed_at=Max("memberships__updated_at"))
        .first()
    )


def feed_sessions(client: Client, *, today: datetime.date) -> QuerySet[Session]:
    """The meetings in the client's calendar feed: from ``FEED_PAST_WEEKS`` back on, with only
    what an entry says (scheduling.calendar): a client in six groups has some three hundred."""
    first_day = today - datetime.timedelta(weeks=FEED_PAST_WEEKS)
    return (
        sessions_for_client(client)
        .filter(starts_at__gte=start_of_day(first_day))
        .select_related(None)
        .only("starts_at", "ends_at", "room", "video_link", "status", "updated_at")
    )


@dataclass(frozen=True)
class FeedVersion:
    etag: str
    last_modified: datetime.datetime | None


def calendar_feed_version(
    client: Client, *, today: datetime.date, sessions: QuerySet[Session] | None = None
) -> FeedVersion:
    """What the feed shows, summed up in one aggregate query, without drawing it: a calendar app
    polling every few minutes gets "not modified" for this.

    Every change to an entry goes through ``Session.updated_at`` (a moved, cancelled or
    re-placed meeting); a meeting added or gone changes the count and the sum of ids; a
    membership joined or ended changes ``memberships_changed_at``; the day (which past meetings
    are in), the link, the clinic's name and the client's language are in it too. ``last_modified`` is the latest of
    those times, for apps that only send If-Modified-Since. ``sessions`` is
    ``feed_sessions(client, today=today)`` when the caller has it already."""
    sessions = feed_sessions(client, today=today) if sessions is None else sessions
    summary = sessions.aggregate(count=Count("pk"), ids=Sum("pk"), changed_at=Max("updated_at"))
    memberships_changed_at = getattr(client, "memberships_changed_at", None)
    parts = (
        FEED_FORMAT,
        client.calendar_token,
        settings.CLINIC_SHORT_NAME,
        supported_language(client.preferred_language),
        today.isoformat(),
        summary["count"],
        summary["ids"],
        summary["changed_at"] and summary["changed_at"].isoformat(),
        memberships_changed_at and memberships_changed_at.isoformat(),
    )
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    times = [t for t in (summary["changed_at"], memberships_changed_at) if t is not None]
    return FeedVersion(etag=digest, last_modified=max(times) if times else None)
