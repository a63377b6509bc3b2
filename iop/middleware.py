"""Guards that answer a request the application could not read before any view sees it."""

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse

from iop.sign_in import Step, next_step

NUL = "\x00"


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


class SignInStepsMiddleware:
    """A signed-in person who still owes a step (iop.sign_in) sees that step's page and nothing else:
    every other page, the admin included, sends them there. Signing out stays possible.

    After ``django_otp.middleware.OTPMiddleware``, which tells whether this session typed a code."""

    PAGES = {
        Step.VERIFY: "two_factor_verify",
        Step.CHANGE_PASSWORD: "password_change",
        Step.SET_UP: "two_factor_setup",
    }
    ALWAYS_OPEN = {"logout", "password_change_done", "healthz"}

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
