import uuid

from django import forms
from django.forms.utils import flatatt
from django.utils.functional import cached_property
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import format_lazy
from django.utils.translation import gettext, gettext_lazy

from clients.models import Client
from groups.models import Therapist, TherapyGroup
from iop.dates import validate_clinic_date
from iop.forms import DrawnField, FixedChoices, add_refusals, management_inputs
from iop.html import escaped
from progress import measures, reports
from progress.attendance import AttendanceEntry, attendance_refusals, session_mode
from progress.models import Attendance, Goal, SafetyAlert
from progress.notes import BIRP_FIELDS, individual_text_refusals, shared_text_refusals
from scheduling.models import Session

NOT_CHOSEN = [("", "— choose —")]


class AttendanceForm(forms.Form):
    """One roster member's row, empty until the therapist chooses. The member is fixed by the
    roster, not by what is posted; what a row needs is ``attendance_refusals``."""

    bound_field_class = DrawnField  # one form per member: see DrawnField

    client = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(choices=FixedChoices(NOT_CHOSEN + Attendance.Status.choices), required=False)
    minutes_attended = forms.IntegerField(label="Minutes", min_value=0, required=False)
    mode = forms.ChoiceField(label="Attended", choices=FixedChoices(Attendance.Mode.choices))
    participation = forms.TypedChoiceField(
        coerce=int,
        choices=FixedChoices(NOT_CHOSEN + Attendance.Participation.choices),
        required=False,
        empty_value=None,
    )
    observation = forms.CharField(
        label="Observation",
        required=False,
        # One line that grows as the therapist writes (static/css/progress.css), so twelve rows fit a screen.
        widget=forms.Textarea(attrs={"rows": 1, "placeholder": "What you noticed (optional)"}),
    )

    def __init__(self, *args, session: Session, member: Client, **kwargs):
        self.session = session
        self.member = member
        super().__init__(*args, **kwargs)
        self.fields["minutes_attended"].max_value = session.duration_minutes
        self.fields["minutes_attended"].widget.attrs.update({"max": session.duration_minutes, "inputmode": "numeric"})
        self.fields["minutes_attended"].help_text = f"0–{session.duration_minutes}"

    @classmethod
    def initial_for(cls, *, session: Session, member: Client) -> dict:
        """The recorded row, or an empty one: nothing is chosen for the therapist."""
        attendance = getattr(member, "attendance", None)
        if attendance is not None:
            return {
                "client": member.pk,
                "status": attendance.status,
                "minutes_attended": attendance.minutes_attended,
                "mode": attendance.mode,
                "participation": attendance.participation,
                "observation": attendance.observation,
            }
        return {"client": member.pk, "mode": session_mode(session)}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("client") != self.member.pk:
            raise forms.ValidationError("The roster changed while you were editing; reload the page.")
        if self.errors:
            return cleaned
        add_refusals(
            self,
            attendance_refusals(
                session=self.session, entry=self.entry(), agreement_in_force=self.member.agreement_in_force
            ),
        )
        return cleaned

    def entry(self) -> AttendanceEntry:
        data = self.cleaned_data
        return AttendanceEntry(
            client=self.member,
            status=data.get("status") or "",
            minutes_attended=data.get("minutes_attended"),
            mode=data["mode"],
            participation=data.get("participation"),
            observation=data.get("observation", ""),
        )

    def posted(self) -> dict:
        """The row as typed, for showing it again."""
        return {name: self[name].value() for name in self.fields}

    def marked_present(self) -> dict:
        """The row as typed; if its status is still unchosen, present for the whole session
        where the member may be marked present. Participation stays the therapist's to choose."""
        row = self.posted()
        if row.get("status"):
            return row
        present = AttendanceEntry(
            client=self.member, status=Attendance.Status.PRESENT, minutes_attended=self.session.duration_minutes
        )
        refusals = attendance_refusals(
            session=self.session, entry=present, agreement_in_force=self.member.agreement_in_force
        )
        if "status" not in refusals:
            row.update(status=present.status, minutes_attended=present.minutes_attended)
        return row

    def roster_cells(self) -> str:
        """The row's visible fields, each a cell of the roster: its label, the small control, its
        help text for a screen reader and its errors, drawn in Python. Through the template, a
        group of twelve was some three hundred lookups and tags for these cells alone."""
        return SafeString("\n".join([_roster_cell(field) for field in self.visible_fields()]))


