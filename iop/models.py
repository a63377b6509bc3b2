from django.conf import settings
from django.db import models
from django.utils import timezone


class PasswordChangeDue(models.Model):
    """Someone else (staff) chose this user's current password: the user chooses their own before
    anything else at their next sign-in (iop.middleware.SignInStepsMiddleware)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_change_due")
    since = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "password to change at next sign-in"
        verbose_name_plural = "passwords to change at next sign-in"

    def __str__(self):
        return f"{self.user} must choose their own password"
