"""The therapist workspace. Every view gets its session or group from progress.selectors, which
answers 404 for anything the therapist does not lead, co-lead or substitute in.

Every page shown records one VIEW in the audit trail with the clients on it (a refused request,
404, records nothing); the note page reads the note through ``selectors.read_note``, which
records it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from audit.trail import Action, record
from iop.forms import add_refusals
from progress import attendance, notes, selectors
from progress.forms import (
    AddendumForm,
    AttendanceFormSet,
    GroupNoteForm,
    IndividualNoteFormSet,
    SignNoteForm,
)
from progress.models import NOTE_IS_LOCKED, GroupNote
from scheduling.models import Session
from scheduling.services import held_refusals

# Lists on the therapist's pages are bounded: a therapist back from leave may have many notes
# to sign, and each would be a row to read and draw.
OVERDUE_ON_DASHBOARD = 10
OVERDUE_PER_PAGE = 25
# Sessions shown later and earlier this week, unless the whole week is asked for (?week=all):
# a therapist who leads sixteen groups meets some sixty times a week, and today's come first.
WEEK_SECTION_ON_DASHBOARD = 8


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    therapist = selectors.therapist_for(request.user)
    now = timezone.now()
    today = timezone.localdate(now)
    groups = list(selectors.groups_for_therapist(therapist, now=now).order_by("name"))
    led = selectors.led_group_ids(therapist, groups)
    # The next ones, and the latest of the earlier ones (older unsigned notes are overdue above).
    shown = None if request.GET.get("week") == "all" else WEEK_SECTION_ON_DASHBOARD
    week = selectors.dashboard_week(therapist, today=today, now=now, group_ids=led, shown=shown)
    # One more than shown tells whether the page of all of them is worth a link.
    overdue = list(selectors.overdue_sessions(therapist, now=now, group_ids=led)[: OVERDUE_ON_DASHBOARD + 1])
    context = {
        "therapist": therapist,
        "today": today,
        "today_sessions": week.today,
        "later_sessions": week.later,
        "earlier_sessions": week.earlier,
        "later_count": week.later_count,
        "earlier_count": week.earlier_count,
        "overdue_sessions": overdue[:OVERDUE_ON_DASHBOARD],
        "more_overdue": len(overdue) > OVERDUE_ON_DASHBOARD,
        "groups": groups,
    }
    # The dashboard names no client (sessions and counts only), but it is read for a person.
    record(Action.VIEW, target=Session, detail="therapist dashboard")
    return render(request, "progress/dashboard.html", context)


@login_required
@require_GET
def overdue_notes(request: HttpRequest) -> HttpResponse:
    """Every note unsigned for more than 24 hours, a page at a time (the dashboard shows the
    oldest few)."""
    therapist = selectors.therapist_for(request.user)
    page = Paginator(selectors.overdue_sessions(therapist), OVERDUE_PER_PAGE).get_page(request.GET.get("page"))
    record(Action.VIEW, target=Session, detail="overdue notes")
    return render(request, "progress/overdue_notes.html", {"therapist": therapist, "page": page})


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.get_session_for_therapist(request.user, pk)
    roster = selectors.session_roster(session)
    closed = attendance.attendance_closed_reasons(session)
    formset = AttendanceFormSet(
        request.POST if request.method == "POST" and not closed else None, session=session, roster=roster
    )
    if request.method == "POST":
        if closed:
            messages.error(request, " ".join(closed))
            return redirect("therapist:session", pk=session.pk)
        if "mark_everyone_present" in request.POST:
            # Fills the form again, saves nothing: the therapist still reviews and saves.
            formset = AttendanceFormSet(initial=formset.everyone_present(), session=session, roster=roster)
        elif formset.is_valid():
            try:
                attendance.record_attendance(session=session, entries=formset.entries(), recorded_by=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, f"Attendance saved for {len(roster)} members.")
                return redirect("therapist:session", pk=session.pk)
    context = {
        "session": session,
        "roster": roster,
        "formset": formset,
        "missing": formset.missing() if formset.is_bound else [],
        "closed_reasons": closed,
        "note": GroupNote.objects.filter(session=session).only("pk", "signed_at").first(),
        "can_mark_held": not held_refusals(session),
    }
    record(Action.VIEW, target=session, clients=roster, detail="session page")
    return render(request, "progress/session_detail.html", context)


@login_required
@require_POST
def session_held(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.get_session_for_therapist(request.user, pk)
    try:
        attendance.mark_held(session=session, user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The session is marked held.")
    return redirect("therapist:session", pk=session.pk)


def _note_page(
    request: HttpRequest,
    session: Session,
    *,
    note_form: GroupNoteForm | None = None,
    individual_formset=None,
    sign_form: SignNoteForm | None = None,
    addendum_form: AddendumForm | None = None,
    status: int = 200,
) -> HttpResponse:
    roster = selectors.session_roster(session)
    note = selectors.read_note(session, shown=roster, detail="note page")
    attending = [m for m in roster if m.attendance is not None and m.attendance.attended]
    if note is None or not note.is_signed:
        if note_form is None:
            initial = {"objective": session.objective}
            if note is not None:
                initial = {field: getattr(note, field) for field in notes.SHARED_FIELDS}
            note_form = GroupNoteForm(initial=initial, roster=roster)
        if individual_formset is None:
            written = {n.client_id: n for n in note.individual_notes.all()} if note else {}
            individual_formset = IndividualNoteFormSet(
                initial=[_birp_initial(member, written.get(member.pk)) for member in attending],
                attending=attending,
                roster=roster,
            )
    unsigned = note is not None and not note.is_signed
    context = {
        "session": session,
        "note": note,
        "roster": roster,
        "absent": [m for m in roster if m.attendance is not None and not m.attendance.attended],
        "unrecorded": [m for m in roster if m.attendance is None],
        "note_form": note_form,
        "individual_formset": individual_formset,
        "individual_rows": list(zip(attending, individual_formset.forms, strict=True)) if individual_formset else [],
        "sign_form": sign_form or SignNoteForm(),
        "addendum_form": addendum_form or AddendumForm(),
        "signing_refusals": notes.signing_refusals(note, roster=roster) if unsigned else [],
    }
    return render(request, "progress/note.html", context, status=status)


def _birp_initial(member, written) -> dict:
    if written is not None:
        return {"client": member.pk, **{field: getattr(written, field) for field in notes.BIRP_FIELDS}}
    return {"client": member.pk, "behaviour": member.attendance.observation}


@login_required
def note(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.get_session_for_therapist(request.user, pk)
    if request.method != "POST":
        return _note_page(request, session)
    if GroupNote.objects.filter(session=session, signed_at__isnull=False).exists():
        messages.error(request, NOTE_IS_LOCKED)
        return redirect("therapist:note", pk=session.pk)
    roster = selectors.session_roster(session)
    attending = [m for m in roster if m.attendance is not None and m.attendance.attended]
    note_form = GroupNoteForm(request.POST, roster=roster)
    individual_formset = IndividualNoteFormSet(request.POST, attending=attending, roster=roster)
    if note_form.is_valid() and individual_formset.is_valid():
        try:
            notes.save_group_note(
                session=session,
                author=request.user,
                individual=individual_formset.by_client(),
                **note_form.cleaned_data,
            )
        except ValidationError as error:
            add_refusals(note_form, error)
        else:
            messages.success(request, "The note is saved. Sign it when it is complete.")
            return redirect("therapist:note", pk=session.pk)
    return _note_page(request, session, note_form=note_form, individual_formset=individual_formset)


def _existing_note(session: Session) -> GroupNote:
    note = GroupNote.objects.filter(session=session).first()
    if note is None:
        raise Http404("This session has no progress note yet.")
    return note


@login_required
@require_POST
def note_sign(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.get_session_for_therapist(request.user, pk)
    note = _existing_note(session)
    form = SignNoteForm(request.POST)
    if form.is_valid():
        try:
            notes.sign_note(note=note, user=request.user, password=form.cleaned_data["password"], request=request)
        except ValidationError as error:
            add_refusals(form, error)
        else:
            messages.success(request, "The note is signed and locked.")
            return redirect("therapist:note", pk=session.pk)
    return _note_page(request, session, sign_form=form)


@login_required
@require_POST
def note_addendum(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.get_session_for_therapist(request.user, pk)
    note = _existing_note(session)
    form = AddendumForm(request.POST)
    if form.is_valid():
        try:
            notes.add_addendum(
                note=note,
                author=request.user,
                text=form.cleaned_data["text"],
                submission_key=form.cleaned_data["submission_key"],
            )
        except ValidationError as error:
            add_refusals(form, error)
        else:
            messages.success(request, "The addendum is added under the note.")
            return redirect("therapist:note", pk=session.pk)
    return _note_page(request, session, addendum_form=form)


@login_required
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = selectors.get_group_for_therapist(request.user, pk)
    sessions, rows = selectors.participation_balance(group)
    context = {
        "group": group,
        "sessions": sessions,
        "rows": rows,
        "dominant": [row for row in rows if row.likely_dominant],
        "reluctant": [row for row in rows if row.likely_reluctant],
    }
    record(Action.VIEW, target=group, clients=[row.client for row in rows], detail="group page")
    return render(request, "progress/group_detail.html", context)
