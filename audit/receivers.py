"""Sign-in events, as Django's auth and django-axes announce them."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.trail import Action, record


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    record(Action.LOGIN, user=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(Action.LOGOUT, user=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    # The username typed, never the password: Django has already masked it in ``credentials``.
    typed = str(credentials.get("username", ""))[:150]
    record(Action.LOGIN_FAILED, detail=f"username typed: {typed}" if typed else "")


@receiver(user_locked_out, dispatch_uid="audit_lockout")
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    typed = str(username or "")[:150]
    record(Action.LOCKOUT, detail=f"username typed: {typed}" if typed else "")
