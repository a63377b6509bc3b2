import datetime

from django.conf import settings
from django.db import models
from django.db.models import ExpressionWrapper, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clients.models import Client, GroupFocus, Language, LevelOfCare
from iop.dates import validate_clinic_date
from iop.discretion import validate_discreet

MIN_CAPACITY = 8
MAX_CAPACITY = 12


class TherapistManager(models.Manager):
    """A therapist is shown by their user's name (``__str__``): every list, dropdown and filter of
    therapists reads the user in the same query, never once per therapist."""

    def get_queryset(self):
        return super().get_queryset().select_related("user")


class Therapist(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="therapist")
    credentials = models.CharField(max_length=60, help_text="E.g. LCSW, LPC, LMFT, PhD.")
    license_number = models.CharField(max_length=40, blank=True)
    is_active = models.BooleanField(default=True)

    objects = TherapistManager()

    class Meta:
        ordering = ["user__last_name", "user__first_name"]

    def __str__(self) -> str:
        name = self.user.get_full_name() or self.user.get_username()
        return f"{name}, {self.credentials}" if self.credentials else name


class TherapyGroupQuerySet(models.QuerySet):
    def named(self, search_term: str):
        """The groups whose name holds every word of ``search_term`` (800 names: no index needed)."""
        groups = self
        for word in search_term.split():
            groups = groups.filter(name__icontains=word)
        return groups

    def with_seat_counts(self):
        # A count per group row (by the (group, status) index), not a GROUP BY over every
        # membership: a page of 100 groups, its list filters and its count read only what they show.
        return self.annotate(
            active_count=_members_of_group(Membership.Status.ACTIVE),
            waitlist_count=_members_of_group(Membership.Status.WAITLISTED),
        )


