"""Guards around every request: input no view could read, automatic logoff, no caching of
pages with client information."""

import logging
import sys
import time
import types
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.views import redirect_to_login
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from iop.db import CONNECTION_ERRORS, drop_broken_connection
from iop.i18n import language_of, supported_language
from iop.sign_in import Step, next_step

logger = logging.getLogger(__name__)

NUL = "\x00"


def _call(call, *args):
    return call(*args)


# Sixteen thousand locals, never used: a frame of 128 KiB (see OneStackChunkMiddleware).
_ROOMY_LOCALS = tuple(f"_unused{number}" for number in range(16_000))
call_in_roomy_frame = types.FunctionType(
    _call.__code__.replace(
        co_varnames=_call.__code__.co_varnames + _ROOMY_LOCALS,
        co_nlocals=_call.__code__.co_nlocals + len(_ROOMY_LOCALS),
    ),
    globals(),
    "call_in_roomy_frame",
)


class OneStackChunkMiddleware:
    """The request runs in one chunk of CPython's frame stack, not across two.

    CPython (3.11) keeps the frames of Python calls in chunks of 16 KiB, takes a new chunk from
    the system (mmap) when a call goes past the end of the current one and gives it back
    (munmap) as soon as that call returns. A loop whose calls cross that edge, say one include
    per option of a select, maps, faults in and unmaps memory on every turn: an admin change
    page spent 10 to 15 ms of its 30 to 60 in the kernel so, some 1,000 page faults, and which
    pages paid depended on how deep their loops happened to sit. A frame larger than a chunk
    gets a chunk of its own, twice the needed size: the request's frames fill the rest of it
    (some 120 KiB, about 600 frames) and no edge is crossed. At scale the client's change page
    went from 60 to 49 ms of processor time, the treatment plan's from 44 to 31, a group's from
    56 to 51; page faults from about 1,000 to 70 a request. Outermost, so that every frame of
    the request is inside."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return call_in_roomy_frame(self.get_response, request)


class RejectNulBytesMiddleware:
    """A NUL byte in the path, the query string or a posted field answers 400.

    No person types one, and PostgreSQL refuses it in any text it is given (a token looked up,
    a search, a filter): the view would fail with a 500 wherever the value reached a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._carries_nul(request):
            return HttpResponseBadRequest("The request contains a NUL character.", content_type="text/plain")
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request: HttpRequest) -> bool:
        if NUL in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
            return True
        if any(NUL in key or any(NUL in value for value in values) for key, values in request.GET.lists()):
            return True
        if request.method == "POST" and request.content_type in {
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        }:
            return any(NUL in key or any(NUL in value for value in values) for key, values in request.POST.lists())
        return False


class RetryAfterLostConnectionMiddleware:
    """A page that lost its database connection halfway (PostgreSQL restarted, a failover) is
    asked once more, on a new connection, instead of answering 500.

    Only pages that change nothing when asked twice: GET and HEAD. A form sent (POST) that lost
    its connection was rolled back whole, and its 500 says so; sending it again is the person's
    choice. ``CONN_HEALTH_CHECKS`` already replaces a connection that broke between requests;
    this covers the one that breaks during a request. Django turns the error into a 500 inside the
    layers below, so the error is noticed through ``got_request_exception``."""

    RETRIED_METHODS = {"GET", "HEAD"}

    def __init__(self, get_response):
        self.get_response = get_response
        got_request_exception.connect(self._note_lost_connection, dispatch_uid="iop-lost-connection")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "_lost_database_connection", False) and request.method in self.RETRIED_METHODS:
            request._lost_database_connection = False
            drop_broken_connection()
            logger.warning("Database connection lost during %s %s; asked again.", request.method, request.path)
            response.close()
            response = self.get_response(request)
        return response

    @staticmethod
    def _note_lost_connection(sender, request=None, **kwargs) -> None:
        if request is not None and isinstance(sys.exc_info()[1], CONNECTION_ERRORS):
            request._lost_database_connection = True


class SignInStepsMiddleware:
    """A signed-in person who still owes a step (iop.sign_in) sees that step's page and nothing else:
    every other page, the admin included, sends them there. Signing out stays possible.

    After ``django_otp.middleware.OTPMiddleware``, which tells whether this session typed a code."""

    PAGES = {
        Step.VERIFY: "two_factor_verify",
        Step.CHANGE_PASSWORD: "password_change",
        Step.SET_UP: "two_factor_setup",
    }
    ALWAYS_OPEN = {"logout", "password_change_done", "healthz", "keep_alive"}

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not request.path_info.startswith(f"/{settings.STATIC_URL.lstrip('/')}"):
            step = next_step(request)
            if step is not None:
                page = self.PAGES[step]
                try:
                    here = resolve(request.path_info).url_name
                except Resolver404:
                    here = None
                if here != page and here not in self.ALWAYS_OPEN:
                    target = reverse(page)
                    if request.method == "GET" and here != "home" and len(request.get_full_path()) < 2000:
                        target += "?" + urlencode({"next": request.get_full_path()})
                    return redirect(target)
        return self.get_response(request)


