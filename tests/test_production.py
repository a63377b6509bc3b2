"""What a clinic's server sends with the README's production settings: debug off, https only
(HSTS, a redirect from plain http behind the proxy's X-Forwarded-Proto), a Content-Security-Policy
of the app's own origin, and `manage.py check --deploy` without a warning."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db


def production_env(tmp_path, **extra) -> dict[str, str]:
    """The README's production settings, with SQLite standing in for PostgreSQL."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_URL", "CLINIC_", "IOP_", "CELERY_"))
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "iop.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "iop.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        **extra,
    }


def run_django(args, env):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_finds_no_issue_with_the_readmes_production_settings(tmp_path):
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env(tmp_path))

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
    assert "WARNING" not in output


def test_check_deploy_warns_when_https_is_switched_off(tmp_path):
    env = production_env(tmp_path, DJANGO_SECURE_SSL_REDIRECT="off", DJANGO_SECURE_HSTS_SECONDS="0")

    result = run_django(["manage.py", "check", "--deploy"], env)

    assert "security.W004" in result.stdout + result.stderr
    assert "security.W008" in result.stdout + result.stderr


PRODUCTION_SETTINGS = [
    "DEBUG",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_EXPIRE_AT_BROWSER_CLOSE",
]
PRINT_SETTINGS = (
    "import django, json; django.setup(); from django.conf import settings;"
    f" print(json.dumps({{name: getattr(settings, name) for name in {PRODUCTION_SETTINGS!r}}}))"
)


def test_production_defaults(tmp_path):
    import json

    result = run_django(["-c", PRINT_SETTINGS], production_env(tmp_path))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_REDIRECT_EXEMPT": ["^healthz$"],
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_EXPIRE_AT_BROWSER_CLOSE": True,
    }


# --- The headers, in this process with production's values ------------------------------------


@pytest.fixture
def https_only(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def test_plain_http_is_redirected_to_https(client, https_only):
    response = client.get(reverse("login"))

    assert response.status_code == 301
    assert response.url == "https://testserver/accounts/login/"


def test_the_health_check_answers_over_plain_http(client, https_only):
    response = client.get(reverse("healthz"))

    assert response.status_code in {200, 503}


def test_https_through_the_proxy_is_served_with_hsts(client, https_only):
    response = client.get(reverse("login"), headers={"x-forwarded-proto": "https"})

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_every_page_carries_a_content_security_policy_of_its_own_origin(client):
    response = client.get(reverse("login"))

    policy = dict(part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    assert policy == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'self'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }
    assert "unsafe-inline" not in response["Content-Security-Policy"]
