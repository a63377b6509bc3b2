"""The audit trail: one append-only row per access to client information, and per sign-in event.

HIPAA's audit controls (45 CFR 164.312(b)) ask for a record of who did what to which record,
when and from where; its integrity rule asks that the record itself cannot be altered unseen.
So a row is never changed or removed: the model and its QuerySet refuse, PostgreSQL's trigger
refuses (migration 0002), and each row carries ``chain``, a keyed hash of its content and of the
row before it, which ``manage.py verify_audit`` checks from the first row to the last."""

from django.conf import settings
from django.db import models


class AuditTrailIsAppendOnly(Exception):
    """A change or removal of an audit row was attempted."""

    def __init__(self, message: str = "The audit trail is append-only: its rows are never changed or removed."):
        super().__init__(message)


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditTrailIsAppendOnly()

    def delete(self):
        raise AuditTrailIsAppendOnly()

    def about_client(self, client_id: int):
        return self.filter(client_id=client_id)


class AuditEvent(models.Model):
    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        CREATE = "create", "Created"
        CHANGE = "change", "Changed"
        DELETE = "delete", "Deleted"
        SIGN = "sign", "Signed"
        EXPORT = "export", "Exported"
        LOGIN = "login", "Signed in"
        LOGOUT = "logout", "Signed out"
        LOGIN_FAILED = "login_failed", "Failed sign-in"
        LOCKOUT = "lockout", "Locked out"
        PASSWORD = "password", "Password changed"
        TWO_FACTOR = "two_factor", "Second factor changed"

    class Role(models.TextChoices):
        STAFF = "staff", "Staff"
        THERAPIST = "therapist", "Therapist"
        CLIENT = "client", "Client"
        ANONYMOUS = "anonymous", "Not signed in"
        SYSTEM = "system", "System (task or command)"

    at = models.DateTimeField(db_index=True)
    # Kept as a plain reference: a row outlives the account, and an append-only row cannot be
    # nulled when a user is removed. ``username`` says who it was either way.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    username = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices)
    action = models.CharField(max_length=12, choices=Action.choices)
    model = models.CharField(max_length=100, blank=True, help_text='What was accessed, e.g. "progress.groupnote".')
    object_id = models.CharField(max_length=64, blank=True)
    client_id = models.BigIntegerField(
        null=True, blank=True, db_index=True, help_text="The client the record concerns (one row per client)."
    )
    detail = models.CharField(max_length=300, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=36, blank=True, db_index=True)
    chain = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = "audit event"
        indexes = [models.Index(fields=["client_id", "at"], name="audit_event_client_at")]

    def __str__(self) -> str:
        what = f" {self.model} {self.object_id}" if self.model else ""
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or self.get_role_display()} {self.action}{what}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AuditTrailIsAppendOnly()
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditTrailIsAppendOnly()
