from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from iop.middleware import record_activity


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


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def broker_ok() -> bool:
    """The Celery broker accepts a connection within two seconds (reminders depend on it)."""
    from iop.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0.2, timeout=2)
        return True
    except Exception:
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": database_ok(), "broker": broker_ok()}
    failing = [name for name, ok in checks.items() if not ok]
    status = 503 if failing else 200
    body = {
        "status": "failing" if failing else "ok",
        "checks": {name: "ok" if ok else "down" for name, ok in checks.items()},
    }
    return JsonResponse(body, status=status)
