import datetime
import logging
from dataclasses import dataclass

from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from groups.models import Therapist, TherapyGroup
from iop.constraints import ConstraintErrorsOnFields
from iop.dates import validate_clinic_date
from iop.discretion import undiscreet_words, validate_discreet

log = logging.getLogger(__name__)

MIN_MINUTES = 60
MAX_MINUTES = 90
# Said once for slots and the meetings they make.
LENGTH_RULE = f"A session lasts between {MIN_MINUTES} and {MAX_MINUTES} minutes."
OBJECTIVE_RULE = "Every meeting needs a stated objective."
JOIN_LINK_IN_PORTAL = gettext_lazy("the join link is in your portal")


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class WeeklySlot(models.Model):
    """A group's recurring meeting, in the clinic's local wall-clock time."""

    group = models.ForeignKey(TherapyGroup, on_delete=models.CASCADE, related_name="slots")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(help_text="Local time in the clinic's time zone.")
    duration_minutes = models.PositiveSmallIntegerField(default=90, help_text="Between 60 and 90 minutes.")
    is_virtual = models.BooleanField(default=False, help_text="Meets by video, on the group's video link.")
    room = models.CharField(
        max_length=60, blank=True, validators=[validate_discreet], help_text="Leave empty to use the group's room."
    )
    default_objective = models.CharField(max_length=300, help_text="The goal each meeting starts from.")
    effective_from = models.DateField(validators=[validate_clinic_date])
    effective_until = models.DateField(null=True, blank=True, validators=[validate_clinic_date])

    class Meta:
        ordering = ["weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                name="scheduling_slot_duration_60_to_90",
                condition=Q(duration_minutes__gte=MIN_MINUTES, duration_minutes__lte=MAX_MINUTES),
                violation_error_message=LENGTH_RULE,
            ),
            models.CheckConstraint(
                name="scheduling_slot_has_objective",
                condition=~Q(default_objective=""),
                violation_error_message=OBJECTIVE_RULE,
            ),
            models.CheckConstraint(
                name="scheduling_slot_until_after_from",
                condition=Q(effective_until__isnull=True) | Q(effective_until__gte=F("effective_from")),
                violation_error_message="The slot cannot end before it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.group} — {self.get_weekday_display()} {self.start_time:%H:%M}"

    @property
    def end_time(self) -> datetime.time:
        start = datetime.datetime.combine(datetime.date.min, self.start_time)
        # A length past a day is refused elsewhere (60–90 minutes); here it must not overflow first.
        minutes = min(self.duration_minutes, 24 * 60)
        return (start + datetime.timedelta(minutes=minutes)).time()

    @property
    def place(self) -> str:
        """The room its meetings are in: its own, else the group's; none when online."""
        return "" if self.is_virtual else (self.room or self.group.room)

    @property
    def video_link(self) -> str:
        """The link its meetings are joined by: the group's, for an online slot or a group that
        also meets by video."""
        group = self.group
        return group.video_link if self.is_virtual or group.modality != "in_person" else ""


class Closure(ConstraintErrorsOnFields, models.Model):
    """Days the clinic is closed (holidays, weather): their sessions are cancelled."""

    constraint_error_fields = {"closure_days_taken": "starts_on"}

    name = models.CharField(max_length=120, help_text='Shown to clients as the reason, e.g. "Thanksgiving".')
    starts_on = models.DateField(validators=[validate_clinic_date])
    ends_on = models.DateField(validators=[validate_clinic_date])

    class Meta:
        ordering = ["-starts_on"]
        constraints = [
            models.CheckConstraint(
                name="scheduling_closure_ends_after_start",
                condition=Q(ends_on__gte=F("starts_on")),
                violation_error_message="The closure cannot end before it starts.",
            ),
            # The same closure saved twice (a double click on Save) is one closure.
            models.UniqueConstraint(
                fields=["starts_on", "ends_on"],
                name="scheduling_closure_one_per_days",
                violation_error_message="The clinic is already closed on exactly these days.",
                violation_error_code="closure_days_taken",
            ),
        ]

    def __str__(self) -> str:
        if self.starts_on == self.ends_on:
            return f"{self.name} ({self.starts_on:%b %d, %Y})"
        return f"{self.name} ({self.starts_on:%b %d} – {self.ends_on:%b %d, %Y})"


@dataclass(frozen=True)
class Place:
    """Where a session is: the one answer the client's schedule, reminders and calendar entries
    give. A room, a video meeting, or both (a hybrid group's meeting at the clinic, which members
    may also join by video)."""

    room: str
    video_link: str

    @property
    def by_video(self) -> bool:
        return bool(self.video_link)

    def in_words(self, *, room: str | None = None) -> str:
        """ "Room 4", "Online" or "Room 4, or online"; ``room`` stands in for the room's name."""
        if not self.room:
            return gettext("Online")
        room = self.room if room is None else room
        return gettext("%(room)s, or online") % {"room": room} if self.by_video else room

    def outside(self, *, clinic: str) -> str:
        """For a message that leaves the clinic. The video link stays behind the portal's login:
        its path is whatever the meeting's maker typed, often the group's name. A room name that
        gives the care away (saved before room names were checked, or written around the forms)
        becomes the clinic's name."""
        room = self.room
        if room and undiscreet_words(room):
            log.warning("Room %r gives the kind of care away; messages leaving the clinic say %r.", room, clinic)
            room = clinic
        words = self.in_words(room=room)
        return f"{words} ({JOIN_LINK_IN_PORTAL})" if self.by_video else words


# Meetings someone has met in: marked held, or with attendance or a note recorded.
MET = Q(status="held") | Q(first_recorded_at__isnull=False)
UNSIGNED_MET = MET & Q(note_signed_at__isnull=True)
# Meetings nobody has met in and nobody cancelled: planned, or (once their time is over) not
# documented. Derived from the time and the rows, never stored, so it cannot go stale and needs
# no job; a partial index holds these rows (Session.Meta.indexes).
UNMET = Q(status="scheduled", first_recorded_at__isnull=True)
# A met meeting's progress note is due signed this long after the meeting ends.
NOTE_OVERDUE_AFTER = datetime.timedelta(hours=24)


class SessionQuerySet(models.QuerySet):
    def met(self):
        """Meetings someone has met in: marked held, or with attendance or a note recorded.
        They are clinical history: they no longer move, and they are never cancelled."""
        return self.filter(MET)

    def note_unsigned(self):
        """Met meetings whose progress note is not signed (or not written) yet; read from the
        partial indexes on ``UNSIGNED_MET``."""
        return self.filter(UNSIGNED_MET)

    def not_documented(self, *, now: datetime.datetime):
        """Meetings whose time is over and that nobody documented: no attendance, no note, not
        marked held, not cancelled. Read from the partial index on ``UNMET``, in which only the
        meetings still to come stand beside them."""
        # A session starts before it ends: the start bound lets the index on the start do the work.
        return self.filter(UNMET, starts_at__lt=now, ends_at__lte=now)

    def note_overdue(self, *, now: datetime.datetime):
        """Met meetings whose note is still unsigned ``NOTE_OVERDUE_AFTER`` after they ended,
        from the partial indexes on ``UNSIGNED_MET``."""
        return self.note_unsigned_ended_before(now - NOTE_OVERDUE_AFTER)

    def note_unsigned_ended_before(self, moment: datetime.datetime):
        """Met meetings that ended before ``moment`` and whose note is not signed yet."""
        # A meeting starts before it ends: the bound on the start lets the indexes do the work.
        return self.note_unsigned().filter(starts_at__lt=moment, ends_at__lt=moment)

    def unmet(self, *, after: datetime.datetime):
        """Meetings after ``after`` that still take place and that nobody has met in yet."""
        return self.filter(starts_at__gt=after, status=Session.Status.SCHEDULED, first_recorded_at__isnull=True)


class Session(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        HELD = "held", "Held"
        CANCELLED = "cancelled", "Cancelled"

    class State(models.TextChoices):
        """What a meeting is at a moment, as lists and pages name it: the stored status read
        together with the time and whether anyone documented it (``state_at``)."""

        SCHEDULED = "scheduled", "Scheduled"
        NOT_DOCUMENTED = "not_documented", "Not documented"
        HELD = "held", "Held"
        CANCELLED = "cancelled", "Cancelled"

    # The group's, the slot's and the facilitator's own indexes are the first columns of wider
    # ones (group and start, the one session per slot occurrence, facilitator and start): a
    # single-column index beside them would only cost every generated meeting three more writes.
    group = models.ForeignKey(TherapyGroup, on_delete=models.PROTECT, related_name="sessions", db_index=False)
    slot = models.ForeignKey(
        WeeklySlot, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions", db_index=False
    )
    # The slot occurrence this session was generated for; it stays when one meeting is moved,
    # so that generating again never makes a second one.
    slot_date = models.DateField(null=True, blank=True, editable=False)
    starts_at = models.DateTimeField(validators=[validate_clinic_date])
    ends_at = models.DateTimeField(validators=[validate_clinic_date])
    objective = models.CharField(max_length=300)
    facilitator = models.ForeignKey(
        Therapist,
        on_delete=models.PROTECT,
        related_name="led_sessions",
        help_text="A substitute may be set.",
        db_index=False,
    )
    room = models.CharField(max_length=60, blank=True, validators=[validate_discreet])
    video_link = models.URLField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    cancellation_reason = models.CharField(max_length=200, blank=True)
    # Indexed only where set (see Meta.indexes): a closure cancels a few days of a year.
    closure = models.ForeignKey(
        Closure, on_delete=models.SET_NULL, null=True, blank=True, related_name="sessions", db_index=False
    )
    # Set by the progress app, under the session's row lock, when it first records attendance or
    # a note; from then on the meeting is history (see SessionQuerySet.met).
    first_recorded_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the session's progress note was signed, copied here by the progress app as it signs
    # (progress.notes.sign_note; a signed note never changes): the therapist's "notes unsigned
    # for more than 24 hours" are then read from an index of the few met sessions without one,
    # instead of a look into the notes for each of the year's sessions of sixteen groups.
    note_signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The meeting's place in its group's topic cycle (1 = the cycle's first topic), set by
    # scheduling.topics.follow_topic_cycle; empty for a group without a cycle and a cancelled
    # meeting (a cancelled meeting uses up no topic).
    cycle_step = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    # The objective was swapped for this one meeting: the cycle goes on around it. A default in
    # the database: the generation SQL does not name the column.
    topic_swapped = models.BooleanField(db_default=False, default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                name="scheduling_session_length_60_to_90",
                condition=Q(ends_at__gte=F("starts_at") + datetime.timedelta(minutes=MIN_MINUTES))
                & Q(ends_at__lte=F("starts_at") + datetime.timedelta(minutes=MAX_MINUTES)),
                violation_error_message=LENGTH_RULE,
            ),
            models.CheckConstraint(
                name="scheduling_session_has_objective",
                condition=~Q(objective=""),
                violation_error_message=OBJECTIVE_RULE,
            ),
            models.CheckConstraint(
                name="scheduling_session_cancellation_has_reason",
                condition=~Q(status="cancelled") | ~Q(cancellation_reason=""),
                violation_error_message="A cancelled session needs a reason.",
            ),
            models.CheckConstraint(
                name="scheduling_session_met_is_never_cancelled",
                condition=~Q(status="cancelled") | Q(first_recorded_at__isnull=True),
                violation_error_message="Attendance or a note is recorded for this session; it cannot be cancelled.",
            ),
            models.CheckConstraint(
                name="scheduling_session_has_a_place",
                condition=~Q(room="") | ~Q(video_link=""),
                violation_error_message="A session needs a room or a video link.",
            ),
            models.UniqueConstraint(
                fields=["slot", "slot_date"],
                name="scheduling_session_one_per_slot_occurrence",
                violation_error_message="This slot already has a session on that date.",
            ),
            # A group is in one room with one facilitator at a time. This is also what keeps two
            # seed_demo runs, or two hands, from making the same meeting twice. Cancelled meetings
            # are history: a meeting cancelled and then made again at its old time is allowed.
            # The third column says so: true for a meeting not cancelled, empty (NULL) for a
            # cancelled one, and no two NULLs are equal. The index holds every meeting, so it is
            # also the way to a group's meetings by time (its pages, the sessions list filtered to
            # it, its topic cycle); a partial unique index beside a full one on (group, starts_at)
            # cost every generated meeting one more index write.
            models.UniqueConstraint(
                F("group"),
                F("starts_at"),
                Case(When(~Q(status="cancelled"), then=Value(True))),
                name="scheduling_session_one_per_group_moment",
                violation_error_message="The group already meets at that moment.",
            ),
        ]
        indexes = [
            # The sessions a therapist leads or covers, by time: the therapist's dashboard, their
            # unsigned notes and the groups they recently covered read this one. The groups they
            # covered are read from the index alone (PostgreSQL): six weeks of a therapist's
            # meetings are some 900 rows on as many pages of the table, and reading those was most
            # of the dashboard's query of its groups.
            models.Index(
                fields=["facilitator", "starts_at"], include=["group", "status"], name="scheduling_session_fac_start"
            ),
            # The default order of every list of sessions, and the way into a list of their
            # attendance or notes in meeting order (a year is 160,000 sessions).
            models.Index(fields=["starts_at"], name="scheduling_session_starts_at"),
            # The same order under the status filter: "scheduled" is the last few weeks of a year.
            models.Index(fields=["status", "starts_at"], name="scheduling_session_by_status"),
            # Met sessions whose note is not signed yet, by the facilitator and by the group (a
            # therapist's are those they facilitate or whose group they lead): a few per group,
            # where all of a year is thousands. A generated meeting is not met, so generating a
            # year writes nothing to them.
            models.Index(
                fields=["facilitator", "starts_at"],
                condition=UNSIGNED_MET,
                name="scheduling_unsigned_fac_start",
            ),
            models.Index(
                fields=["group", "starts_at"],
                condition=UNSIGNED_MET,
                name="scheduling_unsigned_grp_start",
            ),
            # A closure's meetings, found when it is deleted (its meetings lose it). Nearly every
            # meeting has none: an index of every row would cost each generated meeting a write
            # that nothing reads.
            models.Index(fields=["closure"], condition=Q(closure__isnull=False), name="scheduling_session_closure"),
            # Meetings nobody has met in yet: the ones to come, and the few past ones nobody
            # documented (``not_documented``), which the dashboard and the sessions list read
            # without visiting the year of documented ones.
            models.Index(fields=["starts_at"], condition=UNMET, name="scheduling_session_unmet_start"),
        ]

    def __str__(self) -> str:
        return f"{self.group} — {timezone.localtime(self.starts_at):%a %b %d, %H:%M}"

    @property
    def duration_minutes(self) -> int:
        # Elapsed minutes: Python subtracts two times of one zone on the wall clock, which is an
        # hour off across a daylight-saving change.
        elapsed = self.ends_at.astimezone(datetime.UTC) - self.starts_at.astimezone(datetime.UTC)
        return int(elapsed.total_seconds() // 60)

    @property
    def is_met(self) -> bool:
        """Held, or with attendance or a note recorded: the row-level ``SessionQuerySet.met``."""
        return self.status == self.Status.HELD or self.first_recorded_at is not None

    def state_at(self, now: datetime.datetime) -> "Session.State":
        """Cancelled; held once met (marked held, or attendance or a note recorded); not
        documented once its end has come with nothing recorded; else scheduled. The row-level
        ``SessionQuerySet.not_documented``."""
        if self.is_cancelled:
            return self.State.CANCELLED
        if self.is_met:
            return self.State.HELD
        if self.ends_at <= now:
            return self.State.NOT_DOCUMENTED
        return self.State.SCHEDULED

    @property
    def state(self) -> "Session.State":
        return self.state_at(timezone.now())

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def is_virtual(self) -> bool:
        return not self.room and bool(self.video_link)

    @property
    def where(self) -> Place:
        return Place(room=self.room, video_link=self.video_link)


class Topic(models.Model):
    """One topic of a group's cycle (e.g. an eight-week psychoeducation cycle: anxiety,
    depression, sleep, …). The group's meetings take the cycle's topics as their objectives in
    order, round and round, so a client who joins at any meeting goes through the whole cycle."""

    group = models.ForeignKey(TherapyGroup, on_delete=models.CASCADE, related_name="topics")
    position = models.PositiveSmallIntegerField(help_text="The topic's place in the cycle: 1, 2, 3 …")
    title = models.CharField(
        max_length=300, help_text="The objective of the meeting that has this topic, e.g. “Sleep and mood”."
    )

    class Meta:
        ordering = ["group", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "position"],
                name="scheduling_topic_one_per_position",
                violation_error_message="The cycle already has a topic at this place.",
            ),
            models.CheckConstraint(
                name="scheduling_topic_position_from_1",
                condition=Q(position__gte=1),
                violation_error_message="The cycle's places start at 1.",
            ),
            models.CheckConstraint(
                name="scheduling_topic_has_title",
                condition=~Q(title=""),
                violation_error_message="A topic needs its title.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class Reminder(models.Model):
    """One message to one client about one session, by one channel: the outbox row.

    The row is the truth and the queue only carries its id. A worker claims the row (pending →
    sending, under its task's id) with a conditional update before sending, so a reminder goes out
    once however many messages name it. ``session_starts_at`` is the time the reminder announces: when a session
    moves, its pending rows are cancelled and new ones are planned for the new time.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message (SMS)"

    # The notice sent to clients already reminded of a session that is then cancelled; other
    # kinds are "<hours>h", one per entry of settings.REMINDER_HOURS_BEFORE.
    CANCELLATION = "cancellation"

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="reminders")
    client = models.ForeignKey("clients.Client", on_delete=models.CASCADE, related_name="reminders")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    kind = models.CharField(max_length=16, help_text='"24h", "2h" … before the session, or "cancellation".')
    session_starts_at = models.DateTimeField(help_text="The session time this reminder announces.")
    send_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Who claimed the row: the sending task's id. The same task, retried after a lost database
    # connection, finds its claim again instead of losing it to the stale timeout.
    claimed_by = models.CharField(max_length=64, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["send_at", "pk"]
        constraints = [
            # Cancelled rows are history: a client who gives consent again is planned afresh.
            models.UniqueConstraint(
                fields=["session", "client", "channel", "kind", "session_starts_at"],
                condition=~Q(status="cancelled"),
                name="scheduling_reminder_one_per_session_client_channel_kind",
                violation_error_message="This reminder is already planned.",
            ),
            models.CheckConstraint(
                name="scheduling_reminder_sent_has_time",
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                violation_error_message="A sent reminder needs the time it was sent.",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "send_at"], name="scheduling_reminder_due"),
            # The default order (the admin's outbox list), walked instead of sorted.
            models.Index(fields=["send_at", "id"], name="scheduling_reminder_send_order"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.kind} reminder #{self.pk} ({self.get_status_display().lower()})"
