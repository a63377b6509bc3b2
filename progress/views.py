"""The therapist workspace. Every view gets its session or group from progress.selectors, which
answers 404 for anything the therapist does not lead, co-lead or substitute in.

Every page shown records one VIEW in the audit trail with the clients on it (a refused request,
404, records nothing); the note page reads the note through ``selectors.read_note``, which
records it."""

import datetime
from dataclasses import dataclass

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
from progress import attendance, charts, checkins, course, discharge, measures, notes, plans, safety, selectors
from progress.forms import (
    AddendumForm,
    AttendanceFormSet,
    DischargeSummaryForm,
    FollowUpForm,
    GoalForm,
    GoalStatusForm,
    GroupKindsForm,
    GroupNoteForm,
    IndividualNoteFormSet,
    ReviewForm,
    SignNoteForm,
    SignSummaryForm,
    StartPlanForm,
    TopicSwapForm,
)
from progress.models import NOTE_IS_LOCKED, Goal, GroupNote
from scheduling import services as scheduling_services
from scheduling import topics
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
    # The buttons name each group; led_group_ids reads its facilitators.
    groups = selectors.dashboard_groups(therapist, now=now)
    led = selectors.led_group_ids(therapist, groups)
    # The next ones, and the latest of the earlier ones (older unsigned notes are overdue above).
    shown = None if request.GET.get("week") == "all" else WEEK_SECTION_ON_DASHBOARD
    week = selectors.dashboard_week(therapist, today=today, now=now, group_ids=led, shown=shown)
    # One more than shown tells whether the page of all of them is worth a link.
    overdue = selectors.first_overdue_notes(therapist, now=now, group_ids=led, limit=OVERDUE_ON_DASHBOARD + 1)
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


@dataclass(frozen=True)
class NoteState:
    started: bool
    signed: bool


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.get_session_for_therapist(request.user, pk)
    note = _note_of_session(session)
    closed = attendance.attendance_closed_reasons(session, note_signed=note.signed)
    # A member's missing confidentiality agreement matters while attendance can be taken.
    roster = selectors.session_roster(session, agreements=not closed)
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
    return _session_page(request, session, roster=roster, note=note, formset=formset, closed=closed)


def _note_of_session(session: Session) -> NoteState:
    """Whether the session has a note and whether it is signed (its text is not read here). The
    session's row tells when it can: the note's signature is copied to it as the note is signed,
    and nothing (attendance or a note) is recorded for a meeting not yet met."""
    if session.note_signed_at is not None:
        return NoteState(started=True, signed=True)
    if session.first_recorded_at is None:
        return NoteState(started=False, signed=False)
    return NoteState(started=GroupNote.objects.filter(session=session).exists(), signed=False)


def _session_page(
    request: HttpRequest, session: Session, *, roster, note, formset, closed, topic_form=None, status: int = 200
) -> HttpResponse:
    context = {
        "session": session,
        "roster": roster,
        "formset": formset,
        "missing": formset.missing() if formset.is_bound else [],
        "closed_reasons": closed,
        "note": note,
        "can_mark_held": not held_refusals(session),
        # A substitute covers one meeting; the members' plans are their own therapists'.
        "plan_links": request.user.therapist.pk in (session.group.facilitator_id, session.group.co_facilitator_id),
        # A meeting still to come can take another topic for itself.
        "topic_form": None
        if scheduling_services.swap_refusals(session, session.objective)
        else topic_form or TopicSwapForm(initial={"objective": session.objective}),
    }
    record(Action.VIEW, target=session, clients=roster, detail="session page")
    return render(request, "progress/session_detail.html", context, status=status)


