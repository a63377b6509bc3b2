import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import condition, require_GET, require_http_methods

from audit.trail import Action, record
from clients import services as client_services
from clients.forms import PortalLanguageForm
from clients.models import Client
from groups.models import TherapyGroup
from iop.clock import monday_of
from iop.forms import add_refusals
from iop.i18n import supported_language
from scheduling import calendar, services
from scheduling.models import Session
from scheduling.selectors import (
    FeedVersion,
    calendar_feed_version,
    client_for_feed,
    client_for_portal,
    feed_sessions,
    first_group_has_met,
    next_session_for_client,
    sessions_for_client_between,
)

# Weeks a person could mean; outside them the previous/next links would leave the calendar.
FIRST_YEAR, LAST_YEAR = 1970, 2200


def _parse_week(raw: str | None) -> datetime.date | None:
    """Monday of an ISO week written like 2026-W48, or None when it is not one."""
    if not raw:
        return None
    try:
        year, week = raw.upper().split("-W")
        if not FIRST_YEAR <= int(year) <= LAST_YEAR:
            return None
        return datetime.date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        return None


def _iso_week(day: datetime.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@login_required
@require_GET
def week(request: HttpRequest) -> HttpResponse:
    """The client's week, made for a phone: the next session first, then each day, today marked and
    past sessions shown as past (without their video link)."""
    client = client_for_portal(request.user)
    now = timezone.now()
    today = timezone.localdate(now)
    this_monday = monday_of(today)
    monday = _parse_week(request.GET.get("week"))
    if monday is None:
        if "week" in request.GET:
            messages.warning(request, _("That week could not be read; here is this week."))
        monday = this_monday
    sunday = monday + datetime.timedelta(days=6)
    sessions = sessions_for_client_between(client, monday, sunday)
    next_session = next_session_for_client(client, now=now)
    by_day = {monday + datetime.timedelta(days=offset): [] for offset in range(7)}
    kind_names = {kind: str(name) for kind, name in TherapyGroup.Kind.choices}
    zone = timezone.get_current_timezone()
    for session in sessions:
        # What each card reads more than once, or dearly (get_kind_display rebuilds the choices on
        # every call), worked out once here.
        session.is_over = session.ends_at <= now
        session.is_next = next_session is not None and session.pk == next_session.pk
        session.kind_name = kind_names.get(session.group.kind, session.group.kind)
        by_day[session.starts_at.astimezone(zone).date()].append(session)
    days = [
        {"date": day, "sessions": todays, "is_today": day == today, "is_past": day < today}
        for day, todays in by_day.items()
    ]
    scheduled_minutes = sum(s.duration_minutes for s in sessions if s.status != Session.Status.CANCELLED)
    feed_url = request.build_absolute_uri(reverse("scheduling:feed", args=[client.calendar_token]))
    context = {
        "client": client,
        "monday": monday,
        "sunday": sunday,
        "days": days,
        "has_sessions": bool(sessions),
        "scheduled_hours": scheduled_minutes / 60,
        "previous_week": _iso_week(monday - datetime.timedelta(days=7)),
        "next_week": _iso_week(monday + datetime.timedelta(days=7)),
        "is_this_week": monday == this_monday,
        "today": today,
        "now": now,
        "next_session": next_session,
        "feed_url": feed_url,
        "webcal_url": feed_url.replace("https://", "webcal://").replace("http://", "webcal://"),
        "before_first_group": not first_group_has_met(client),
    }
    record(Action.VIEW, target=Session, clients=[client], detail=f"portal week {_iso_week(monday)}")
    return render(request, "scheduling/week.html", context)


@login_required
@require_GET
def preparation(request: HttpRequest) -> HttpResponse:
    """ "Before your first group": what to expect, the four skills in plain words, the
    confidentiality agreement, and how far the client's own orientation has come. The signed-in
    client's own, and no one else's (there is no id to ask for another's)."""
    client = client_for_portal(request.user)
    agreement = client_services.latest_agreement()
    context = {
        "client": client,
        "checklist": client_services.orientation_checklist(client),
        "agreement": agreement,
        "agreement_signed": client_services.has_current_signature(client),
        "first_group_met": first_group_has_met(client),
    }
    record(Action.VIEW, target=client, clients=[client], detail="portal: before your first group")
    return render(request, "scheduling/preparation.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def rotate_feed(request: HttpRequest) -> HttpResponse:
    """Replacing the calendar link asks first: the old link stops working in every calendar that
    has it, the client's own phone too. Nothing changes until the client confirms (a page of its
    own, so it works without script)."""
    client = client_for_portal(request.user)
    if request.method == "POST" and request.POST.get("confirm") == "replace":
        services.rotate_calendar_token(client=client)
        messages.success(
            request,
            _("Your calendar link was replaced. Add the new link to your calendar; the old one no longer works."),
        )
        return redirect("scheduling:week")
    return render(request, "scheduling/rotate_feed.html", {"client": client})


@login_required
def language(request: HttpRequest) -> HttpResponse:
    """The client chooses the language of their portal, reminders and calendar (their record's
    preferred language). The page after the change speaks the new language."""
    client = client_for_portal(request.user)
    form = PortalLanguageForm(request.POST or None, client=client)
    if request.method == "POST" and form.is_valid():
        try:
            client = client_services.set_preferred_language(
                client=client, language=form.cleaned_data["preferred_language"]
            )
        except ValidationError as error:
            add_refusals(form, error)
        else:
            with translation.override(supported_language(client.preferred_language)):
                messages.success(request, _("Your language is saved."))
            return redirect("scheduling:week")
    return render(request, "scheduling/language.html", {"client": client, "form": form})


@dataclass(frozen=True)
class _FeedState:
    client: Client | None
    # The feed's meetings, as a query not yet run: the version sums them up, a 200 lists them.
    sessions: QuerySet[Session] | None = None
    version: FeedVersion | None = None


def _feed_state(request: HttpRequest, token: str) -> _FeedState:
    """The client, the feed's meetings and its version, looked up once per request (the ETag,
    the Last-Modified and the view all ask), for one day: the version and the entries agree
    even across midnight."""
    if not hasattr(request, "_calendar_feed"):
        client = client_for_feed(token)
        if client is None:
            request._calendar_feed = _FeedState(client=None)
        else:
            today = timezone.localdate()
            sessions = feed_sessions(client, today=today)
            version = calendar_feed_version(client, today=today, sessions=sessions)
            request._calendar_feed = _FeedState(client=client, sessions=sessions, version=version)
    return request._calendar_feed


def _feed_etag(request: HttpRequest, token: str) -> str | None:
    # Weak: each drawing stamps its entries with the time (DTSTAMP), so two drawings of one
    # version are equal in meaning, not in bytes.
    version = _feed_state(request, token).version
    return f'W/"{version.etag}"' if version is not None else None


def _feed_last_modified(request: HttpRequest, token: str) -> datetime.datetime | None:
    version = _feed_state(request, token).version
    return version and version.last_modified


@require_GET
# A repeat poll of an unchanged feed answers 304 without drawing it. A 304 carries no client
# information and records no read; a 200 does.
@condition(etag_func=_feed_etag, last_modified_func=_feed_last_modified)
def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The client's calendar subscription. The token is the only key: unknown, rotated, or a
    discharged client's → 404."""
    state = _feed_state(request, token)
    client = state.client
    if client is None:
        raise Http404("No such calendar.")
    # Signed in as no one: the entries speak the language of the client the link belongs to.
    with translation.override(supported_language(client.preferred_language)):
        body = calendar.client_calendar(state.sessions, clinic_name=settings.CLINIC_SHORT_NAME)
    # Fetched by the client's calendar app, signed in as no one: the token stands for the client.
    record(Action.VIEW, target=Session, clients=[client], detail="calendar feed")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="appointments.ics"'
    # Fetched by phone calendars with the token alone, so no login marks it as private: no cache on
    # the way (a proxy, a shared computer's browser) keeps a copy of when and where a client goes.
    # Calendar apps keep their own entries and fetch again on their own schedule.
    response["Cache-Control"] = "no-store"
    return response
