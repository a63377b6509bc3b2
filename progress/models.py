from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from clients.models import Client
from groups.models import TherapyGroup
from scheduling.models import Session


class Attendance(models.Model):
    """One member at one session: whether they came, for how long, and how they took part."""

    class Status(models.TextChoices):
        PRESENT = "present", "Present"
        LATE = "late", "Late"
        LEFT_EARLY = "left_early", "Left early"
        ABSENT = "absent", "Absent"
        EXCUSED = "excused", "Excused"

    class Mode(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        VIRTUAL = "virtual", "Virtual"

    class Participation(models.IntegerChoices):
        NONE = 0, "0 — Did not take part"
        WHEN_INVITED = 1, "1 — Spoke only when invited"
        TOOK_PART = 2, "2 — Took part"
        ACTIVE = 3, "3 — Took an active part"
        DOMINATED = 4, "4 — Dominated the discussion"

    # A member counts as attending, and gets an individualized note, with one of these.
    ATTENDED = (Status.PRESENT, Status.LATE, Status.LEFT_EARLY)

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="attendances")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="attendances")
    status = models.CharField(max_length=10, choices=Status.choices)
    minutes_attended = models.PositiveSmallIntegerField()
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.IN_PERSON)
    participation = models.PositiveSmallIntegerField(choices=Participation.choices, default=Participation.NONE)
    observation = models.TextField(blank=True, help_text="The facilitator's observation of this member.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["session__starts_at", "client__legal_last_name", "client__legal_first_name"]
        # The clinic's reports (progress.reports) are counts over attendance and the stays around it.
        permissions = [("view_reports", "Can view the clinic's reports")]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "client"],
                name="progress_attendance_one_per_session_client",
                violation_error_message="This member's attendance at this session is already recorded.",
            ),
            models.CheckConstraint(
                name="progress_attendance_participation_0_to_4",
                condition=Q(participation__gte=0, participation__lte=4),
                violation_error_message="Participation is a level from 0 to 4.",
            ),
            models.CheckConstraint(
                name="progress_attendance_status_known",
                condition=Q(status__in=["present", "late", "left_early", "absent", "excused"]),
                violation_error_message="Unknown attendance status.",
            ),
            models.CheckConstraint(
                name="progress_attendance_absent_has_no_minutes",
                condition=Q(status__in=["present", "late", "left_early"]) | Q(minutes_attended=0),
                violation_error_message="An absent or excused member attended 0 minutes.",
            ),
        ]
        # The admin's status filter ("absent" is a tenth of a million rows): counted and read in
        # meeting order from the index instead of from the whole table.
        indexes = [models.Index(fields=["status", "session"], name="progress_attendance_status")]

    def __str__(self) -> str:
        return f"{self.client.display_name} at {self.session}: {self.get_status_display().lower()}"

    @property
    def attended(self) -> bool:
        return self.status in self.ATTENDED


# The permission that shows note text (and the facilitator's observations) in the admin.
READ_NOTE_TEXT = "progress.read_note_text"

NOTE_IS_LOCKED = "This progress note is signed and locked; add an addendum instead."


class SignedNoteLocked(Exception):
    """A write was attempted on a signed progress note; corrections are addenda."""

    def __init__(self, message: str = NOTE_IS_LOCKED):
        super().__init__(message)


class LockedNoteQuerySet(models.QuerySet):
    """Bulk writes that would touch a signed note are refused, like single-row ones.

    ``signed_lookup`` names the path from the row to its group note's ``signed_at``.
    """

    signed_lookup = "signed_at"
    locked_message = NOTE_IS_LOCKED

    def _touches_signed(self) -> bool:
        return self.filter(**{f"{self.signed_lookup}__isnull": False}).exists()

    def update(self, **kwargs):
        if self._touches_signed():
            raise SignedNoteLocked(self.locked_message)
        return super().update(**kwargs)

    def delete(self):
        if self._touches_signed():
            raise SignedNoteLocked(self.locked_message)
        return super().delete()


