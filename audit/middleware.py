from audit.context import actor_for, reset_actor, set_actor
from audit.trail import reads_of_request


class AuditContextMiddleware:
    """Names the actor of each request for the audit trail; the response carries the request id
    (``X-Request-ID``) so a row of the trail and a line of a server log can be matched.

    It sits after the authentication middleware, so it knows who is signed in; a sign-in during
    the request is recorded by the sign-in event itself (audit.receivers).

    What the request's page and its parts showed is written as one record when the page is done
    and before it leaves (audit.trail.reads_of_request): if that write fails, the person gets an
    error page instead of the page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        actor = actor_for(request)
        request.audit_request_id = actor.request_id
        token = set_actor(actor)
        try:
            with reads_of_request():
                response = self.get_response(request)
        finally:
            reset_actor(token)
        response["X-Request-ID"] = actor.request_id
        return response
