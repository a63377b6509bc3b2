"""Safety alerts: raised by a PHQ-9 whose item 9 (thoughts of being better off dead or of
self-harm) is above 0, shown at the top of every page of the client's therapists and in the
staff admin until one of them records the follow-up (who, when, how contacted, outcome).

Nothing here ever leaves the clinic's pages: no reminder, e-mail, text or calendar entry is
made from an alert, and none of their templates can reach one."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from groups.models import Therapist
from progress.models import MeasureResponse, SafetyAlert
from progress.selectors import memberships_led_by, therapist_for

# The banner at the top of a therapist's pages lists at most this many; more say how many more.
ALERTS_SHOWN = 10


def raise_alert(*, response: MeasureResponse) -> SafetyAlert:
    """Called by ``checkins.record_measure`` inside its transaction: the response and its alert
    are saved together or not at all."""
    alert = SafetyAlert.objects.create(client_id=response.client_id, response=response, raised_at=response.created_at)
    record(Action.CREATE, target=alert, clients=[response.client_id], detail="safety alert raised (PHQ-9 item 9)")
    return alert


def open_alerts() -> QuerySet[SafetyAlert]:
    """Every open alert, oldest first, from the partial index on open alerts."""
    return (
        SafetyAlert.objects.filter(followed_up_at__isnull=True)
        .select_related("client", "response")
        .order_by("raised_at", "pk")
    )


def open_alerts_for_therapist(therapist: Therapist) -> QuerySet[SafetyAlert]:
    """The open alerts of the therapist's current clients: active members of a group they lead or
    co-lead. A client's alert shows to all of their therapists until one records the follow-up."""
    # Their clients as a list of ids rather than a correlated EXISTS: PostgreSQL plans both as the
    # same semi-join, and this one costs Django less to build and PostgreSQL less to plan.
    return open_alerts().filter(client__in=memberships_led_by(therapist, history=False).values("client_id"))


def get_alert_for_therapist(user, pk: int) -> SafetyAlert:
    """The alert if its client is the therapist's now; otherwise 404, as for an alert that does
    not exist. Closed alerts are found too (the follow-up page says who recorded it)."""
    therapist = therapist_for(user)
    theirs = memberships_led_by(therapist, history=False).filter(client=OuterRef("client"))
    alert = (
        SafetyAlert.objects.filter(Exists(theirs), pk=pk).select_related("client", "response", "followed_up_by").first()
    )
    if alert is None:
        raise Http404("No such alert.")
    return alert


def follow_up_refusals(
    alert: SafetyAlert, *, followed_up_at: datetime.datetime | None, contacted_by: str, outcome: str
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if followed_up_at is None:
        errors["followed_up_at"] = ["Say when the client was contacted."]
    elif followed_up_at > timezone.now() + datetime.timedelta(minutes=1):
        errors["followed_up_at"] = ["The follow-up cannot be in the future."]
    # The form gives minutes: a follow-up within the minute the alert was raised is not before it.
    elif followed_up_at < alert.raised_at.replace(second=0, microsecond=0):
        errors["followed_up_at"] = [
            f"The alert was raised at {timezone.localtime(alert.raised_at):%Y-%m-%d %H:%M}; "
            "the follow-up comes after it."
        ]
    if contacted_by not in SafetyAlert.Contact.values:
        errors["contacted_by"] = ["Choose how the client was contacted."]
    if not outcome.strip():
        errors["outcome"] = ["Write the outcome of the follow-up."]
    return errors


@transaction.atomic
def record_follow_up(
    *,
    alert: SafetyAlert,
    by: AbstractBaseUser,
    contacted_by: str,
    outcome: str,
    followed_up_at: datetime.datetime | None = None,
) -> SafetyAlert:
    """Record who followed the alert up, when, how and with what outcome; this closes it.
    Whoever may (the client's therapist on their page, staff in the admin) is checked by the
    caller's access helper."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    # Lock the alert: two therapists recording at once must not both find it open.
    alert = SafetyAlert.objects.select_for_update().get(pk=alert.pk)
    if not alert.is_open:
        raise ValidationError(
            f"The follow-up was already recorded on {timezone.localtime(alert.followed_up_at):%Y-%m-%d %H:%M}."
        )
    followed_up_at = followed_up_at or timezone.now()
    errors = follow_up_refusals(alert, followed_up_at=followed_up_at, contacted_by=contacted_by, outcome=outcome)
    if errors:
        raise ValidationError(errors)
    alert.followed_up_by = by
    alert.followed_up_at = followed_up_at
    alert.contacted_by = contacted_by
    alert.outcome = outcome.strip()
    alert.save(update_fields=["followed_up_by", "followed_up_at", "contacted_by", "outcome"])
    record(Action.CHANGE, target=alert, clients=[alert.client_id], detail=f"follow-up recorded ({contacted_by})")
    return alert
