"""Who is acting and from where, for the request (or task) being served.

The middleware sets it at the start of each request; a service that records a write reads it
here instead of taking the request as an argument. Outside a request (a Celery task, a
management command) the actor is the system."""

import contextvars
import uuid
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Actor:
    user: object | None = None  # the request's user (perhaps anonymous), or None for the system
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


SYSTEM = Actor()

_current: contextvars.ContextVar[Actor] = contextvars.ContextVar("audit_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


def set_actor(actor: Actor) -> contextvars.Token:
    return _current.set(actor)


def reset_actor(token: contextvars.Token) -> None:
    _current.reset(token)


def client_ip(request) -> str | None:
    """The address the request came from, for the audit trail and the sign-in lockout. Behind
    proxies that append to X-Forwarded-For, ``IOP_PROXY_COUNT`` says how many; the address is
    then read that many hops from the right, where no client can forge it."""
    hops = settings.IOP_PROXY_COUNT
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops] or None
    return request.META.get("REMOTE_ADDR") or None


def actor_for(request) -> Actor:
    request_id = request.META.get("HTTP_X_REQUEST_ID", "")
    if not (0 < len(request_id) <= 36 and request_id.replace("-", "").isalnum()):
        request_id = str(uuid.uuid4())
    return Actor(
        # Left lazy: read only when a row is written, so a page that records nothing costs nothing.
        user=getattr(request, "user", None),
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        request_id=request_id,
    )
