"""The demo clinic shows the group finder: a Spanish-speaking client whom "Grupo de Apoyo" fits,
the couple in one process group with the clinical decision recorded, groups with a focus, the
clients' preferences, and the kinds of group the demo client's plan calls for."""

from io import StringIO

import pytest
from django.core.management import call_command

from clients.models import Client
from groups.models import Membership, TherapyGroup
from progress.demo_finder import PARTNER_REASON
from progress.models import TreatmentPlan
from scheduling.finder import find_groups

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", stdout=StringIO())


def test_the_demo_spanish_speaking_newcomer_fits_grupo_de_apoyo_first(demo):
    ana = Client.objects.get(chart_number="IOP-1043")

    search = find_groups(client=ana)

    assert ana.preferred_language == "es"
    assert search.fitting[0].group.name == "Grupo de Apoyo"
    assert not search.client_refusals
    assert (
        "Held in English; Ana Morales asked for Spanish (Español) and no interpreter is noted."
        in next(fit for fit in search.not_fitting if fit.group.name == "Women's Circle").refusals
    )


def test_the_demo_couple_attends_one_process_group_by_a_recorded_decision(demo):
    first, second = Client.objects.filter(partner__isnull=False).order_by("chart_number")
    process = TherapyGroup.objects.get(name="Open Process Group")

    together = Membership.objects.filter(group=process, client__in=[first, second]).order_by("pk")

    assert together.count() == 2
    assert [m.partner_reason for m in together] == ["", PARTNER_REASON]


def test_the_demo_has_focuses_preferences_interpreters_and_plan_kinds(demo):
    assert TherapyGroup.objects.exclude(focus="").count() >= 4
    assert TherapyGroup.objects.filter(focus="couples").exists()
    assert Client.objects.filter(interpreter="arranged").exists()
    assert Client.objects.filter(interpreter="needed").exists()
    assert Client.objects.exclude(welcomes_focuses=[]).count() >= 3
    plan = TreatmentPlan.objects.get(client__chart_number="IOP-1001")
    assert plan.recommended_group_kinds == ["skills_development", "process"]
    # Every enrolment of a client into a group in another language says why.
    mismatched = [
        m
        for m in Membership.objects.select_related("client", "group")
        if m.client.preferred_language != m.group.language
    ]
    assert mismatched and all(m.language_reason for m in mismatched)