@login_required
@require_POST
def session_topic(request: HttpRequest, pk: int) -> HttpResponse:
    """Swap the topic of one meeting (its objective), or give it back the cycle's."""
    session = selectors.get_session_for_therapist(request.user, pk)
    if "restore" in request.POST:
        try:
            scheduling_services.restore_topic(session=session)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "This meeting has the cycle's topic again.")
        return redirect("therapist:session", pk=session.pk)
    form = TopicSwapForm(request.POST)
    if form.is_valid():
        try:
            scheduling_services.swap_topic(session=session, objective=form.cleaned_data["objective"])
        except ValidationError as error:
            add_refusals(form, error)
        else:
            messages.success(request, "This meeting's topic is changed; the cycle goes on.")
            return redirect("therapist:session", pk=session.pk)
    # Drawn again with the form's errors; nothing was saved.
    note = _note_of_session(session)
    closed = attendance.attendance_closed_reasons(session, note_signed=note.signed)
    roster = selectors.session_roster(session, agreements=not closed)
    formset = AttendanceFormSet(None, session=session, roster=roster)
    return _session_page(
        request, session, roster=roster, note=note, formset=formset, closed=closed, topic_form=form, status=400
    )


@login_required
@require_GET
def sign_in_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """The paper backup of attendance: one line per member expected at the meeting (the roster
    at its start), each with room to sign; printed by staff at the front desk or by the
    therapist. Clinic-internal paper: it names members in full, and says it is confidential."""
    session = selectors.get_session_for_sign_in_sheet(request.user, pk)
    roster = list(selectors.roster_for_session(session))
    facilitators = [session.facilitator]
    co_facilitator = session.group.co_facilitator
    if co_facilitator is not None and co_facilitator.pk != session.facilitator_id:
        facilitators.append(co_facilitator)
    record(Action.VIEW, target=session, clients=roster, detail="sign-in sheet")
    return render(
        request,
        "progress/sign_in_sheet.html",
        {"session": session, "roster": roster, "facilitators": facilitators},
    )


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
    # No attendance is taken here: the members' agreements are not asked.
    roster = selectors.session_roster(session, agreements=False)
    note = selectors.read_note(session, shown=roster, detail="note page")
    attending = [m for m in roster if m.attendance is not None and m.attendance.attended]
    if note is None or not note.is_signed:
        if note_form is None:
            initial = {"objective": session.objective}
            if note is not None:
                initial = {field: getattr(note, field) for field in notes.SHARED_FIELDS}
            note_form = GroupNoteForm(initial=initial, roster=roster)
        if individual_formset is None:
            written = {part.client_id: part for part in note.parts} if note else {}
            individual_formset = IndividualNoteFormSet(
                initial=[_birp_initial(member, written.get(member.pk)) for member in attending],
                attending=attending,
                roster=roster,
                goals=selectors.goals_for_note(attending, session, linked=_linked_goals(note)),
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
        # Each form where the page shows it: signing an unsigned note, an addendum under a signed one.
        "sign_form": sign_form or (SignNoteForm() if unsigned else None),
        "addendum_form": addendum_form or (AddendumForm() if note is not None and note.is_signed else None),
        "signing_refusals": notes.signing_refusals(note, roster=roster, parts=note.parts) if unsigned else [],
        "plan_links": request.user.therapist.pk in (session.group.facilitator_id, session.group.co_facilitator_id),
    }
    return render(request, "progress/note.html", context, status=status)


def _linked_goals(note: GroupNote | None) -> list[int]:
    """The goals the unsigned note's parts address, read with the note."""
    return [goal_id for part in note.parts for goal_id in part.goal_ids] if note is not None else []


def _birp_initial(member, written) -> dict:
    if written is not None:
        return {
            "client": member.pk,
            **{field: getattr(written, field) for field in notes.BIRP_FIELDS},
            "goals": written.goal_ids,
        }
    return {"client": member.pk, "behaviour": member.attendance.observation}


@login_required
def note(request: HttpRequest, pk: int) -> HttpResponse:
    session = selectors.get_session_for_therapist(request.user, pk)
    if request.method != "POST":
        return _note_page(request, session)
    if GroupNote.objects.filter(session=session, signed_at__isnull=False).exists():
        messages.error(request, NOTE_IS_LOCKED)
        return redirect("therapist:note", pk=session.pk)
    roster = selectors.session_roster(session, agreements=False)
    attending = [m for m in roster if m.attendance is not None and m.attendance.attended]
    note_form = GroupNoteForm(request.POST, roster=roster)
    goals = selectors.goals_for_note(attending, session)
    individual_formset = IndividualNoteFormSet(request.POST, attending=attending, roster=roster, goals=goals)
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
    cycle, coming = topics.coming_topics(group)
    context = {
        "group": group,
        "cycle": cycle,
        "coming": coming,
        "sessions": sessions,
        "rows": rows,
        "dominant": [row for row in rows if row.likely_dominant],
        "reluctant": [row for row in rows if row.likely_reluctant],
    }
    record(Action.VIEW, target=group, clients=[row.client for row in rows], detail="group page")
    return render(request, "progress/group_detail.html", context)