class LockedOnceSigned(models.Model):
    """A note part that refuses ``save()`` and ``delete()`` once its note is signed in the
    database; each subclass says, in ``_signed_in_database``, which stored signature locks it."""

    locked_message = NOTE_IS_LOCKED

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._signed_in_database():
            raise SignedNoteLocked(self.locked_message)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._signed_in_database():
            raise SignedNoteLocked(self.locked_message)
        return super().delete(*args, **kwargs)

    def _signed_in_database(self) -> bool:
        return False


class GroupNoteQuerySet(LockedNoteQuerySet):
    signed_lookup = "signed_at"

    def signed(self):
        return self.filter(signed_at__isnull=False)

    def unsigned(self):
        return self.filter(signed_at__isnull=True)


class GroupNote(LockedOnceSigned):
    """The progress note of one session: a shared part that names no member, signed by a leader.

    The regulation behind the lock: a signed clinical record is never changed, only amended.
    The model and its QuerySet refuse every write to a signed note (see ``progress.notes``
    for the rules of writing and signing)."""

    session = models.OneToOneField(Session, on_delete=models.PROTECT, related_name="group_note")
    topic = models.CharField(max_length=200)
    objective = models.CharField(max_length=300, help_text="The session's stated goal.")
    interventions = models.TextField(help_text="Interventions used, e.g. psychoeducation, role-play, CBT skills.")
    group_dynamics = models.TextField(help_text="How the group worked together; no member is named.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="signed_group_notes"
    )
    signed_at = models.DateTimeField(null=True, blank=True)

    objects = GroupNoteQuerySet.as_manager()

    class Meta:
        ordering = ["-session__starts_at"]
        # Minimum necessary (42 CFR Part 2): the front desk sees that a note exists, who signed it
        # and when; only holders of this (the "Clinical supervisor" group) read its text.
        permissions = [("read_note_text", "Can read the text of progress notes and observations")]
        constraints = [
            models.CheckConstraint(
                name="progress_groupnote_signature_complete",
                condition=Q(signed_by__isnull=True, signed_at__isnull=True)
                | Q(signed_by__isnull=False, signed_at__isnull=False),
                violation_error_message="A signature needs both the signer and the time.",
            ),
        ]

    def __str__(self) -> str:
        return f"Progress note — {self.session}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def _signed_in_database(self) -> bool:
        # The stored row decides, not this instance: a copy loaded before signing must not
        # overwrite the signed note.
        return self.pk is not None and GroupNote.objects.filter(pk=self.pk, signed_at__isnull=False).exists()


class IndividualNoteQuerySet(LockedNoteQuerySet):
    signed_lookup = "group_note__signed_at"


