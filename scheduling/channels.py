"""How a rendered reminder leaves the clinic: email through Django's email backend, SMS through a
small backend chosen by ``settings.SMS_BACKEND`` (a dotted path, so a real provider plugs in
without touching this module)."""

import contextlib
import datetime
import smtplib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone
from django.utils.module_loading import import_string

from iop.discretion import undiscreet_words


class ChannelError(Exception):
    """Sending failed; ``transient`` says whether trying again later may succeed."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class Message:
    """A rendered reminder: nothing in it but what the client may see."""

    reference: str
    subject: str
    text: str
    html: str


class SmsBackend(Protocol):
    def send(self, *, to: str, body: str, reference: str) -> None:
        """Deliver one text message; raise ``ChannelError`` when it cannot.

        ``reference`` is the same on every attempt of one reminder: pass it to the provider as its
        idempotency key where its API takes one, so that a copy sent after a crash is dropped."""


class ConsoleSmsBackend:
    """Writes each text message to standard output (a development or not-yet-configured default)."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, *, to: str, body: str, reference: str) -> None:
        self.stream.write(f"SMS to {to} [{reference}]: {body}\n")
        self.stream.flush()


class MemorySmsBackend:
    """Keeps text messages in ``MemorySmsBackend.outbox`` (tests, like Django's locmem email)."""

    outbox: list[dict[str, str]] = []

    def send(self, *, to: str, body: str, reference: str) -> None:
        self.outbox.append({"to": to, "body": body, "reference": reference})


class FileSmsBackend:
    """Appends each text message to ``settings.SMS_FILE_PATH`` (the demo's SMS outbox)."""

    _lock = threading.Lock()

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or settings.SMS_FILE_PATH)

    def send(self, *, to: str, body: str, reference: str) -> None:
        stamp = timezone.now().isoformat(timespec="seconds")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, self.path.open("a", encoding="utf-8") as outbox:
                outbox.write(f"{stamp} to {to} [{reference}]: {body}\n")
        except OSError as error:
            raise ChannelError(f"SMS outbox not writable: {error}", transient=True) from error


def sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_email(*, to: str, message: Message, connection=None) -> None:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        # One Message-ID per reminder, the same on every attempt: the idempotency key of email. A
        # mail server or client that sees it twice can drop the copy.
        headers={"Message-ID": f"<{message.reference}@{_mail_domain()}>"},
        connection=connection,
    )
    email.attach_alternative(message.html, "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        raise ChannelError(f"Address refused: {error}", transient=False) from error
    except (smtplib.SMTPException, OSError) as error:
        raise ChannelError(f"Email not sent: {error}", transient=True) from error


def _mail_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "localhost"


class Outbox:
    """Sends many messages over one connection per channel: the mail server's connection opens at
    the first email and closes at the end (or after a failure, to open afresh for the next).

    Between two messages the connection stays open, so a message counts as sent the moment the
    server accepted it (its answer to DATA), not after the goodbye: the caller records it as sent
    right then, and the window in which a killed worker would send it twice is that one answer.
    """

    def __init__(self):
        self._mail = None
        self._sms = None
        self._looked_at: dict[tuple[str, str, str], list[str]] = {}

    def __enter__(self) -> "Outbox":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._mail is not None:
            mail, self._mail = self._mail, None
            with contextlib.suppress(smtplib.SMTPException, OSError):
                mail.close()

    def send(self, *, channel: str, to: str, message: Message) -> datetime.datetime:
        """Send by the named channel and return when it left.

        The last look before a message leaves: one that carries a listed word is never sent,
        whatever let it through (a short name whose system check was silenced, a template edited
        in haste). It fails for good, visibly, in the admin's reminder list."""
        found = self._undiscreet_words(message)
        if found:
            raise ChannelError(
                f"Not sent: the message would contain {', '.join(dict.fromkeys(found))}, which gives the kind of "
                "care away.",
                transient=False,
            )
        try:
            if channel == "email":
                send_email(to=to, message=message, connection=self._mail_connection())
            elif channel == "sms":
                self._sms_backend().send(to=to, body=message.text, reference=message.reference)
            else:
                raise ChannelError(f"Unknown channel {channel!r}.", transient=False)
        except ChannelError:
            self.close()  # a connection that failed once is not trusted with the next message
            raise
        return timezone.now()

    def _undiscreet_words(self, message: Message) -> list[str]:
        # Every message is looked at; the members of one session get the same text, looked at once.
        texts = (message.subject, message.text, message.html)
        if texts not in self._looked_at:
            self._looked_at[texts] = undiscreet_words(" ".join(texts))
        return self._looked_at[texts]

    def _mail_connection(self):
        if self._mail is None:
            mail = get_connection()
            try:
                mail.open()
            except (smtplib.SMTPException, OSError) as error:
                raise ChannelError(f"Mail server unreachable: {error}", transient=True) from error
            self._mail = mail
        return self._mail

    def _sms_backend(self) -> SmsBackend:
        if self._sms is None:
            self._sms = sms_backend()
        return self._sms


def send(*, channel: str, to: str, message: Message) -> datetime.datetime:
    """Send one message on a connection of its own (see ``Outbox.send``)."""
    with Outbox() as outbox:
        return outbox.send(channel=channel, to=to, message=message)
