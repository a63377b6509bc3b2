"""Guards that answer a request the application could not read before any view sees it."""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

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