class IndividualNote(LockedOnceSigned):
    """One attending member's part of a group note, in BIRP form. Locked with its group note.

    ``goals`` are the goals of the member's treatment plan this part addressed (the golden
    thread from plan to note); ``progress.notes.save_group_note`` takes only the member's own."""

    group_note = models.ForeignKey(GroupNote, on_delete=models.CASCADE, related_name="individual_notes")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="individual_notes")
    behaviour = models.TextField(help_text="What the member said and did.")
    intervention = models.TextField(blank=True, help_text="What the facilitator did for this member.")
    response = models.TextField(blank=True, help_text="How the member responded.")
    plan = models.TextField(blank=True, help_text="Next steps for this member.")
    goals = models.ManyToManyField(
        "progress.Goal", through="progress.NoteGoal", related_name="individual_notes", blank=True
    )

    objects = IndividualNoteQuerySet.as_manager()

    class Meta:
        ordering = ["client__legal_last_name", "client__legal_first_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["group_note", "client"],
                name="progress_individualnote_one_per_note_client",
                violation_error_message="This member already has an individualized note in this progress note.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client.display_name} — {self.group_note}"

    def _signed_in_database(self) -> bool:
        return GroupNote.objects.filter(pk=self.group_note_id, signed_at__isnull=False).exists()


class Addendum(models.Model):
    """A correction or late entry to a signed note: who, when, what. Never edited."""

    group_note = models.ForeignKey(GroupNote, on_delete=models.PROTECT, related_name="addenda")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()
    # The addendum form's own id: the same form sent twice (a double click, a resend) adds once.
    submission_key = models.UUIDField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "addenda"
        constraints = [
            models.UniqueConstraint(
                fields=["group_note", "submission_key"],
                name="progress_addendum_one_per_submission",
                violation_error_message="This addendum was already added.",
            ),
            models.CheckConstraint(
                name="progress_addendum_has_text",
                condition=~Q(text=""),
                violation_error_message="An addendum needs its text.",
            ),
        ]

    def __str__(self) -> str:
        return f"Addendum to {self.group_note} by {self.author}"


# --- Check-ins, questionnaires and safety alerts ---------------------------------------------


def _scale(field: str, *, low: int = 0, high: int = 10) -> Q:
    return Q(**{f"{field}__gte": low, f"{field}__lte": high})


class CheckIn(models.Model):
    """The client's own weekly check-in: how their mood, coping and cravings were, 0 to 10, and
    what helped. One a week (the Monday names the week); the client may change it that week."""

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="check_ins")
    week = models.DateField(help_text="The Monday of the week checked in for.")
    mood = models.PositiveSmallIntegerField(help_text="0 = very low, 10 = very good.")
    coping = models.PositiveSmallIntegerField(help_text="0 = not coping at all, 10 = coping very well.")
    # Empty when the program asks no question about cravings (IOP_CHECK_IN_CRAVINGS).
    cravings = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 = none, 10 = very strong.")
    what_helped = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["client", "week"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "week"],
                name="progress_checkin_one_per_client_week",
                violation_error_message="This client has already checked in this week.",
            ),
            models.CheckConstraint(
                name="progress_checkin_mood_0_to_10",
                condition=_scale("mood"),
                violation_error_message="Mood is a number from 0 to 10.",
            ),
            models.CheckConstraint(
                name="progress_checkin_coping_0_to_10",
                condition=_scale("coping"),
                violation_error_message="Coping is a number from 0 to 10.",
            ),
            models.CheckConstraint(
                name="progress_checkin_cravings_0_to_10",
                condition=Q(cravings__isnull=True) | _scale("cravings"),
                violation_error_message="Cravings is a number from 0 to 10.",
            ),
        ]

    def __str__(self) -> str:
        return f"Check-in of {self.client.display_name}, week of {self.week:%Y-%m-%d}"


ITEM_FIELDS = tuple(f"item_{number}" for number in range(1, 10))


def _items_set(numbers, *, isnull: bool) -> Q:
    return Q(**{f"item_{number}__isnull": isnull for number in numbers})