def _members_of_group(status: str):
    members = (
        Membership.objects.filter(group=OuterRef("pk"), status=status)
        .order_by()
        .values("group")
        .annotate(count=models.Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(members), 0)


class TherapyGroup(models.Model):
    class Kind(models.TextChoices):
        PSYCHOEDUCATIONAL = "psychoeducational", _("Psychoeducational")
        SKILLS_DEVELOPMENT = "skills_development", _("Skills development")
        PROCESS = "process", _("Process")
        SUPPORT = "support", _("Support")

    class Modality(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        VIRTUAL = "virtual", "Virtual"
        HYBRID = "hybrid", "Hybrid"

    class Enrolment(models.TextChoices):
        OPEN = "open", "Open (rolling admission)"
        CLOSED = "closed", "Closed (no new members once started)"

    class Status(models.TextChoices):
        FORMING = "forming", "Forming"
        RUNNING = "running", "Running"
        ENDED = "ended", "Ended"

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField(blank=True)
    capacity = models.PositiveSmallIntegerField(
        default=10, help_text=f"Most active members at once: between {MIN_CAPACITY} and {MAX_CAPACITY}."
    )
    facilitator = models.ForeignKey(Therapist, on_delete=models.PROTECT, related_name="facilitated_groups")
    co_facilitator = models.ForeignKey(
        Therapist, on_delete=models.PROTECT, null=True, blank=True, related_name="co_facilitated_groups"
    )
    modality = models.CharField(max_length=10, choices=Modality.choices, default=Modality.IN_PERSON)
    room = models.CharField(max_length=60, blank=True, validators=[validate_discreet])
    video_link = models.URLField(blank=True)
    language = models.CharField(max_length=10, choices=Language.choices, default=Language.ENGLISH)
    audience = models.CharField(max_length=20, choices=LevelOfCare.choices, default=LevelOfCare.ADULT_IOP)
    focus = models.CharField(
        max_length=20,
        choices=GroupFocus.choices,
        blank=True,
        help_text="Who the group is for or how it works, if anything beyond its kind (e.g. women, veterans).",
    )
    enrolment = models.CharField(max_length=8, choices=Enrolment.choices, default=Enrolment.OPEN)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    start_date = models.DateField(validators=[validate_clinic_date])
    end_date = models.DateField(null=True, blank=True, validators=[validate_clinic_date])

    objects = TherapyGroupQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="groups_therapygroup_capacity_8_to_12",
                condition=Q(capacity__gte=MIN_CAPACITY, capacity__lte=MAX_CAPACITY),
                violation_error_message=f"A group holds between {MIN_CAPACITY} and {MAX_CAPACITY} members.",
            ),
            models.CheckConstraint(
                name="groups_therapygroup_cofacilitator_differs",
                condition=Q(co_facilitator__isnull=True) | ~Q(co_facilitator=F("facilitator")),
                violation_error_message="The co-facilitator must be someone other than the facilitator.",
            ),
            models.CheckConstraint(
                name="groups_therapygroup_place_matches_modality",
                condition=(Q(modality="in_person") & ~Q(room=""))
                | (Q(modality="virtual") & ~Q(video_link=""))
                | (Q(modality="hybrid") & ~Q(room="") & ~Q(video_link="")),
                violation_error_message="In-person groups need a room, virtual groups a video link, hybrid both.",
            ),
            models.CheckConstraint(
                name="groups_therapygroup_language_known",
                condition=Q(language__in=Language.values),
                violation_error_message="Choose a language from the list.",
            ),
            models.CheckConstraint(
                name="groups_therapygroup_focus_known",
                condition=Q(focus__in=["", *GroupFocus.values]),
                violation_error_message="Choose a focus from the list.",
            ),
            models.CheckConstraint(
                name="groups_therapygroup_ends_after_start",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                violation_error_message="The end date cannot be before the start date.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def facilitators(self) -> list[Therapist]:
        return [t for t in (self.facilitator, self.co_facilitator) if t is not None]


def member_at(starts_at, *, prefix: str = "", day: datetime.date | None = None) -> Q:
    """Who belongs to a meeting, the one rule behind every roster, schedule and reminder: the
    members at its start. They joined at or before ``starts_at`` (a session that has started
    never gains members) and had not left by that day (``ended_on`` is the first day without
    them). ``starts_at`` is an aware datetime or an expression of one, e.g. ``F("starts_at")``;
    ``prefix`` reaches memberships through a relation, e.g. ``"group__memberships__"``. ``day``
    is the day of ``starts_at`` in the clinic's zone, when the caller already has it."""
    if day is None and isinstance(starts_at, datetime.datetime):
        day = timezone.localdate(starts_at)
    elif day is None:
        # Typed, so that an OuterRef (which has no type of its own) can be truncated too.
        day = TruncDate(ExpressionWrapper(starts_at, output_field=models.DateTimeField()))
    return Q(**{f"{prefix}joined_at__lte": starts_at}) & (
        Q(**{f"{prefix}ended_on__isnull": True}) | Q(**{f"{prefix}ended_on__gt": day})
    )


def was_member_at(
    starts_at: datetime.datetime, joined_at: datetime.datetime | None, ended_on: datetime.date | None
) -> bool:
    """``member_at`` for rows already in memory."""
    return (
        joined_at is not None
        and joined_at <= starts_at
        and (ended_on is None or ended_on > timezone.localdate(starts_at))
    )


class MembershipQuerySet(models.QuerySet):
    def at(self, starts_at):
        return self.filter(member_at(starts_at))

    def open(self):
        return self.exclude(status=Membership.Status.ENDED)

    def active(self):
        return self.filter(status=Membership.Status.ACTIVE)

    def waitlisted(self):
        return self.filter(status=Membership.Status.WAITLISTED).order_by("waitlisted_at", "pk")


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WAITLISTED = "waitlisted", "Waitlisted"
        ENDED = "ended", "Ended"

    class EndReason(models.TextChoices):
        COMPLETED = "completed", "Completed the group"
        DISCHARGED = "discharged", "Discharged from the program"
        TRANSFERRED = "transferred", "Moved to another group"
        WITHDREW = "withdrew", "Withdrew"
        LEFT_WAITLIST = "left_waitlist", "Taken off the waitlist"
        OTHER = "other", "Other"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="memberships")
    group = models.ForeignKey(TherapyGroup, on_delete=models.PROTECT, related_name="memberships")
    status = models.CharField(max_length=10, choices=Status.choices)
    # The waitlist is served first come, first served, in this order.
    waitlisted_at = models.DateTimeField(null=True, blank=True)
    joined_on = models.DateField(
        null=True, blank=True, help_text="First day as an active member.", validators=[validate_clinic_date]
    )
    # The moment within that day: a member is on the rosters of the meetings that start from then
    # on, never of one held earlier the day they joined (scheduling.enrolment sets both together).
    joined_at = models.DateTimeField(null=True, blank=True, help_text="When the client became an active member.")
    ended_on = models.DateField(null=True, blank=True, validators=[validate_clinic_date])
    end_reason = models.CharField(max_length=14, choices=EndReason.choices, blank=True)
    end_note = models.CharField(max_length=300, blank=True)
    # Why staff enrolled the client although the group is held in another language than the
    # client's, or although the client's partner is in the same process group; asked for and
    # kept by scheduling.enrolment.enroll_client.
    language_reason = models.CharField(
        "why another language",
        max_length=300,
        blank=True,
        help_text="Why the client joins a group in another language.",
    )
    partner_reason = models.CharField(
        "why with the partner",
        max_length=300,
        blank=True,
        help_text="The clinical decision that the client attends the same process group as their partner.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # When the membership last changed: the client's calendar feed says from it that its list of
    # meetings changed (scheduling.selectors.calendar_feed_version).
    updated_at = models.DateTimeField(auto_now=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["group", "status", "waitlisted_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "group"],
                condition=~Q(status="ended"),
                name="groups_membership_one_open_per_client_group",
                violation_error_message="This client is already a member of, or waitlisted for, this group.",
            ),
            models.CheckConstraint(
                name="groups_membership_active_has_join_date",
                condition=~Q(status="active") | Q(joined_on__isnull=False),
                violation_error_message="An active membership needs the date the client joined.",
            ),
            models.CheckConstraint(
                name="groups_membership_join_day_and_moment_together",
                condition=Q(joined_on__isnull=True, joined_at__isnull=True)
                | Q(joined_on__isnull=False, joined_at__isnull=False),
                violation_error_message="A membership records both the day and the moment the client joined.",
            ),
            models.CheckConstraint(
                name="groups_membership_waitlisted_has_time",
                condition=~Q(status="waitlisted") | Q(waitlisted_at__isnull=False),
                violation_error_message="A waitlisted membership needs the time the client was waitlisted.",
            ),
            models.CheckConstraint(
                name="groups_membership_ended_has_date_and_reason",
                condition=~Q(status="ended") | (Q(ended_on__isnull=False) & ~Q(end_reason="")),
                violation_error_message="An ended membership needs the end date and reason.",
            ),
            models.CheckConstraint(
                name="groups_membership_ends_after_join",
                condition=Q(ended_on__isnull=True) | Q(joined_on__isnull=True) | Q(ended_on__gte=F("joined_on")),
                violation_error_message="A membership cannot end before the client joined.",
            ),
        ]
        indexes = [models.Index(fields=["group", "status"], name="groups_membership_group_status")]

    def __str__(self) -> str:
        return f"{self.client} in {self.group} ({self.get_status_display().lower()})"
