from django.contrib import admin
from django.urls import include, path

from iop import views

# The clinic's own versions of Django's account pages come first; the rest (sign-in, sign-out,
# the "done" pages) are Django's, in the product's templates (templates/registration/).
accounts = [
    path("password_change/", views.PasswordChange.as_view(), name="password_change"),
    path("password_reset/", views.PasswordReset.as_view(), name="password_reset"),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirm.as_view(), name="password_reset_confirm"),
    path("two-step/", views.two_factor_overview, name="two_factor"),
    path("two-step/set-up/", views.two_factor_setup, name="two_factor_setup"),
    path("two-step/verify/", views.two_factor_verify, name="two_factor_verify"),
    path("two-step/recovery-codes/", views.two_factor_recovery_codes, name="two_factor_recovery_codes"),
    path("two-step/turn-off/", views.two_factor_turn_off, name="two_factor_turn_off"),
    path("keep-alive/", views.keep_alive, name="keep_alive"),
    path("", include("django.contrib.auth.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    # The clinic's reports are admin pages, under the admin's address.
    path("admin/reports/", include("progress.report_urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include(accounts)),
    path("schedule/", include("scheduling.urls")),
    path("schedule/", include("progress.portal_urls")),
    path("therapist/", include("progress.urls")),
    path("healthz", views.healthz, name="healthz"),
]