class MeasureResponse(models.Model):
    """One PHQ-9 or GAD-7, as the client answered it in the portal or on paper (entered by
    staff). Items and scoring as published (``progress.measures``); the database holds every
    item to 0-3 and the total to their sum."""

    class Instrument(models.TextChoices):
        PHQ9 = "phq9", "PHQ-9"
        GAD7 = "gad7", "GAD-7"

    class Occasion(models.TextChoices):
        ADMISSION = "admission", _("Admission")
        FOLLOW_UP = "follow_up", _("Follow-up")
        DISCHARGE = "discharge", _("Discharge")

    class Source(models.TextChoices):
        PORTAL = "portal", "Portal (the client)"
        PAPER = "paper", "Paper form (entered by staff)"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="measure_responses")
    instrument = models.CharField(max_length=4, choices=Instrument.choices)
    occasion = models.CharField(max_length=10, choices=Occasion.choices)
    taken_on = models.DateTimeField(help_text="When the client answered.")
    source = models.CharField(max_length=6, choices=Source.choices)
    # Empty for the client's own answers in the portal.
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    item_1 = models.PositiveSmallIntegerField()
    item_2 = models.PositiveSmallIntegerField()
    item_3 = models.PositiveSmallIntegerField()
    item_4 = models.PositiveSmallIntegerField()
    item_5 = models.PositiveSmallIntegerField()
    item_6 = models.PositiveSmallIntegerField()
    item_7 = models.PositiveSmallIntegerField()
    item_8 = models.PositiveSmallIntegerField(null=True, blank=True)
    item_9 = models.PositiveSmallIntegerField(null=True, blank=True)
    # The published last question (how difficult the problems made life), not part of the score.
    difficulty = models.PositiveSmallIntegerField(null=True, blank=True)
    total = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "instrument", "taken_on"]
        indexes = [
            models.Index(fields=["client", "instrument", "taken_on"], name="progress_measure_client_taken"),
        ]
        constraints = [
            models.CheckConstraint(
                name="progress_measure_instrument_known",
                condition=Q(instrument__in=["phq9", "gad7"]),
                violation_error_message="Unknown questionnaire.",
            ),
            models.CheckConstraint(
                name="progress_measure_occasion_known",
                condition=Q(occasion__in=["admission", "follow_up", "discharge"]),
                violation_error_message="Unknown occasion.",
            ),
            models.CheckConstraint(
                name="progress_measure_source_known",
                condition=Q(source__in=["portal", "paper"]),
                violation_error_message="Unknown source.",
            ),
            *[
                models.CheckConstraint(
                    name=f"progress_measure_{field}_0_to_3",
                    condition=Q(**{f"{field}__isnull": True}) | _scale(field, high=3),
                    violation_error_message="Every answer is 0 to 3.",
                )
                for field in ITEM_FIELDS
            ],
            models.CheckConstraint(
                name="progress_measure_difficulty_0_to_3",
                condition=Q(difficulty__isnull=True) | _scale("difficulty", high=3),
                violation_error_message="The difficulty answer is 0 to 3.",
            ),
            models.CheckConstraint(
                name="progress_measure_items_of_instrument",
                condition=(Q(instrument="phq9") & _items_set(range(1, 10), isnull=False))
                | (Q(instrument="gad7") & _items_set(range(1, 8), isnull=False) & _items_set((8, 9), isnull=True)),
                violation_error_message="A PHQ-9 answers items 1 to 9; a GAD-7 items 1 to 7 and no others.",
            ),
            models.CheckConstraint(
                name="progress_measure_total_is_sum",
                condition=Q(total=sum((Coalesce(F(field), 0) for field in ITEM_FIELDS[1:]), Coalesce(F("item_1"), 0))),
                violation_error_message="The total is the sum of the answers.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_instrument_display()} of {self.client.display_name}, {self.taken_on:%Y-%m-%d}"

    @property
    def answers(self) -> list[int]:
        count = 9 if self.instrument == self.Instrument.PHQ9 else 7
        return [getattr(self, field) for field in ITEM_FIELDS[:count]]


class SafetyAlert(models.Model):
    """Raised with a PHQ-9 whose item 9 (thoughts of being better off dead or of self-harm) is
    above 0; open until a therapist (or staff) records the follow-up. Never leaves the clinic's
    pages: no reminder, e-mail, text or calendar entry mentions it."""

    class Contact(models.TextChoices):
        PHONE = "phone", "Phone"
        IN_PERSON = "in_person", "In person"
        VIDEO = "video", "Video"
        TEXT_MESSAGE = "text_message", "Text message"
        OTHER = "other", "Other"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="safety_alerts")
    response = models.OneToOneField(MeasureResponse, on_delete=models.PROTECT, related_name="safety_alert")
    raised_at = models.DateTimeField()
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    followed_up_at = models.DateTimeField(null=True, blank=True)
    contacted_by = models.CharField("how contacted", max_length=12, choices=Contact.choices, blank=True)
    outcome = models.TextField(blank=True, max_length=4000)

    class Meta:
        ordering = ["raised_at", "pk"]
        indexes = [
            # The open alerts, read at the top of every therapist page: few rows, found directly.
            models.Index(
                fields=["raised_at"], name="progress_safetyalert_open", condition=Q(followed_up_at__isnull=True)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="progress_safetyalert_follow_up_complete",
                condition=Q(followed_up_by__isnull=True, followed_up_at__isnull=True, contacted_by="", outcome="")
                | (
                    Q(followed_up_by__isnull=False, followed_up_at__isnull=False) & ~Q(contacted_by="") & ~Q(outcome="")
                ),
                violation_error_message="A follow-up records who, when, how the client was contacted and the outcome.",
            ),
            models.CheckConstraint(
                name="progress_safetyalert_contact_known",
                condition=Q(contacted_by__in=["", "phone", "in_person", "video", "text_message", "other"]),
                violation_error_message="Unknown way of contact.",
            ),
        ]

    def __str__(self) -> str:
        return f"Safety alert for {self.client.display_name}, {self.raised_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.followed_up_at is None


# --- Treatment plans and goals ------------------------------------------------------------------


def validate_group_kinds(value) -> None:
    if not isinstance(value, list) or not all(kind in TherapyGroup.Kind.values for kind in value):
        raise ValidationError("Choose group kinds from the list.")


class TreatmentPlan(models.Model):
    """A client's treatment plan: one per client, kept current by its goals and its reviews
    rather than replaced (a revised goal is marked so and a new one written beside it).

    ``last_reviewed_on`` is the plan's start until the first review, then the latest review's
    day (``progress.plans.record_review`` keeps it): a review is overdue when it is older than
    ``IOP_PLAN_REVIEW_DAYS``, a range read from its index by the therapist's dashboard."""

    client = models.OneToOneField(Client, on_delete=models.PROTECT, related_name="treatment_plan")
    started_on = models.DateField()
    last_reviewed_on = models.DateField(help_text="The latest review, or the plan's start before the first.")
    # The kinds of group the plan calls for (``TherapyGroup.Kind`` codes): the group finder ranks
    # groups of these kinds first (progress.plans.set_recommended_group_kinds writes it).
    recommended_group_kinds = models.JSONField(default=list, blank=True, validators=[validate_group_kinds])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client__legal_last_name", "client__legal_first_name"]
        indexes = [models.Index(fields=["last_reviewed_on"], name="progress_plan_last_reviewed")]
        constraints = [
            models.CheckConstraint(
                name="progress_plan_reviewed_after_start",
                condition=Q(last_reviewed_on__gte=F("started_on")),
                violation_error_message="A plan is reviewed on or after the day it started.",
            ),
        ]

    def __str__(self) -> str:
        return f"Treatment plan of {self.client.display_name}"


class PlanReview(models.Model):
    """A review of the plan: who reviewed it, on which day, and what they concluded."""

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="reviews")
    reviewed_on = models.DateField()
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(auto_now_add=True)
    summary = models.TextField(max_length=4000, help_text="Progress on the goals and what changes.")

    class Meta:
        ordering = ["-reviewed_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="progress_planreview_has_summary",
                condition=~Q(summary=""),
                violation_error_message="A review needs its summary.",
            ),
        ]

    def __str__(self) -> str:
        return f"Review of {self.plan} on {self.reviewed_on:%Y-%m-%d}"


