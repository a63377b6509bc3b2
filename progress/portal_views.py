"""The client's own check-ins and questionnaires in the portal (/schedule/...). Every view gets the
client through ``scheduling.selectors.client_for_portal`` (404 for anyone who is not a client);
the forms are for clients in the program (404 for a discharged client's login).

A PHQ-9 with item 9 above 0 is answered at once with the crisis message (its page, after the
redirect, reads the response it shows)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from audit.trail import Action, record
from clients.models import Client
from iop.forms import add_refusals
from progress import charts, checkins, course, measures
from progress.forms import CheckInForm, MeasureForm
from progress.models import CheckIn, MeasureResponse
from scheduling.selectors import client_for_portal


def _client_in_program(user) -> Client:
    client = client_for_portal(user)
    if client.status != Client.Status.ACTIVE:
        raise Http404("Check-ins and questionnaires are for clients in the program.")
    return client


@login_required
def check_in(request: HttpRequest) -> HttpResponse:
    """This week's check-in. Sent again the same week, it changes the week's answers: one a week."""
    client = _client_in_program(request.user)
    existing = checkins.check_in_of_week(client)
    ask_cravings = checkins.cravings_asked()
    if request.method == "POST":
        form = CheckInForm(request.POST, ask_cravings=ask_cravings)
        if form.is_valid():
            try:
                checkins.save_check_in(client=client, **form.cleaned_data)
            except ValidationError as error:
                add_refusals(form, error)
            else:
                messages.success(
                    request,
                    gettext("Your check-in is changed. Thank you.")
                    if existing
                    else gettext("Thank you for checking in."),
                )
                return redirect("portal:history")
    else:
        initial = {}
        if existing is not None:
            initial = {f: getattr(existing, f) for f in ("mood", "coping", "cravings", "what_helped")}
            record(Action.VIEW, target=existing, clients=[client], detail="portal check-in form")
        form = CheckInForm(initial=initial, ask_cravings=ask_cravings)
    context = {"client": client, "form": form, "existing": existing, "week": checkins.this_week()}
    return render(request, "progress/portal/check_in.html", context)


@login_required
def questionnaire(request: HttpRequest, instrument: str) -> HttpResponse:
    client = _client_in_program(request.user)
    form = MeasureForm(request.POST or None, instrument=instrument)
    if request.method == "POST" and form.is_valid():
        try:
            response = checkins.record_measure(
                client=client,
                instrument=instrument,
                answers=form.answers(),
                difficulty=form.cleaned_data["difficulty"],
                source=MeasureResponse.Source.PORTAL,
            )
        except ValidationError as error:
            add_refusals(form, error)
        else:
            return redirect("portal:questionnaire_done", pk=response.pk)
    context = {"client": client, "form": form, "instrument": form.instrument}
    return render(request, "progress/portal/questionnaire.html", context)


@login_required
@require_GET
def questionnaire_done(request: HttpRequest, pk: int) -> HttpResponse:
    """Thanks, and for a PHQ-9 with item 9 above 0 the crisis line and the clinic's phone."""
    client = client_for_portal(request.user)
    response = MeasureResponse.objects.filter(client=client, pk=pk).first()
    if response is None:
        raise Http404("No such questionnaire.")
    record(Action.VIEW, target=response, clients=[client], detail="portal questionnaire answered")
    context = {
        "client": client,
        "response": response,
        "crisis": measures.raises_safety_alert(response.instrument, response.answers),
        "crisis_line": settings.IOP_CRISIS_LINE,
        "clinic_phone": settings.CLINIC_PHONE,
        "shows_scores": settings.IOP_PORTAL_SHOWS_SCORES,
        "band": measures.band(response.instrument, response.total),
    }
    return render(request, "progress/portal/questionnaire_done.html", context)


@login_required
@require_GET
def history(request: HttpRequest) -> HttpResponse:
    """My check-ins and questionnaires: dates and answers; totals and bands if the clinic shows them."""
    client = client_for_portal(request.user)
    check_ins: list[CheckIn] = checkins.check_ins_for_client(client)
    rows = checkins.measures_for_client(client)
    answered = sorted(
        (row for series in rows.values() for row in series), key=lambda row: row.response.taken_on, reverse=True
    )
    context = {
        "client": client,
        "check_ins": list(reversed(check_ins)),
        "responses": [
            {
                "row": row,
                "instrument": measures.instrument(row.response.instrument),
                "answers": [
                    (text, dict(measures.ANSWERS)[answer])
                    for text, answer in zip(
                        measures.instrument(row.response.instrument).items, row.response.answers, strict=True
                    )
                ],
            }
            for row in answered
        ],
        "shows_scores": settings.IOP_PORTAL_SHOWS_SCORES,
        "asks_cravings": checkins.cravings_asked(),
        "due": checkins.due_for_client(client),
    }
    record(
        Action.VIEW,
        target=MeasureResponse,
        clients=[client],
        detail=f"portal history: {len(check_ins)} check-ins, {len(answered)} questionnaires",
    )
    return render(request, "progress/portal/history.html", context)


@login_required
@require_GET
def my_progress(request: HttpRequest) -> HttpResponse:
    """My progress: my hours each week against the program's minimum, my check-ins, my goals
    (their words and status) and, where the clinic shows them, my PHQ-9 and GAD-7. Nothing the
    facilitators wrote, and no one else."""
    client = client_for_portal(request.user)
    stay = course.gather(client)
    shows_scores = settings.IOP_PORTAL_SHOWS_SCORES
    asks_cravings = checkins.cravings_asked()
    context = {
        "client": client,
        "course": stay,
        "hours_chart": charts.weekly_hours(
            [(w.monday, w.hours) for w in stay.weeks], minimum=stay.minimum_hours, size=charts.NARROW
        ),
        "check_in_chart": charts.check_ins(stay.check_in_series(cravings=asks_cravings), size=charts.NARROW),
        "asks_cravings": asks_cravings,
        "shows_scores": shows_scores,
        "measures": [
            {
                "instrument": measures.instrument(code),
                "rows": stay.measures[code],
                "chart": charts.measure(code, stay.measure_series(code), size=charts.NARROW),
                "change": stay.latest_change(code),
            }
            for code in measures.INSTRUMENTS
        ]
        if shows_scores
        else [],
    }
    record(
        Action.VIEW,
        target=client,
        clients=[client],
        detail=(
            f"portal progress page: {len(stay.weeks)} weeks of attendance, {len(stay.check_ins)} check-ins, "
            f"{len(stay.goals)} goals"
            + (f", {sum(len(rows) for rows in stay.measures.values())} questionnaires" if shows_scores else "")
        ),
    )
    return render(request, "progress/portal/progress.html", context)