@login_required
def alert_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    """A safety alert and its follow-up form: who is the signed-in therapist, when defaults to
    now. Recording it closes the alert for all of the client's therapists."""
    alert = safety.get_alert_for_therapist(request.user, pk)
    if request.method == "POST" and alert.is_open:
        form = FollowUpForm(request.POST)
        if form.is_valid():
            try:
                safety.record_follow_up(alert=alert, by=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_refusals(form, error)
            else:
                messages.success(
                    request, f"The follow-up for {alert.client.display_name} is recorded; the alert is closed."
                )
                return redirect("therapist:dashboard")
    else:
        now = timezone.localtime().replace(second=0, microsecond=0)
        form = FollowUpForm(initial={"followed_up_at": now})
    record(Action.VIEW, target=alert, clients=[alert.client_id], detail="safety alert page")
    context = {"alert": alert, "form": form, "answer": dict(measures.ANSWERS).get(alert.response.item_9)}
    return render(request, "progress/alert_follow_up.html", context)


# --- Treatment plans ------------------------------------------------------------------------


def _plan_page(
    request: HttpRequest,
    client,
    *,
    start_form: StartPlanForm | None = None,
    goal_form: GoalForm | None = None,
    status_form: GoalStatusForm | None = None,
    review_form: ReviewForm | None = None,
    kinds_form: GroupKindsForm | None = None,
) -> HttpResponse:
    """The client's plan: goals with their status and history, reviews, and (for a therapist of
    the client's current groups) the forms to add a goal, change a status and record a review.
    A form sent with an error comes back in its place."""
    plan = selectors.plan_of(client)
    today = timezone.localdate()
    goals = list(plan.goals.all()) if plan is not None else []
    status_forms = {goal.pk: GoalStatusForm(goal=goal) for goal in goals}
    if status_form is not None:
        status_forms[status_form.goal.pk] = status_form
    context = {
        "client": client,
        "plan": plan,
        "goals": [(goal, status_forms[goal.pk]) for goal in goals],
        "reviews": list(plan.reviews.all()) if plan is not None else [],
        "can_write": selectors.may_write_plan(request.user, client),
        "review_due_on": selectors.review_due_on(plan) if plan is not None else None,
        "review_overdue": plan is not None and plan.last_reviewed_on < selectors.review_cutoff(today),
        "start_form": start_form or StartPlanForm(initial={"started_on": today}),
        "goal_form": goal_form or GoalForm(),
        "review_form": review_form or ReviewForm(initial={"reviewed_on": today}),
        "kinds_form": kinds_form
        or GroupKindsForm(initial={"kinds": plan.recommended_group_kinds if plan is not None else []}),
    }
    record(Action.VIEW, target=plan if plan is not None else client, clients=[client.pk], detail="treatment plan page")
    return render(request, "progress/plan.html", context)


@login_required
@require_GET
def client_plan(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.get_client_for_therapist(request.user, pk, history=True)
    return _plan_page(request, client)


def _submit(request: HttpRequest, form, write, *, done, then: str, pk: int) -> HttpResponse | None:
    """A posted form written through its service: ``write(cleaned_data)``. Written, the message
    ``done`` (or ``done(cleaned_data)``) and a redirect to the page ``then`` of ``pk``; refused,
    the service's reasons on the form's fields and None, for the page to be drawn again."""
    if not form.is_valid():
        return None
    try:
        write(form.cleaned_data)
    except ValidationError as error:
        add_refusals(form, error)
        return None
    messages.success(request, done(form.cleaned_data) if callable(done) else done)
    return redirect(then, pk=pk)


def _plan_of_current_client(request: HttpRequest, pk: int):
    """For the plan's writes: the client must be in a group the therapist leads now."""
    client = selectors.get_client_for_therapist(request.user, pk, history=False)
    return client, selectors.plan_of(client)


@login_required
@require_POST
def plan_start(request: HttpRequest, pk: int) -> HttpResponse:
    client, plan = _plan_of_current_client(request, pk)
    if plan is not None:
        messages.info(request, "This client already has a treatment plan; add goals or review it.")
        return redirect("therapist:plan", pk=client.pk)
    form = StartPlanForm(request.POST)
    written = _submit(
        request,
        form,
        lambda data: plans.start_plan(client=client, by=request.user, started_on=data["started_on"]),
        done="The treatment plan is started. Add its goals.",
        then="therapist:plan",
        pk=client.pk,
    )
    return written or _plan_page(request, client, start_form=form)


@login_required
@require_POST
def plan_group_kinds(request: HttpRequest, pk: int) -> HttpResponse:
    client, plan = _plan_of_current_client(request, pk)
    if plan is None:
        raise Http404("This client has no treatment plan yet.")
    form = GroupKindsForm(request.POST)
    written = _submit(
        request,
        form,
        lambda data: plans.set_recommended_group_kinds(plan=plan, by=request.user, kinds=data["kinds"]),
        done="The kinds of group the plan calls for are saved.",
        then="therapist:plan",
        pk=client.pk,
    )
    return written or _plan_page(request, client, kinds_form=form)


@login_required
@require_POST
def plan_goal_add(request: HttpRequest, pk: int) -> HttpResponse:
    client, plan = _plan_of_current_client(request, pk)
    if plan is None:
        raise Http404("This client has no treatment plan yet.")
    form = GoalForm(request.POST)
    written = _submit(
        request,
        form,
        lambda data: plans.add_goal(plan=plan, by=request.user, **data),
        done="The goal is added to the plan.",
        then="therapist:plan",
        pk=client.pk,
    )
    return written or _plan_page(request, client, goal_form=form)


@login_required
@require_POST
def plan_review(request: HttpRequest, pk: int) -> HttpResponse:
    client, plan = _plan_of_current_client(request, pk)
    if plan is None:
        raise Http404("This client has no treatment plan yet.")
    form = ReviewForm(request.POST)
    written = _submit(
        request,
        form,
        lambda data: plans.record_review(plan=plan, by=request.user, **data),
        done="The review is recorded.",
        then="therapist:plan",
        pk=client.pk,
    )
    return written or _plan_page(request, client, review_form=form)


@login_required
@require_POST
def goal_status(request: HttpRequest, pk: int) -> HttpResponse:
    goal = selectors.get_goal_for_therapist(request.user, pk, history=False)
    form = GoalStatusForm(request.POST, goal=goal)
    written = _submit(
        request,
        form,
        lambda data: plans.change_goal_status(goal=goal, by=request.user, **data),
        done=lambda data: f"The goal is now {Goal.Status(data['to_status']).label.lower()}.",
        then="therapist:plan",
        pk=goal.plan.client_id,
    )
    return written or _plan_page(request, goal.plan.client, status_form=form)


@login_required
def goal_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct an active goal's words, objectives or target date."""
    goal = selectors.get_goal_for_therapist(request.user, pk, history=request.method != "POST")
    if request.method == "POST":
        form = GoalForm(request.POST)
        written = _submit(
            request,
            form,
            lambda data: plans.edit_goal(
                goal=goal,
                by=request.user,
                problem=data["problem"],
                goal_text=data["goal"],
                objectives=data["objectives"],
                target_date=data["target_date"],
            ),
            done="The goal is changed.",
            then="therapist:plan",
            pk=goal.plan.client_id,
        )
        if written:
            return written
    else:
        form = GoalForm(
            initial={field: getattr(goal, field) for field in ("problem", "goal", "objectives", "target_date")}
        )
    record(Action.VIEW, target=goal, clients=[goal.plan.client_id], detail="treatment goal page")
    context = {
        "goal": goal,
        "client": goal.plan.client,
        "form": form,
        "can_write": goal.is_active and selectors.may_write_plan(request.user, goal.plan.client),
    }
    return render(request, "progress/goal_edit.html", context)


# --- A client's progress --------------------------------------------------------------------


def _day_or_none(value: str | None):
    """A day from the URL (?before=2026-05-04); a value that is not one is ignored."""
    try:
        return datetime.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
@require_GET
def client_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The client's course over their stay: hours per week against the minimum, participation,
    check-ins, PHQ-9 and GAD-7, goals, and the facilitators' observations (newest first, a page
    at a time). Their therapists, current or past, read it; anyone else gets 404."""
    client = selectors.get_client_for_therapist(request.user, pk, history=True)
    stay = course.gather(client)
    before = _day_or_none(request.GET.get("before"))
    observations, older_than = selectors.observations_of(client, before=before)
    asks_cravings = checkins.cravings_asked()
    context = {
        "client": client,
        "course": stay,
        "hours_chart": charts.weekly_hours([(w.monday, w.hours) for w in stay.weeks], minimum=stay.minimum_hours),
        "participation_chart": charts.participation(stay.participation_by_group),
        "check_in_chart": charts.check_ins(stay.check_in_series(cravings=asks_cravings)),
        "measures": [
            {
                "instrument": measures.instrument(code),
                "rows": stay.measures[code],
                "chart": charts.measure(code, stay.measure_series(code)),
                "change": stay.latest_change(code),
            }
            for code in measures.INSTRUMENTS
        ],
        "asks_cravings": asks_cravings,
        "observations": observations,
        "older_than": older_than,
        "before": before,
    }
    record(
        Action.VIEW,
        target=client,
        clients=[client.pk],
        detail=(
            f"progress page: {len(stay.weeks)} weeks of attendance, {len(stay.check_ins)} check-ins, "
            f"{sum(len(rows) for rows in stay.measures.values())} questionnaires, {len(stay.goals)} goals, "
            f"{len(observations)} observations" + (f" before {before:%Y-%m-%d}" if before else "")
        ),
    )
    return render(request, "progress/client_progress.html", context)


# --- Discharge summary ------------------------------------------------------------------------


def _discharge_page(request, client, *, form=None, sign_form=None, status=200) -> HttpResponse:
    summary = discharge.summary_of(client)
    may_write = discharge.may_write_summary(request.user, client)
    facts = discharge.facts_of(summary, client) if client.discharge_date is not None else None
    if form is None and summary is not None:
        form = DischargeSummaryForm(
            initial={"narrative": summary.narrative, "recommendations": summary.recommendations}
        )
    context = {
        "client": client,
        "summary": summary,
        "facts": facts,
        "may_write": may_write and (summary is None or not summary.is_signed),
        "form": form or DischargeSummaryForm(),
        "sign_form": sign_form or SignSummaryForm(),
    }
    record(
        Action.VIEW,
        target=summary if summary is not None else client,
        clients=[client.pk],
        detail="discharge summary" + (" (signed)" if summary is not None and summary.is_signed else ""),
    )
    return render(request, "progress/discharge.html", context, status=status)


@login_required
def discharge_summary(request: HttpRequest, pk: int) -> HttpResponse:
    """The summary of the client's discharge: its therapists, current or past, read it; those of
    the groups the client was in at discharge write the draft and sign it. 404 for anyone else."""
    client = selectors.get_client_for_therapist(request.user, pk, history=True)
    if request.method != "POST":
        return _discharge_page(request, client)
    form = DischargeSummaryForm(request.POST)
    written = _submit(
        request,
        form,
        lambda data: discharge.save_summary(
            client=client, author=request.user, narrative=data["narrative"], recommendations=data["recommendations"]
        ),
        done="The draft summary is saved.",
        then="therapist:discharge",
        pk=client.pk,
    )
    return written or _discharge_page(request, client, form=form)


@login_required
@require_POST
def discharge_sign(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.get_client_for_therapist(request.user, pk, history=True)
    summary = discharge.summary_of(client)
    if summary is None:
        raise Http404("No discharge summary has been started.")
    form = SignSummaryForm(request.POST)
    written = _submit(
        request,
        form,
        lambda data: discharge.sign_summary(
            summary=summary, user=request.user, password=data["password"], request=request
        ),
        done="The discharge summary is signed and locked.",
        then="therapist:discharge",
        pk=client.pk,
    )
    return written or _discharge_page(request, client, sign_form=form)
