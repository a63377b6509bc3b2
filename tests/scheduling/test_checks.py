import pytest

from scheduling.checks import clinic_short_name_is_discreet, sender_is_discreet


@pytest.mark.parametrize("name", ["Riverside Health", "Oak Street Wellness", "Independence Square Clinic"])
def test_a_neutral_short_name_passes(settings, name):
    settings.CLINIC_SHORT_NAME = name

    assert clinic_short_name_is_discreet(None) == []


@pytest.mark.parametrize(
    "name",
    [
        "Riverside Recovery",
        "Oak Street Rehab",
        "Hope IOP",
        "Addiction Therapy Group",
        "Riverside Counseling",
        "Detox Center West",
        "Sober Living Partners",
        "Oak Behavioral Health",
        "Lakeside Mental Health",
        "Northside Substance Services",
        "Harbor Psychiatric Associates",
        "New Dawn Treatment Center",
    ],
)
def test_a_telling_short_name_stops_start_up(settings, name):
    settings.CLINIC_SHORT_NAME = name

    errors = clinic_short_name_is_discreet(None)

    assert [error.id for error in errors] == ["scheduling.E001"]


@pytest.mark.parametrize(
    "sender",
    ["reminders@localhost", "Riverside Health <reminders@riverside-health.org>", "appointments@oakstreet.example"],
)
def test_a_neutral_sender_passes(settings, sender):
    settings.DEFAULT_FROM_EMAIL = sender

    assert sender_is_discreet(None) == []


@pytest.mark.parametrize(
    "sender",
    [
        "Riverside Recovery <reminders@riverside.org>",
        "reminders@riversiderecovery.org",
        "noreply@detox-west.com",
        "Counseling Desk <desk@riverside.org>",
        "reminders@iop.example.org",
        "sobriety-team@riverside.org",
    ],
)
def test_a_telling_sender_stops_start_up(settings, sender):
    settings.DEFAULT_FROM_EMAIL = sender

    errors = sender_is_discreet(None)

    assert [error.id for error in errors] == ["scheduling.E002"]
