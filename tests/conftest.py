import os
import shutil
import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from iop.permissions import CLINIC_STAFF
from tests.factories import AgreementFactory, ClientFactory, TherapistFactory, TherapyGroupFactory, UserFactory
from tests.helpers import CHROMIUM, SCREENSHOTS, chromium_page

REQUIRE_SERVICES = os.environ.get("IOP_REQUIRE_SERVICES", "").strip().lower() in {"1", "true", "yes", "on"}


def _on_postgresql() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _redis_answers() -> bool:
    url = urlsplit(settings.CELERY_BROKER_URL)
    if url.scheme not in {"redis", "rediss"}:
        return False
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 6379), timeout=1):
            return True
    except OSError:
        return False


MISSING = {
    "postgres": (lambda: not _on_postgresql(), "needs PostgreSQL: set DATABASE_URL=postgres://..."),
    "redis": (lambda: not _redis_answers(), "needs Redis: set CELERY_BROKER_URL=redis://... to a running server"),
    "browser": (lambda: shutil.which(CHROMIUM) is None, f"needs Debian's Chromium at {CHROMIUM}"),
}


def pytest_runtest_setup(item):
    """Skip tests whose service is absent, with the reason; fail them when services are required."""
    for marker, (missing, reason) in MISSING.items():
        if item.get_closest_marker(marker) and missing():
            if REQUIRE_SERVICES:
                pytest.fail(f"IOP_REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
            pytest.skip(reason)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Django empties the tables between transactional tests with TRUNCATE, which the audit
    trail's trigger refuses in production; the test database lets it (the trail's own test turns
    the trigger back on inside its transaction)."""
    from django.db import connection

    if _on_postgresql():
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_truncate")


@pytest.fixture
def agreement(db):
    return AgreementFactory()


@pytest.fixture
def client_record(agreement):
    """The client of the story (``client`` is pytest-django's test client)."""
    return ClientFactory(legal_first_name="Jordan", legal_last_name="Avery")


@pytest.fixture
def other_client(agreement):
    return ClientFactory(legal_first_name="Morgan", legal_last_name="Blake")


@pytest.fixture
def therapist(db):
    return TherapistFactory(user__username="facilitator", user__first_name="Dana", user__last_name="Whitfield")


@pytest.fixture
def other_therapist(db):
    return TherapistFactory(user__username="other-therapist")


@pytest.fixture
def group(therapist):
    return TherapyGroupFactory(facilitator=therapist, capacity=8)


@pytest.fixture
def staff_user(db):
    user = UserFactory(username="staff-member", is_staff=True)
    user.groups.add(Group.objects.get(name=CLINIC_STAFF))
    return user


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def browser_page():
    """A phone-sized page in Debian's Chromium; make the test's data before asking for it."""
    with chromium_page() as page:
        yield page


@pytest.fixture
def screenshot_dir():
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def second_factor_not_required(settings):
    """As in the demo; tests of the second factor switch it on (tests/test_two_factor.py)."""
    settings.IOP_REQUIRE_2FA = False


@pytest.fixture(autouse=True)
def celery_eager(settings):
    """Tasks run in the test's own thread; the real-worker tests switch this off."""
    from iop.celery import app
    from scheduling import reminders
    from scheduling.channels import MemorySmsBackend

    settings.SMS_BACKEND = "scheduling.channels.MemorySmsBackend"
    MemorySmsBackend.outbox.clear()
    # A broker failure in one test must not pause publishing after commit in the next.
    reminders._publish_paused_until = 0.0
    previous = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = previous
