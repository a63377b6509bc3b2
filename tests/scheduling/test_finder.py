"""The group finder's rules: each "must" keeps a group out of the fitting ones, with why; each
preference ranks; the language and couples confirmations are asked for and kept by the service."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from clients.models import Client, GroupFocus
from clients.services import link_partners
from groups.models import Membership, TherapyGroup
from scheduling.enrolment import enroll_client
from scheduling.finder import find_groups
from tests.factories import ClientFactory, MembershipFactory, TherapyGroupFactory, WeeklySlotFactory

pytestmark = pytest.mark.django_db


def fit_of(search, group):
    for fit in [*search.fitting, *search.not_fitting]:
        if fit.group.pk == group.pk:
            return fit
    raise AssertionError(f"{group.name} is not among the results")


def fitting_names(search):
    return [fit.group.name for fit in search.fitting]


def twin_groups(**differences):
    """Two groups alike in everything the finder weighs except ``differences`` (for the first)."""
    first = TherapyGroupFactory(name="Group A", **differences)
    second = TherapyGroupFactory(name="Group B")
    return first, second


# --- Each "must" refuses ---------------------------------------------------------------------


def test_group_for_another_level_of_care_does_not_fit(client_record):
    teens = TherapyGroupFactory(name="Teen skills", audience="adolescent_iop")

    fit = fit_of(find_groups(client=client_record), teens)

    assert not fit.fits
    assert "For Adolescent IOP clients; Jordan Avery is in Adult IOP." in fit.refusals


@pytest.mark.parametrize(
    "interpreter, said",
    [("", "no interpreter is noted"), ("needed", "needs an interpreter, not arranged yet")],
)
def test_group_in_another_language_does_not_fit_without_an_interpreter(client_record, interpreter, said):
    Client.objects.filter(pk=client_record.pk).update(preferred_language="es", interpreter=interpreter)
    client_record.refresh_from_db()
    english = TherapyGroupFactory(name="Coping in English", language="en")
    spanish = TherapyGroupFactory(name="Grupo de Apoyo", language="es")

    search = find_groups(client=client_record)

    assert fitting_names(search) == ["Grupo de Apoyo"]
    assert f"Held in English; Jordan Avery asked for Spanish (Español) and {said}." in fit_of(search, english).refusals
    assert not fit_of(search, spanish).asks_language_reason


def test_group_in_another_language_fits_with_an_interpreter_arranged_and_asks_why(client_record):
    Client.objects.filter(pk=client_record.pk).update(preferred_language="es", interpreter="arranged")
    client_record.refresh_from_db()
    english = TherapyGroupFactory(name="Coping in English", language="en")

    fit = fit_of(find_groups(client=client_record), english)

    assert fit.fits
    assert fit.asks_language_reason
    assert "Held in English, with the interpreter arranged for Jordan Avery." in fit.fits_because


def test_at_the_same_weight_the_clients_own_language_ranks_before_an_interpreter(client_record):
    Client.objects.filter(pk=client_record.pk).update(preferred_language="es", interpreter="arranged")
    client_record.refresh_from_db()
    TherapyGroupFactory(name="A in English", language="en")
    TherapyGroupFactory(name="B in Spanish", language="es")

    assert fitting_names(find_groups(client=client_record)) == ["B in Spanish", "A in English"]


def test_group_meeting_when_the_client_is_due_elsewhere_does_not_fit(client_record):
    current = TherapyGroupFactory(name="Monday skills")
    WeeklySlotFactory(group=current, weekday=0, start_time=datetime.time(18, 0))
    MembershipFactory(client=client_record, group=current)
    clashing = TherapyGroupFactory(name="Monday process")
    WeeklySlotFactory(group=clashing, weekday=0, start_time=datetime.time(18, 30), duration_minutes=60)
    later = TherapyGroupFactory(name="Monday late")
    WeeklySlotFactory(group=later, weekday=0, start_time=datetime.time(19, 30), duration_minutes=60)

    search = find_groups(client=client_record)

    assert fitting_names(search) == ["Monday late"]
    (reason,) = [r for r in fit_of(search, clashing).refusals if "same time" in r]
    assert "at the same time as Monday skills (18:00–19:30), which Jordan Avery already attends" in reason
    assert "Jordan Avery is already active in this group." in fit_of(search, current).refusals


def test_closed_group_that_started_does_not_fit_and_one_not_started_does(client_record, today):
    started = TherapyGroupFactory(name="Closed, started", enrolment="closed", start_date=today)
    forming = TherapyGroupFactory(
        name="Closed, forming", enrolment="closed", start_date=today + datetime.timedelta(days=7)
    )

    search = find_groups(client=client_record)

    assert not fit_of(search, started).fits
    assert fit_of(search, forming).fits
    assert f"Closed group starting {forming.start_date:%Y-%m-%d}: joins from the first meeting." in (
        fit_of(search, forming).fits_because
    )


def test_client_who_cannot_join_any_group_is_told_why(agreement):
    intake = ClientFactory(status=Client.Status.INTAKE, admission_date=None)
    TherapyGroupFactory()

    search = find_groups(client=intake)

    assert any("is not an active client" in reason for reason in search.client_refusals)


def test_ended_groups_are_not_weighed(client_record, today):
    TherapyGroupFactory(name="Over", status=TherapyGroup.Status.ENDED, end_date=today)

    search = find_groups(client=client_record)

    assert not search.fitting and not search.not_fitting


# --- Each preference ranks -----------------------------------------------------------------


@pytest.mark.parametrize("recommended, first", [(["process"], "Group A"), (["support"], "Group B")])
def test_kinds_the_plan_calls_for_rank_first(client_record, recommended, first):
    TherapyGroupFactory(name="Group A", kind="process")
    TherapyGroupFactory(name="Group B", kind="support")

    search = find_groups(client=client_record, recommended_kinds=recommended)

    assert fitting_names(search)[0] == first
    assert any("treatment plan calls for" in reason for reason in search.fitting[0].fits_because)


def test_a_focus_the_client_would_welcome_ranks_higher_and_one_they_would_rather_not_lower(client_record):
    Client.objects.filter(pk=client_record.pk).update(
        welcomes_focuses=[GroupFocus.VETERANS], avoids_focuses=[GroupFocus.FAITH_BASED]
    )
    client_record.refresh_from_db()
    TherapyGroupFactory(name="A faith-based group", focus=GroupFocus.FAITH_BASED)
    TherapyGroupFactory(name="B plain group")
    TherapyGroupFactory(name="C veterans group", focus=GroupFocus.VETERANS)

    search = find_groups(client=client_record)

    assert fitting_names(search) == ["C veterans group", "B plain group", "A faith-based group"]
    assert "Focus: Veterans, which Jordan Avery would welcome." in search.fitting[0].fits_because
    assert "Focus: Faith-based, which Jordan Avery would rather not have." in search.fitting[2].against


def test_free_seats_rank_above_a_full_group_and_a_short_waitlist_above_a_long_one(client_record, now):
    full_short, free, full_long = (TherapyGroupFactory(name=name) for name in ("A full", "B free", "C full"))
    for group, waiting in ((full_short, 1), (full_long, 3)):
        MembershipFactory.create_batch(group.capacity, group=group)
        MembershipFactory.create_batch(
            waiting, group=group, status=Membership.Status.WAITLISTED, joined_on=None, joined_at=None, waitlisted_at=now
        )
    MembershipFactory.create_batch(7, group=free)

    search = find_groups(client=client_record)

    assert fitting_names(search) == ["B free", "A full", "C full"]
    assert "1 free seat." in search.fitting[0].fits_because
    assert "Full (8 / 8): joins the waitlist behind 3." in search.fitting[2].against


def test_open_enrolment_ranks_above_a_closed_group_not_started(client_record, today):
    TherapyGroupFactory(name="A closed", enrolment="closed", start_date=today + datetime.timedelta(days=7))
    TherapyGroupFactory(name="B open", enrolment="open")

    assert fitting_names(find_groups(client=client_record)) == ["B open", "A closed"]


# --- Couples -------------------------------------------------------------------------------


def test_the_finder_shows_where_the_partner_is(client_record, other_client):
    link_partners(client=client_record, partner=other_client)
    process = TherapyGroupFactory(name="Process", kind="process")
    skills = TherapyGroupFactory(name="Skills")
    MembershipFactory(client=other_client, group=process)
    MembershipFactory(client=other_client, group=skills)
    client_record.refresh_from_db()

    search = find_groups(client=client_record)

    assert [m.group.name for m in search.partner_memberships] == ["Process", "Skills"]
    assert "Jordan Avery's partner, Morgan Blake, is active in this group." in fit_of(search, process).against
    assert fit_of(search, process).asks_partner_reason
    assert not fit_of(search, skills).asks_partner_reason


# --- The confirmations, enforced by the service ----------------------------------------------


def test_enrolment_in_another_language_without_a_reason_is_refused_and_writes_nothing(client_record):
    spanish = TherapyGroupFactory(name="Grupo de Apoyo", language="es")
    before = Membership.objects.count()

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client_record, group=spanish, language_reason="  ")

    assert (
        "Grupo de Apoyo is held in Spanish (Español); Jordan Avery asked for English"
        in (refused.value.message_dict["language_reason"][0])
    )
    assert Membership.objects.count() == before


def test_enrolment_in_another_language_with_a_reason_keeps_it(client_record):
    spanish = TherapyGroupFactory(name="Grupo de Apoyo", language="es")

    membership = enroll_client(client=client_record, group=spanish, language_reason=" Fluent in Spanish. ")

    assert membership.language_reason == "Fluent in Spanish."
    assert membership.partner_reason == ""


def test_a_reason_not_asked_for_is_not_kept(client_record, group):
    membership = enroll_client(client=client_record, group=group, language_reason="No", partner_reason="Nor this")

    assert (membership.language_reason, membership.partner_reason) == ("", "")


def test_a_reason_too_long_is_refused(client_record):
    spanish = TherapyGroupFactory(language="es")

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client_record, group=spanish, language_reason="x" * 301)

    assert "at most 300 characters" in refused.value.message_dict["language_reason"][0]
    assert not Membership.objects.filter(client=client_record).exists()


def test_partners_in_one_process_group_need_a_clinical_confirmation(client_record, other_client):
    link_partners(client=client_record, partner=other_client)
    process = TherapyGroupFactory(name="Process", kind="process")
    enroll_client(client=other_client, group=process)
    before = Membership.objects.count()

    with pytest.raises(ValidationError) as refused:
        enroll_client(client=client_record, group=process)

    assert "Jordan Avery's partner is in Process, a process group." in refused.value.message_dict["partner_reason"][0]
    assert Membership.objects.count() == before

    membership = enroll_client(client=client_record, group=process, partner_reason="Couple's therapist agreed.")

    assert membership.partner_reason == "Couple's therapist agreed."


def test_partners_in_a_group_of_another_kind_need_no_confirmation(client_record, other_client):
    link_partners(client=client_record, partner=other_client)
    skills = TherapyGroupFactory(kind="skills_development")
    enroll_client(client=other_client, group=skills)

    membership = enroll_client(client=client_record, group=skills)

    assert membership.status == Membership.Status.ACTIVE
    assert membership.partner_reason == ""


def test_a_waitlisted_enrolment_keeps_its_confirmation(client_record, now):
    spanish = TherapyGroupFactory(language="es")
    MembershipFactory.create_batch(spanish.capacity, group=spanish)

    membership = enroll_client(client=client_record, group=spanish, language_reason="Bilingual.")

    assert membership.status == Membership.Status.WAITLISTED
    assert membership.language_reason == "Bilingual."