class Goal(models.Model):
    """One goal of a plan: the problem in the client's own words, the goal, its measurable
    objectives (one a line), a target date and a status whose every change is kept
    (``GoalStatusChange``, written by ``progress.plans``)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        MET = "met", _("Met")
        PARTLY_MET = "partly_met", _("Partly met")
        REVISED = "revised", _("Revised")
        DISCONTINUED = "discontinued", _("Discontinued")

    plan = models.ForeignKey(TreatmentPlan, on_delete=models.PROTECT, related_name="goals")
    problem = models.TextField("problem (in the client's words)", max_length=2000)
    goal = models.TextField(max_length=2000)
    objectives = models.TextField(max_length=4000, help_text="Measurable objectives, one a line.")
    target_date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["plan", "created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                name="progress_goal_status_known",
                condition=Q(status__in=["active", "met", "partly_met", "revised", "discontinued"]),
                violation_error_message="Unknown goal status.",
            ),
            models.CheckConstraint(
                name="progress_goal_has_text",
                condition=~Q(problem="") & ~Q(goal="") & ~Q(objectives=""),
                violation_error_message="A goal needs the problem, the goal and its objectives.",
            ),
        ]

    def __str__(self) -> str:
        # No words of the goal: the admin titles rows with this, for staff who may not read them.
        return f"Goal {self.pk} of {self.plan.client.display_name} ({self.get_status_display().lower()})"

    @property
    def short(self) -> str:
        """The goal's first line, shortened, for lists and the note's "Goals addressed"."""
        line = self.goal.strip().splitlines()[0] if self.goal.strip() else ""
        return line if len(line) <= 80 else line[:79] + "…"

    @property
    def objective_lines(self) -> list[str]:
        return [line.strip() for line in self.objectives.splitlines() if line.strip()]

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


GOAL_STATUSES = ["active", "met", "partly_met", "revised", "discontinued"]


class GoalStatusChange(models.Model):
    """One change of a goal's status: from what, to what, when, by whom and why. The goal's
    first row (from nothing to active) is written when the goal is. Never edited."""

    goal = models.ForeignKey(Goal, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=Goal.Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Goal.Status.choices)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["goal", "changed_at", "pk"]
        constraints = [
            models.CheckConstraint(
                name="progress_goalstatuschange_statuses_known",
                condition=Q(from_status__in=["", *GOAL_STATUSES]) & Q(to_status__in=GOAL_STATUSES),
                violation_error_message="Unknown goal status.",
            ),
            models.CheckConstraint(
                name="progress_goalstatuschange_is_a_change",
                condition=~Q(from_status=F("to_status")),
                violation_error_message="The goal already has this status.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.goal}: {self.from_status or 'new'} → {self.to_status}"


class NoteGoalQuerySet(LockedNoteQuerySet):
    signed_lookup = "individual_note__group_note__signed_at"

    def bulk_create(self, objs, *args, **kwargs):
        # How ``IndividualNote.goals.add()`` writes: refused, like save(), once the note is signed.
        objs = list(objs)
        parts = {obj.individual_note_id for obj in objs}
        if parts and IndividualNote.objects.filter(pk__in=parts, group_note__signed_at__isnull=False).exists():
            raise SignedNoteLocked()
        return super().bulk_create(objs, *args, **kwargs)


class NoteGoal(LockedOnceSigned):
    """A goal an individualized note addressed. Locked with its note: a signed note's goals are
    part of what was signed."""

    individual_note = models.ForeignKey(IndividualNote, on_delete=models.CASCADE, related_name="goal_links")
    goal = models.ForeignKey(Goal, on_delete=models.PROTECT, related_name="note_links")

    objects = NoteGoalQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["individual_note", "goal"],
                name="progress_notegoal_once_per_note",
                violation_error_message="This goal is already linked to this note.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.goal} — {self.individual_note}"

    def _signed_in_database(self) -> bool:
        return IndividualNote.objects.filter(pk=self.individual_note_id, group_note__signed_at__isnull=False).exists()


SUMMARY_IS_LOCKED = "This discharge summary is signed and locked."


class DischargeSummaryQuerySet(LockedNoteQuerySet):
    signed_lookup = "signed_at"
    locked_message = SUMMARY_IS_LOCKED

    def signed(self):
        return self.filter(signed_at__isnull=False)

    def unsigned(self):
        return self.filter(signed_at__isnull=True)


class DischargeSummary(LockedOnceSigned):
    """The summary of one discharge, written by a therapist of the client and signed like a note.

    While it is a draft, the facts of the stay (dates, attendance, measures, goals) are gathered
    live (``progress.discharge.summary_facts``); signing freezes them into ``facts``, so the signed
    document reads the same whatever is recorded later. Signed, it is locked."""

    locked_message = SUMMARY_IS_LOCKED

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="discharge_summaries")
    discharge_date = models.DateField()
    written_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    narrative = models.TextField(blank=True, help_text="The course of treatment, in the therapist's words.")
    recommendations = models.TextField(blank=True, help_text="Aftercare, referrals and follow-up.")
    # The facts of the stay as signed (empty while a draft: the page gathers them live).
    facts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)

    objects = DischargeSummaryQuerySet.as_manager()

    class Meta:
        ordering = ["-discharge_date", "pk"]
        verbose_name_plural = "discharge summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["client", "discharge_date"],
                name="progress_dischargesummary_one_per_discharge",
                violation_error_message="This discharge already has a summary.",
            ),
            models.CheckConstraint(
                name="progress_dischargesummary_signed_by_and_at",
                condition=Q(signed_by__isnull=True, signed_at__isnull=True)
                | Q(signed_by__isnull=False, signed_at__isnull=False),
                violation_error_message="A signed summary has both its signer and the time of signing.",
            ),
        ]

    def __str__(self) -> str:
        return f"Discharge summary of {self.client.display_name}, {self.discharge_date:%Y-%m-%d}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None

    def _signed_in_database(self) -> bool:
        return self.pk is not None and DischargeSummary.objects.filter(pk=self.pk, signed_at__isnull=False).exists()