def _roster_cell(field: DrawnField) -> str:
    field_id = escaped(field.auto_id)
    help_text = (
        f'<div id="{field_id}_helptext" class="visually-hidden">{escaped(field.help_text)} minutes</div>'
        if field.help_text
        else ""
    )
    errors = field.drawn_errors
    errors = (
        f'<div id="{field_id}_error" class="invalid-feedback">{" ".join([escaped(e) for e in errors])}</div>'
        if errors
        else ""
    )
    return (
        f'<div class="roster-cell roster-{escaped(field.name)}">\n'
        f'<label class="roster-label" for="{field_id}">{escaped(field.label)}</label>\n'
        f"{field.small_control}\n{help_text}\n{errors}\n</div>"
    )


class OnePerMemberFormSet(forms.BaseFormSet):
    """One form per member in ``members``, in that order; the list decides how many."""

    members: list[Client]

    @cached_property
    def management_inputs(self) -> str:
        return management_inputs(self)

    def total_form_count(self) -> int:
        return len(self.members)

    def initial_form_count(self) -> int:
        # Every row is a member that must be validated, never an optional extra.
        return len(self.members)


class BaseRosterFormSet(OnePerMemberFormSet):
    """One attendance row per roster member."""

    def __init__(self, *args, session: Session, roster: list[Client], **kwargs):
        self.session = session
        self.roster = self.members = roster
        if "initial" not in kwargs:
            kwargs["initial"] = [AttendanceForm.initial_for(session=session, member=m) for m in roster]
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"session": self.session, "member": self.roster[index]}

    def clean(self):
        if self.is_bound and self.management_form.is_valid():
            posted = self.management_form.cleaned_data["TOTAL_FORMS"]
            if posted != len(self.roster):
                raise forms.ValidationError("The roster changed while you were editing; reload the page.")

    def entries(self) -> list[AttendanceEntry]:
        return [form.entry() for form in self.forms]

    def everyone_present(self) -> list[dict]:
        """Initial rows for "Mark everyone present": what was posted, each unchosen row present."""
        return [form.marked_present() for form in self.forms]

    def missing(self) -> list[tuple[str, list[str]]]:
        """Each member whose row cannot be saved, with the parts to choose or correct."""
        return [
            (form.member.display_name, [form[name].label.lower() for name in form.errors if name in form.fields])
            for form in self.forms
            if form.errors
        ]


AttendanceFormSet = forms.formset_factory(AttendanceForm, formset=BaseRosterFormSet, extra=0)


class TopicSwapForm(forms.Form):
    """Another topic for one meeting; the group's cycle goes on around it."""

    objective = forms.CharField(
        label="This meeting's topic", max_length=300, help_text="Only this meeting changes; the cycle goes on."
    )


class GroupNoteForm(forms.Form):
    """The shared part of the note: about the group, naming no member."""

    bound_field_class = DrawnField

    topic = forms.CharField(max_length=200)
    objective = forms.CharField(max_length=300)
    interventions = forms.CharField(
        label="Interventions used", widget=forms.Textarea(attrs={"rows": 3}), help_text="No member's name."
    )
    group_dynamics = forms.CharField(
        label="Group dynamics", widget=forms.Textarea(attrs={"rows": 3}), help_text="No member's name."
    )

    def __init__(self, *args, roster: list[Client], **kwargs):
        self.roster = roster
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        for field_name, messages in shared_text_refusals(cleaned, self.roster).items():
            for message in messages:
                self.add_error(field_name, message)
        return cleaned


