from django.conf import settings
from django.db import models
from django.db.models import Q

from clients.models import Client
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

    def _touches_signed(self) -> bool:
        return self.filter(**{f"{self.signed_lookup}__isnull": False}).exists()

    def update(self, **kwargs):
        if self._touches_signed():
            raise SignedNoteLocked()
        return super().update(**kwargs)

    def delete(self):
        if self._touches_signed():
            raise SignedNoteLocked()
        return super().delete()


class LockedOnceSigned(models.Model):
    """A note part that refuses ``save()`` and ``delete()`` once its note is signed in the
    database; each subclass says, in ``_signed_in_database``, which stored signature locks it."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._signed_in_database():
            raise SignedNoteLocked()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._signed_in_database():
            raise SignedNoteLocked()
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
    """One attending member's part of a group note, in BIRP form. Locked with its group note."""

    group_note = models.ForeignKey(GroupNote, on_delete=models.CASCADE, related_name="individual_notes")
    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="individual_notes")
    behaviour = models.TextField(help_text="What the member said and did.")
    intervention = models.TextField(blank=True, help_text="What the facilitator did for this member.")
    response = models.TextField(blank=True, help_text="How the member responded.")
    plan = models.TextField(blank=True, help_text="Next steps for this member.")

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
