from django.conf import settings


def clinic(request):
    return {"clinic_short_name": settings.CLINIC_SHORT_NAME}


def idle_timeout(request):
    """What the idle warning on every signed-in page needs (templates/includes/idle_timeout.html):
    the seconds left before the automatic logoff, counted from the activity the server recorded."""
    seconds_left = getattr(request, "idle_seconds_left", None)
    if seconds_left is None:
        return {}
    return {
        "idle_seconds_left": seconds_left,
        "idle_limit_seconds": request.idle_limit_seconds,
        "idle_warning_seconds": settings.IOP_IDLE_WARNING_SECONDS,
    }