# --- Automatic logoff ------------------------------------------------------------------------

# Session keys: when the person last did something (seconds since the epoch), and which limit
# applies to them ("staff" for staff and therapists, "client" for a client's portal login).
LAST_ACTIVITY = "iop_last_activity"
IDLE_ROLE = "iop_idle_role"
# A request within this many seconds (or a tenth of the limit, if that is less) of the recorded
# activity does not write the session again: a page of clicks costs one session UPDATE a minute,
# not one per request. The page's countdown starts from the recorded moment
# (``request.idle_seconds_left``), so the two never disagree.
ACTIVITY_RESOLUTION_SECONDS = 60


def idle_role(user) -> str:
    # A client's portal login has a client record; everyone else reads other people's records.
    return "client" if hasattr(user, "client") else "staff"


def idle_minutes(role: str) -> float:
    return settings.IOP_IDLE_MINUTES_CLIENT if role == "client" else settings.IOP_IDLE_MINUTES_STAFF


def record_activity(request: HttpRequest, *, role: str | None = None) -> None:
    """Now is the person's last activity (at sign-in, on a keep-alive, on a request)."""
    request.session[LAST_ACTIVITY] = time.time()
    if role is not None:
        request.session[IDLE_ROLE] = role


def start_idle_clock(sender, request, user, **kwargs) -> None:
    """At sign-in (``user_logged_in``): the clock starts, and the person's limit is chosen once,
    so that no later request needs a query to know whether they are a client."""
    if request is not None and hasattr(request, "session"):
        record_activity(request, role=idle_role(user))


class IdleLogoutMiddleware:
    """Signs a person out after a stretch without any request (staff and therapists 15 minutes,
    clients 30 by default), and says so on the sign-in page.

    The server decides; the page's warning (static/js/idle-timeout.js) only announces it and
    offers the keep-alive (``iop.views.keep_alive``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.get_response(request)
        session = request.session
        role = session.get(IDLE_ROLE)
        if role is None:
            # A session that began before this middleware: choose the limit once.
            role = session[IDLE_ROLE] = idle_role(request.user)
        minutes = idle_minutes(role)
        limit = minutes * 60
        now = time.time()
        last = session.get(LAST_ACTIVITY)
        if last is not None and now - last > limit:
            logout(request)
            messages.info(request, f"You were signed out after {minutes:g} minutes without activity.")
            return redirect_to_login(request.get_full_path())
        resolution = min(ACTIVITY_RESOLUTION_SECONDS, limit / 10)
        stale = last is None or not 0 <= now - last < resolution
        request.idle_limit_seconds = int(limit)
        request.idle_seconds_left = int(limit) if stale else max(0, int(limit - (now - last)))
        response = self.get_response(request)
        # A refused request (a POST without its CSRF token) is nobody's activity.
        if stale and response.status_code != 403 and request.user.is_authenticated:
            session[LAST_ACTIVITY] = now
        return response


class NoStoreWhenSignedInMiddleware:
    """Every answer to a signed-in person may carry client information: no browser or proxy keeps
    a copy (the back button on a shared computer shows nothing after sign-out). Static files are
    answered by whitenoise before this runs and stay cacheable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


class ClientLanguageMiddleware:
    """Each page in the language of the person it is for (iop/i18n.py).

    Signed in, a client's pages speak the client's preferred language, everyone else's the
    clinic's; the browser's Accept-Language is not asked. Signed out, the sign-in and password
    pages speak the language the address names: ``?lang=es`` (the sign-in page's language links,
    the page after a password reset), or the person a password-reset link is for."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            # Staff and therapists (known at sign-in, see start_idle_clock) cost no query.
            staff = request.session.get(IDLE_ROLE) == "staff"
            language = supported_language(None) if staff else language_of(request.user)
        else:
            language = _named_language(request.GET.get("lang", ""))
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            language = translation.get_language()
            translation.activate(settings.LANGUAGE_CODE)
        response.headers.setdefault("Content-Language", language)
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        uidb64 = view_kwargs.get("uidb64")
        if uidb64 and not request.user.is_authenticated:
            user = _user_of_reset_link(uidb64)
            if user is not None:
                request.LANGUAGE_CODE = language_of(user)
                translation.activate(request.LANGUAGE_CODE)


def _named_language(code: str) -> str:
    """A language the clinic has, named exactly; anything else is the clinic's own."""
    codes = {code for code, _name in settings.LANGUAGES}
    return code if code in codes else supported_language(None)


def _user_of_reset_link(uidb64: str):
    """The user a password-reset link is for (as Django's view decodes it), or None."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uidb64)))
    except (ValueError, TypeError, OverflowError):
        return None
    if not 0 < pk < 2**63:
        return None
    return get_user_model()._default_manager.select_related("client").filter(pk=pk).first()
