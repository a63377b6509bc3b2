import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from iop.constraints import ConstraintErrorsOnFields
from iop.dates import validate_clinic_date, validate_date_of_birth


def new_calendar_token() -> str:
    return secrets.token_urlsafe(24)


class LevelOfCare(models.TextChoices):
    ADULT_IOP = "adult_iop", _("Adult IOP")
    ADOLESCENT_IOP = "adolescent_iop", _("Adolescent IOP")


class Language(models.TextChoices):
    """The languages a client can ask for and a group can be held in, as language codes.

    The codes are the ones Django's translation machinery uses (``LANGUAGES``), so the portal can speak
    a client's language where a translation exists; the others fall back to English.
    """

    ENGLISH = "en", "English"
    SPANISH = "es", "Spanish (Español)"
    ARABIC = "ar", "Arabic (العربية)"
    CHINESE = "zh-hans", "Chinese (中文)"
    FRENCH = "fr", "French (Français)"
    HAITIAN_CREOLE = "ht", "Haitian Creole (Kreyòl ayisyen)"
    KOREAN = "ko", "Korean (한국어)"
    PORTUGUESE = "pt", "Portuguese (Português)"
    RUSSIAN = "ru", "Russian (Русский)"
    SOMALI = "so", "Somali (Soomaali)"
    TAGALOG = "tl", "Tagalog"
    VIETNAMESE = "vi", "Vietnamese (Tiếng Việt)"
    ASL = "ase", "American Sign Language"


class GroupFocus(models.TextChoices):
    """Who a group is for or how it works, beyond its kind: what a client may welcome or rather
    not have (``Client.welcomes_focuses``, ``Client.avoids_focuses``) when staff find a group."""

    WOMEN = "women", "Women"
    MEN = "men", "Men"
    YOUNG_ADULTS = "young_adults", "Young adults"
    OLDER_ADULTS = "older_adults", "Older adults"
    VETERANS = "veterans", "Veterans"
    LGBTQ_AFFIRMING = "lgbtq_affirming", "LGBTQ+ affirming"
    FAITH_BASED = "faith_based", "Faith-based"
    COUPLES = "couples", "Couples"
    TRAUMA_INFORMED = "trauma_informed", "Trauma-informed"
    PARENTS = "parents", "Parents"


def validate_focuses(value) -> None:
    """A list of focus codes from ``GroupFocus``, each once."""
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValidationError("Choose focuses from the list.")
    unknown = sorted(set(value) - set(GroupFocus.values))
    if unknown:
        raise ValidationError(f"Unknown focus: {', '.join(unknown)}.")
    if len(set(value)) != len(value):
        raise ValidationError("Each focus once.")


# What staff type to find a client: the start of a chart number or of a name.
FOUND_BY = ("chart_number", "legal_last_name", "legal_first_name", "preferred_name")


class ClientQuerySet(models.QuerySet):
    def found_by(self, search_term: str):
        """The clients whose chart number or legal or preferred name starts with each word of
        ``search_term`` ("ali mor" finds Alice Moreno).

        Admin lists of a client's rows (attendance, notes, reminders, memberships) search from
        here: a few clients are found through their indexes (``clients/0004``), then their rows
        through the row table's client index, instead of joining every row to its client first."""
        clients = self
        for word in search_term.split():
            match = Q()
            for field in FOUND_BY:
                match |= Q(**{f"{field}__istartswith": word})
            clients = clients.filter(match)
        return clients

    def agreement_due(self):
        """Clients in care (intake or active) without a current signature: the latest version of
        the confidentiality agreement, unrevoked. They cannot join a group or be marked present
        until they sign (again)."""
        current = AgreementSignature.objects.current().filter(client=models.OuterRef("pk"))
        return self.exclude(status=Client.Status.DISCHARGED).exclude(models.Exists(current))


