import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from iop.env import env_bool, env_int, env_phone, env_time_zone, env_url

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("raw, expected", [("1", True), ("on", True), ("No", False), ("", False)])
def test_booleans_are_read_from_common_words(monkeypatch, raw, expected):
    monkeypatch.setenv("SOME_FLAG", raw)

    assert env_bool("SOME_FLAG", default=not expected) is expected


def test_a_bad_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "maybe")

    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG='maybe' is not a boolean"):
        env_bool("DJANGO_DEBUG", default=True)


def test_a_bad_url_names_the_variable(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://db/iop")

    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL='mysql://db/iop'"):
        env_url("DATABASE_URL", default="sqlite://", schemes={"sqlite", "postgres"})


def test_a_bad_time_zone_names_the_variable(monkeypatch):
    monkeypatch.setenv("CLINIC_TIME_ZONE", "Mars/Olympus")

    with pytest.raises(ImproperlyConfigured, match="CLINIC_TIME_ZONE='Mars/Olympus'"):
        env_time_zone("CLINIC_TIME_ZONE", default="UTC")


def test_a_bad_number_names_the_variable(monkeypatch):
    monkeypatch.setenv("SESSION_GENERATION_WEEKS", "eight")

    with pytest.raises(ImproperlyConfigured, match="SESSION_GENERATION_WEEKS='eight'"):
        env_int("SESSION_GENERATION_WEEKS", default=8)


@pytest.mark.parametrize("raw", ["(312) 555-0142", "+1 312 555 0142", "312.555.0142 ext. 4", "312-555-0142 x12"])
def test_a_phone_number_is_read_as_people_write_it(monkeypatch, raw):
    monkeypatch.setenv("CLINIC_PHONE", raw)

    assert env_phone("CLINIC_PHONE") == raw


@pytest.mark.parametrize("raw", ["call us", "1-800-SOBRIETY", "555-01", "555 0142 555 0142 555 0142", "tel:3125550142"])
def test_a_bad_phone_number_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("CLINIC_PHONE", raw)

    with pytest.raises(ImproperlyConfigured, match="CLINIC_PHONE="):
        env_phone("CLINIC_PHONE")


def test_an_unset_phone_number_is_empty(monkeypatch):
    monkeypatch.delenv("CLINIC_PHONE", raising=False)

    assert env_phone("CLINIC_PHONE") == ""


def _start_django(**env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CLINIC_"))}
    # Debug on unless the case says otherwise, so that each case meets only its own bad value.
    environment.update({"DJANGO_DEBUG": "on", **env})
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "iop.settings"},
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize(
    "env, named",
    [
        ({"DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG"),
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"CELERY_BROKER_URL": "http://x"}, "CELERY_BROKER_URL"),
        ({"CLINIC_TIME_ZONE": "Nowhere/Else"}, "CLINIC_TIME_ZONE"),
        ({"CLINIC_PHONE": "1-800-RECOVERY"}, "CLINIC_PHONE"),
        ({"DJANGO_DEBUG": "off"}, "DJANGO_SECRET_KEY"),
        ({"IOP_IDLE_MINUTES_STAFF": "a quarter hour"}, "IOP_IDLE_MINUTES_STAFF"),
        ({"IOP_IDLE_MINUTES_CLIENT": "1"}, "IOP_IDLE_MINUTES_CLIENT"),
        ({"DJANGO_SECURE_HSTS_SECONDS": "a year"}, "DJANGO_SECURE_HSTS_SECONDS"),
        ({"DJANGO_SECURE_SSL_REDIRECT": "sometimes"}, "DJANGO_SECURE_SSL_REDIRECT"),
    ],
)
def test_start_up_stops_on_a_malformed_value(env, named):
    result = _start_django(**env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.splitlines()[-1]


def test_debug_is_off_unless_asked_for():
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CLINIC_"))}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**environment, "DJANGO_SETTINGS_MODULE": "iop.settings"},
        capture_output=True,
        text=True,
    )

    # Without DJANGO_DEBUG the settings are production's, which have no default secret key.
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def _manage_py(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "CLINIC_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**environment, "DATABASE_URL": "sqlite:///:memory:", **env},
        capture_output=True,
        text=True,
    )


DEBUG_OF_SETTINGS = ("shell", "-c", "from django.conf import settings; print('DEBUG', settings.DEBUG)")


def test_manage_py_on_a_copy_without_a_secret_key_runs_as_development_and_says_so():
    result = _manage_py(*DEBUG_OF_SETTINGS)

    assert result.returncode == 0, result.stderr
    assert "DEBUG True" in result.stdout
    assert "development copy (DJANGO_DEBUG=on)" in result.stderr


def test_manage_py_with_a_secret_key_keeps_debug_off():
    result = _manage_py(*DEBUG_OF_SETTINGS, DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="iop.example.org")

    assert result.returncode == 0, result.stderr
    assert "DEBUG False" in result.stdout
    assert "development copy" not in result.stderr


def test_production_starts_with_a_secret_key():
    result = _start_django(DJANGO_DEBUG="off", DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="iop.example.org")

    assert result.returncode == 0, result.stderr


def test_env_example_lists_every_variable_the_settings_read():
    settings_source = (ROOT / "iop" / "settings.py").read_text()
    read = set(re.findall(r"\benv_\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", settings_source))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), flags=re.MULTILINE))

    assert "DATABASE_URL" in read  # the pattern finds calls that span lines
    assert read - listed == set()
    assert listed - read == set()
