"""Reads that the portal, the calendar feed and (later) reminders share."""

import datetime

from django.db.models import F, QuerySet
from django.http import Http404

from clients.models import Client
from groups.models import member_at
from iop.clock import start_of_day, start_of_day_after
from scheduling.models import Session


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


def sessions_for_client_between(client: Client, first_day: datetime.date, last_day: datetime.date):
    start = start_of_day(first_day)
    end = start_of_day_after(last_day)
    return sessions_for_client(client).filter(starts_at__gte=start, starts_at__lt=end)