class Client(ConstraintErrorsOnFields, models.Model):
    constraint_error_fields = {"chart_number_taken": "chart_number"}

    class Status(models.TextChoices):
        INTAKE = "intake", "Intake"
        ACTIVE = "active", "Active"
        DISCHARGED = "discharged", "Discharged"

    class Interpreter(models.TextChoices):
        NOT_NEEDED = "", "Not needed"
        NEEDED = "needed", "Needed, not arranged yet"
        ARRANGED = "arranged", "Arranged"

    class ReminderChannel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "Text message (SMS)"
        NONE = "none", "No reminders"

    # Unique whatever its letter case (the constraint below): "iop-0042" is IOP-0042's chart.
    chart_number = models.CharField(max_length=20)
    legal_first_name = models.CharField(max_length=100)
    legal_last_name = models.CharField(max_length=100)
    preferred_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="What the client likes to be called; shown instead of the legal first name.",
    )
    pronouns = models.CharField(max_length=30, blank=True)
    date_of_birth = models.DateField(validators=[validate_date_of_birth])
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.INTAKE)
    admission_date = models.DateField(null=True, blank=True)
    discharge_date = models.DateField(null=True, blank=True, validators=[validate_clinic_date])
    level_of_care = models.CharField(max_length=20, choices=LevelOfCare.choices, default=LevelOfCare.ADULT_IOP)

    preferred_language = models.CharField(max_length=10, choices=Language.choices, default=Language.ENGLISH)
    communication_preferences = models.TextField(
        blank=True, help_text="E.g. needs an interpreter, prefers written instructions, hard of hearing."
    )
    cultural_considerations = models.TextField(blank=True)
    interpreter = models.CharField(
        max_length=10,
        choices=Interpreter.choices,
        blank=True,
        help_text="Whether the client needs an interpreter in groups held in another language than theirs.",
    )
    # What the client said they would welcome, or would rather not have, in a group: the group
    # finder ranks groups by their focus against these (scheduling.finder).
    welcomes_focuses = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_focuses],
        verbose_name="would welcome a group for",
    )
    avoids_focuses = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_focuses],
        verbose_name="would rather not be in a group for",
    )

    reminder_channel = models.CharField(max_length=8, choices=ReminderChannel.choices, default=ReminderChannel.EMAIL)
    reminder_consent = models.BooleanField(
        default=False, help_text="The client agreed, in writing, to receive appointment reminders."
    )

    portal_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="client",
        help_text="The login the client uses to see their own schedule.",
    )
    # The secret in the client's calendar-feed address (scheduling.services.rotate_calendar_token).
    calendar_token = models.CharField(max_length=64, unique=True, default=new_calendar_token, editable=False)
    # Couples are treated together; each partner points at the other (see services.link_partners).
    partner = models.OneToOneField("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ClientQuerySet.as_manager()

    class Meta:
        ordering = ["legal_last_name", "legal_first_name", "chart_number"]
        constraints = [
            models.UniqueConstraint(
                Lower("chart_number"),
                name="clients_client_chart_number_unique_any_case",
                violation_error_message="Another client already has this chart number.",
                violation_error_code="chart_number_taken",
            ),
            models.CheckConstraint(
                name="clients_client_discharge_after_admission",
                condition=Q(discharge_date__isnull=True)
                | Q(admission_date__isnull=True)
                | Q(discharge_date__gte=F("admission_date")),
                violation_error_message="The discharge date cannot be before the admission date.",
            ),
            models.CheckConstraint(
                name="clients_client_active_has_admission_date",
                condition=~Q(status="active") | Q(admission_date__isnull=False),
                violation_error_message="An active client needs an admission date.",
            ),
            models.CheckConstraint(
                name="clients_client_discharged_has_discharge_date",
                condition=~Q(status="discharged") | Q(discharge_date__isnull=False),
                violation_error_message="A discharged client needs a discharge date.",
            ),
            models.CheckConstraint(
                name="clients_client_preferred_language_known",
                condition=Q(preferred_language__in=Language.values),
                violation_error_message="Choose a language from the list.",
            ),
            models.CheckConstraint(
                name="clients_client_interpreter_known",
                condition=Q(interpreter__in=["", "needed", "arranged"]),
                violation_error_message="Choose whether an interpreter is needed from the list.",
            ),
            models.CheckConstraint(
                name="clients_client_not_own_partner",
                condition=~Q(partner=F("pk")),
                violation_error_message="A client cannot be their own partner.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.chart_number})"

    def clean(self):
        super().clean()
        lists = (self.welcomes_focuses, self.avoids_focuses)
        if not all(isinstance(codes, list) and all(isinstance(code, str) for code in codes) for codes in lists):
            return  # the fields' own validators say what is wrong
        both = set(self.welcomes_focuses) & set(self.avoids_focuses)
        if both:
            names = ", ".join(GroupFocus(code).label for code in sorted(both) if code in GroupFocus.values)
            raise ValidationError({"avoids_focuses": f"Welcomed and avoided at once: {names}."})

    @property
    def first_name(self) -> str:
        return self.preferred_name or self.legal_first_name

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.legal_last_name}"

    @property
    def full_legal_name(self) -> str:
        return f"{self.legal_first_name} {self.legal_last_name}"

    @property
    def initials(self) -> str:
        return f"{self.first_name[:1]}.{self.legal_last_name[:1]}.".upper()


class ConfidentialityAgreement(models.Model):
    """One version of the group confidentiality agreement text. The highest version is current."""

    version = models.PositiveIntegerField(
        unique=True,
        error_messages={
            "unique": "This version number is already taken.",
        },
    )
    title = models.CharField(max_length=200, default="Group confidentiality agreement")
    text = models.TextField()
    effective_on = models.DateField(validators=[validate_clinic_date])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        get_latest_by = "version"
        constraints = [
            models.CheckConstraint(
                name="clients_agreement_version_positive",
                condition=Q(version__gte=1),
                violation_error_message="The version number starts at 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title}, version {self.version}"


class AgreementSignatureQuerySet(models.QuerySet):
    def unrevoked(self):
        return self.filter(revoked_at__isnull=True)

    def current(self):
        """Unrevoked signatures of the latest agreement version."""
        latest = ConfidentialityAgreement.objects.order_by("-version").values("pk")[:1]
        return self.unrevoked().filter(agreement=models.Subquery(latest))


class AgreementSignature(models.Model):
    class Method(models.TextChoices):
        PAPER = "paper", "On paper, in person"
        ELECTRONIC = "electronic", "Electronically, in person"
        VIRTUAL = "virtual", "Electronically, during a video visit"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="signatures")
    agreement = models.ForeignKey(ConfidentialityAgreement, on_delete=models.PROTECT, related_name="signatures")
    signed_at = models.DateTimeField(validators=[validate_clinic_date])
    method = models.CharField(max_length=12, choices=Method.choices, default=Method.PAPER)
    witnessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="witnessed_signatures"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = AgreementSignatureQuerySet.as_manager()

    class Meta:
        ordering = ["-signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "agreement"],
                condition=Q(revoked_at__isnull=True),
                name="clients_signature_one_unrevoked_per_client_agreement",
                violation_error_message="This client already has a signature of this agreement version in force.",
            ),
            models.CheckConstraint(
                name="clients_signature_revocation_has_reason",
                condition=Q(revoked_at__isnull=True, revoked_reason="")
                | (Q(revoked_at__isnull=False) & ~Q(revoked_reason="")),
                violation_error_message="A revoked signature needs the date and the reason.",
            ),
        ]
        # The default order (the admin's list of signatures), walked instead of sorted.
        indexes = [models.Index(fields=["signed_at", "id"], name="clients_signature_signed_order")]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "in force"
        return f"{self.client} signed v{self.agreement.version} ({state})"


class OrientationItem(models.TextChoices):
    """What a client goes through before their first group (the program's preparation)."""

    ACTIVE_LISTENING = "active_listening", _("Active listening")
    RESPECTFUL_COMMUNICATION = "respectful_communication", _("Respectful communication")
    PERSONAL_BOUNDARIES = "personal_boundaries", _("Personal boundaries")
    FEEDBACK = "feedback", _("Giving and receiving feedback")
    CONFIDENTIALITY = "confidentiality", _("The confidentiality agreement")


class OrientationStep(ConstraintErrorsOnFields, models.Model):
    """One item of a client's orientation checklist: who went through it with the client, and on
    which day. The checklist is finished when every item has its step."""

    constraint_error_fields = {"orientation_item_taken": "item"}

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="orientation_steps")
    item = models.CharField(max_length=30, choices=OrientationItem.choices)
    covered_on = models.DateField(
        "gone through on", validators=[validate_clinic_date], help_text="The day it was gone through with the client."
    )
    covered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="gone through by",
        help_text="The staff member or therapist who went through it with the client.",
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "covered_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "item"],
                name="clients_orientation_one_per_item",
                violation_error_message="This item is already ticked for this client.",
                violation_error_code="orientation_item_taken",
            ),
            models.CheckConstraint(
                name="clients_orientation_known_item",
                condition=Q(item__in=OrientationItem.values),
                violation_error_message="Choose an item of the orientation checklist.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client}: {self.get_item_display()}"
