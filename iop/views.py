from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from iop import sign_in, two_factor
from iop.forms import (
    CountedPasswordChangeForm,
    ResetSetPasswordForm,
    SecondFactorForm,
    ThrottledPasswordResetForm,
    add_refusals,
)
from iop.health import broker_ok, database_ok
from iop.i18n import language_of, supported_language
from iop.middleware import record_activity
from iop.passwords import password_chosen_by_user

SETUP_KEY_SESSION = "iop_authenticator_key"


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each person to their own place: staff to the admin, therapists and clients to theirs."""
    user = request.user
    if hasattr(user, "therapist"):
        return redirect("therapist:dashboard")
    if hasattr(user, "client"):
        return redirect("scheduling:week")
    if user.is_staff:
        return redirect("admin:index")
    return redirect("scheduling:week")


@login_required
@require_POST
def keep_alive(request: HttpRequest) -> HttpResponse:
    """The "Stay signed in" button of the idle warning: the person is here, the clock starts again.
    A POST with the CSRF token, so that another site cannot keep a forgotten login open."""
    record_activity(request)
    return HttpResponse(status=204)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """503 when the web cannot work (its database or its broker is down); 200 otherwise, with
    "degraded" when background work is behind (IOP_HEALTH_REPORTS: reminders late, no worker or
    scheduler), which a monitor should alert on but a load balancer must not act on."""
    checks = {"database": database_ok(), "broker": broker_ok()}
    failing = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "failing" if failing else "ok",
        "checks": {name: "ok" if ok else "down" for name, ok in checks.items()},
    }
    if checks["database"]:
        for name, path in settings.IOP_HEALTH_REPORTS.items():
            report = import_string(path)()
            state = body["checks"][name] = report.pop("state")
            body[name] = report
            if state != "ok" and not failing:
                body["status"] = "degraded"
    return JsonResponse(body, status=503 if failing else 200)


# --- Signing in -----------------------------------------------------------------------------


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' answer to a password typed during a lockout, in the product's own look."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)


class PasswordChange(auth_views.PasswordChangeView):
    """Django's page; the old password counts toward the lockout, and a password of one's own
    clears the "change it at first sign-in" step."""

    form_class = CountedPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        response = super().form_valid(form)
        password_chosen_by_user(form.user)
        sign_in.update_steps(self.request, password_change_due=False)
        return response


class PasswordReset(auth_views.PasswordResetView):
    form_class = ThrottledPasswordResetForm
    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.txt"


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    # Never signs in: the next sign-in asks the second factor like any other (it is asked here too).
    post_reset_login = False
    form_class = ResetSetPasswordForm

    def get_success_url(self) -> str:
        # The "password changed" page has no link to tell whose it was: it names the language.
        language = language_of(self.user)
        url = super().get_success_url()
        return url if language == supported_language(None) else f"{url}?lang={language}"


def _safe_next(request: HttpRequest) -> str:
    """Where to go after a step: a path on this site, or the person's home."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and len(target) < 2000
        and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure())
    ):
        return target
    return reverse("home")


@never_cache
@login_required
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """After the password: the code from the app, or a recovery code."""
    if sign_in.is_verified(request):
        return HttpResponseRedirect(_safe_next(request))
    if not two_factor.has_second_factor(request.user):
        sign_in.update_steps(request, has_second_factor=False)
        return HttpResponseRedirect(_safe_next(request))
    form = SecondFactorForm(request.POST or None)
    if form.is_valid():
        device = two_factor.verify_second_factor(user=request.user, token=form.cleaned_data["otp_token"])
        if device is not None:
            otp_login(request, device)
            return HttpResponseRedirect(_safe_next(request))
        form.add_error("otp_token", two_factor.WRONG_CODE)
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": _safe_next(request)})


@never_cache
@login_required
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app: a QR code (and the key to type by hand), then one code from it."""
    verified = sign_in.is_verified(request)
    if two_factor.has_second_factor(request.user) and not verified:
        return redirect("two_factor_verify")
    key = request.session.get(SETUP_KEY_SESSION)
    if request.method == "GET" or not key:
        key = two_factor.new_authenticator_key()
        request.session[SETUP_KEY_SESSION] = key
    form = SecondFactorForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            codes = two_factor.turn_on_authenticator(user=request.user, key=key, token=form.cleaned_data["otp_token"])
        except ValidationError as error:
            add_refusals(form, error)
        else:
            del request.session[SETUP_KEY_SESSION]
            otp_login(request, TOTPDevice.objects.get(user=request.user))
            sign_in.update_steps(request, has_second_factor=True)
            return render(request, "registration/two_factor_codes.html", {"codes": codes, "just_set_up": True})
    context = {
        "form": form,
        "qr_svg": mark_safe(two_factor.authenticator_qr_svg(request.user, key)),  # made here, from our key
        "manual_key": two_factor.manual_key(key),
        "replacing": two_factor.has_second_factor(request.user),
    }
    return render(request, "registration/two_factor_setup.html", context)


@never_cache
@login_required
def two_factor_overview(request: HttpRequest) -> HttpResponse:
    """Two-step sign-in on or off, new recovery codes, and (clients) turning it off."""
    context = {
        "has_second_factor": two_factor.has_second_factor(request.user),
        "can_turn_off": two_factor.can_turn_off(request.user),
        "turn_off_form": SecondFactorForm(),
    }
    return render(request, "registration/two_factor.html", context)


@never_cache
@login_required
@require_POST
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown once; the old ones stop working."""
    if not sign_in.is_verified(request):
        return redirect("two_factor_verify")
    codes = two_factor.regenerate_recovery_codes(user=request.user)
    return render(request, "registration/two_factor_codes.html", {"codes": codes, "just_set_up": False})


@never_cache
@login_required
@require_POST
def two_factor_turn_off(request: HttpRequest) -> HttpResponse:
    form = SecondFactorForm(request.POST)
    if form.is_valid():
        try:
            two_factor.turn_off_two_factor(user=request.user, token=form.cleaned_data["otp_token"])
        except ValidationError as error:
            add_refusals(form, error)
        else:
            sign_in.update_steps(request, has_second_factor=False)
            messages.success(request, gettext("Two-step sign-in is off. Your password alone signs you in."))
            return redirect("two_factor")
    context = {
        "has_second_factor": two_factor.has_second_factor(request.user),
        "can_turn_off": two_factor.can_turn_off(request.user),
        "turn_off_form": form,
    }
    return render(request, "registration/two_factor.html", context)