class IndividualNoteForm(forms.Form):
    """One attending member's BIRP note; other members by initials only."""

    bound_field_class = DrawnField  # one form per member: see DrawnField

    client = forms.IntegerField(widget=forms.HiddenInput)
    behaviour = forms.CharField(label="Behaviour", widget=forms.Textarea(attrs={"rows": 2}))
    intervention = forms.CharField(label="Intervention", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    response = forms.CharField(label="Response", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    plan = forms.CharField(label="Plan", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # The golden thread: the goals of the member's treatment plan this part addressed. Drawn as
    # a fieldset of checkboxes by the note's template.
    goals = forms.TypedMultipleChoiceField(
        label="Goals addressed", coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, member: Client, roster: list[Client], goals: list[Goal] = (), **kwargs):
        self.member = member
        self.roster = roster
        super().__init__(*args, **kwargs)
        self.goal_options = list(goals)
        self.fields["goals"].choices = [(goal.pk, goal.short) for goal in self.goal_options]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("client") != self.member.pk:
            raise forms.ValidationError("The attendance changed while you were editing; reload the page.")
        refusals = individual_text_refusals(cleaned, client=self.member, roster=self.roster)
        for field_name, messages in refusals.items():
            for message in messages:
                self.add_error(field_name, message)
        return cleaned

    def birp(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in BIRP_FIELDS}

    def goal_boxes(self) -> list[tuple[str, Goal, bool]]:
        """Each goal offered, with its checkbox's id and whether it is ticked."""
        ticked = {str(value) for value in (self["goals"].value() or [])}
        return [
            (f"{self.auto_id % self.add_prefix('goals')}_{index}", goal, str(goal.pk) in ticked)
            for index, goal in enumerate(self.goal_options)
        ]


class BaseIndividualNoteFormSet(OnePerMemberFormSet):
    """One BIRP note per attending member."""

    def __init__(
        self, *args, attending: list[Client], roster: list[Client], goals: dict[int, list[Goal]] | None = None, **kwargs
    ):
        self.attending = self.members = attending
        self.roster = roster
        self.goals = goals or {}
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        member = self.attending[index]
        return {"member": member, "roster": self.roster, "goals": self.goals.get(member.pk, [])}

    def clean(self):
        if (
            self.is_bound
            and self.management_form.is_valid()
            and self.management_form.cleaned_data["TOTAL_FORMS"] != len(self.attending)
        ):
            raise forms.ValidationError("The attendance changed while you were editing; reload the page.")

    def by_client(self) -> dict[int, dict]:
        return {form.member.pk: {**form.birp(), "goals": form.cleaned_data.get("goals", [])} for form in self.forms}


IndividualNoteFormSet = forms.formset_factory(IndividualNoteForm, formset=BaseIndividualNoteFormSet, extra=0)


class SignNoteForm(forms.Form):
    bound_field_class = DrawnField

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Signing locks the note. Later corrections are addenda.",
    )


class AddendumForm(forms.Form):
    bound_field_class = DrawnField

    # A new id each time the form is shown; a double click sends the same one twice.
    submission_key = forms.UUIDField(widget=forms.HiddenInput, initial=uuid.uuid4, required=False)
    text = forms.CharField(
        label="Addendum",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A correction or late entry; the signed note itself does not change.",
    )


# --- The client's portal: check-ins and questionnaires ----------------------------------------


def _scale(label: str, low_words: str, high_words: str) -> forms.TypedChoiceField:
    """A 0 to 10 scale, a radio button each, with words at each end (in the client's language)."""
    return forms.TypedChoiceField(
        label=label,
        coerce=int,
        choices=[
            (0, format_lazy("0 — {}", low_words)),
            *((value, str(value)) for value in range(1, 10)),
            (10, format_lazy("10 — {}", high_words)),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": gettext_lazy("Choose a number from 0 to 10.")},
    )


class CheckInForm(forms.Form):
    """The weekly check-in: three scales of 0 to 10 with words at each end, and free text."""

    mood = _scale(
        gettext_lazy("How has your mood been this week?"), gettext_lazy("very low"), gettext_lazy("very good")
    )
    coping = _scale(
        gettext_lazy("How well have you been coping this week?"),
        gettext_lazy("not coping at all"),
        gettext_lazy("coping very well"),
    )
    cravings = _scale(
        gettext_lazy("How strong have cravings or urges been this week?"),
        gettext_lazy("none"),
        gettext_lazy("very strong"),
    )
    what_helped = forms.CharField(
        label=gettext_lazy("What helped this week?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Optional. Your therapists read it."),
    )

    def __init__(self, *args, ask_cravings: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not ask_cravings:
            del self.fields["cravings"]

    def scales(self):
        return [self[name] for name in ("mood", "coping", "cravings") if name in self.fields]


class MeasureForm(forms.Form):
    """A PHQ-9 or GAD-7 as published: every item one of four answers, the difficulty question
    answered or not (it is not scored)."""

    def __init__(self, *args, instrument: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.instrument = measures.instrument(instrument)
        for number, text in enumerate(self.instrument.items, start=1):
            self.fields[f"item_{number}"] = forms.TypedChoiceField(
                label=f"{number}. {text}",
                coerce=int,
                choices=measures.ANSWERS,
                widget=forms.RadioSelect,
                error_messages={"required": gettext("Choose one answer for this question.")},
            )
        self.fields["difficulty"] = forms.TypedChoiceField(
            label=measures.DIFFICULTY_QUESTION,
            coerce=int,
            choices=measures.DIFFICULTY_ANSWERS,
            widget=forms.RadioSelect,
            required=False,
            empty_value=None,
        )

    def items(self):
        return [self[f"item_{number}"] for number in range(1, self.instrument.item_count + 1)]

    def answers(self) -> dict[str, int]:
        return {f"item_{n}": self.cleaned_data[f"item_{n}"] for n in range(1, self.instrument.item_count + 1)}


class FollowUpForm(forms.Form):
    """The follow-up of a safety alert: when, how the client was contacted, and the outcome.
    Who is the signed-in therapist."""

    followed_up_at = forms.DateTimeField(
        label="When",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    contacted_by = forms.ChoiceField(
        label="How the client was contacted", choices=NOT_CHOSEN + list(SafetyAlert.Contact.choices)
    )
    outcome = forms.CharField(
        label="Outcome",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What was assessed and decided (e.g. safety plan reviewed, risk level, next contact).",
    )


# --- Treatment plans ------------------------------------------------------------------------

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class StartPlanForm(forms.Form):
    bound_field_class = DrawnField

    started_on = forms.DateField(label="Plan starts on", widget=DATE_INPUT)


class GroupKindsForm(forms.Form):
    bound_field_class = DrawnField

    kinds = forms.MultipleChoiceField(
        label="Kinds of group the plan calls for",
        choices=TherapyGroup.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Staff's group finder ranks groups of these kinds first.",
    )


class GoalForm(forms.Form):
    """A goal of the plan: the problem as the client puts it, the goal, measurable objectives."""

    bound_field_class = DrawnField

    problem = forms.CharField(
        label="Problem, in the client's words",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text='As the client says it, e.g. "I drink when I can\'t sleep."',
    )
    goal = forms.CharField(label="Goal", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    objectives = forms.CharField(
        label="Measurable objectives",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='One a line, each something you can count or see, e.g. "Uses a coping skill 4 of 7 evenings."',
    )
    target_date = forms.DateField(label="Target date", widget=DATE_INPUT)


class GoalStatusForm(forms.Form):
    """A goal's new status and why; one per goal on the plan page, each with its own ids."""

    bound_field_class = DrawnField

    to_status = forms.ChoiceField(label="New status", choices=NOT_CHOSEN + Goal.Status.choices)
    note = forms.CharField(
        label="Why",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What was achieved, or what changed.",
    )

    def __init__(self, *args, goal: Goal, **kwargs):
        self.goal = goal
        kwargs.setdefault("auto_id", f"id_goal{goal.pk}_%s")
        super().__init__(*args, **kwargs)
        self.fields["to_status"].choices = NOT_CHOSEN + [
            choice for choice in Goal.Status.choices if choice[0] != goal.status
        ]


class ReviewForm(forms.Form):
    bound_field_class = DrawnField

    reviewed_on = forms.DateField(label="Reviewed on", widget=DATE_INPUT)
    summary = forms.CharField(
        label="Review",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Progress on each goal, what the client says, and what changes in the plan.",
    )


class DischargeSummaryForm(forms.Form):
    bound_field_class = DrawnField

    narrative = forms.CharField(
        label="Narrative of the stay",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="The course of treatment: presenting problems, progress, participation, the reason for discharge.",
    )
    recommendations = forms.CharField(
        label="Recommendations",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Aftercare, referrals, follow-up appointments and the crisis plan.",
    )


class SignSummaryForm(forms.Form):
    bound_field_class = DrawnField

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text="Signing locks the summary and freezes the facts of the stay as they are now.",
    )


# --- Reports --------------------------------------------------------------------------------


class ListSelect(forms.Select):
    """A select of many options (the reports' 800 groups) written out in one pass: the same HTML
    as Django's template for a select, which renders a template per option (40 ms a page).
    Each value and label is escaped."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = []
        for group_name, choices, _ in widget["optgroups"]:
            lines = [
                f'\n  <option value="{escape(option["value"])}"{flatatt(option["attrs"]) if option["attrs"] else ""}>'
                f"{escape(option['label'])}</option>"
                for option in choices
            ]
            if group_name:
                lines = [format_html('\n  <optgroup label="{}">', group_name), *lines, mark_safe("\n  </optgroup>")]
            options.extend(lines)
        return format_html(
            '<select name="{}"{}>{}\n</select>', widget["name"], flatatt(widget["attrs"]), mark_safe("".join(options))
        )


class ReportFilterForm(forms.Form):
    """A report's period and what it is narrowed to; read from the page's address (GET)."""

    start = forms.DateField(label="From", widget=DATE_INPUT, validators=[validate_clinic_date])
    end = forms.DateField(label="To (included)", widget=DATE_INPUT, validators=[validate_clinic_date])
    group = forms.ModelChoiceField(
        queryset=TherapyGroup.objects.only("pk", "name").order_by("name", "pk"),
        required=False,
        empty_label="All groups",
        widget=ListSelect,
    )
    therapist = forms.ModelChoiceField(
        queryset=Therapist.objects.order_by("user__last_name", "user__first_name", "pk"),
        required=False,
        empty_label="All therapists",
        widget=ListSelect,
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end"):
            add_refusals(self, reports.period_refusals(cleaned["start"], cleaned["end"]))
        return cleaned

    @property
    def period(self) -> "reports.Period":
        return reports.Period(self.cleaned_data["start"], self.cleaned_data["end"])

    def filters(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in ("group", "therapist")}
