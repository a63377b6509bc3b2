"""Languages are codes from one list: the portal can speak them and the finder can match them."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from clients.models import Client
from groups.models import TherapyGroup
from tests.factories import ClientFactory, TherapyGroupFactory

BEFORE = [("clients", "0005_index_for_signature_list"), ("groups", "0007_membership_updated_at")]
AFTER = [("clients", "0006_language_codes"), ("groups", "0008_language_codes")]


@pytest.mark.django_db
def test_a_language_off_the_list_is_refused_on_the_field_and_by_the_database(therapist):
    client = ClientFactory()
    group = TherapyGroupFactory(facilitator=therapist)
    before = (Client.objects.filter(preferred_language="Klingon").count(), TherapyGroup.objects.count())

    client.preferred_language = "Klingon"
    with pytest.raises(ValidationError) as refused:
        client.full_clean()
    assert "preferred_language" in refused.value.message_dict
    with pytest.raises(IntegrityError, match="clients_client_preferred_language_known"), transaction.atomic():
        Client.objects.filter(pk=client.pk).update(preferred_language="Klingon")
    with pytest.raises(IntegrityError, match="groups_therapygroup_language_known"), transaction.atomic():
        TherapyGroup.objects.filter(pk=group.pk).update(language="Spanish")

    assert (Client.objects.filter(preferred_language="Klingon").count(), TherapyGroup.objects.count()) == before


@pytest.mark.django_db(transaction=True)
def test_languages_typed_before_become_codes_and_unknown_ones_are_kept_in_words():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldClient, OldGroup = old.get_model("clients", "Client"), old.get_model("groups", "TherapyGroup")
    OldTherapist, OldUser = old.get_model("groups", "Therapist"), old.get_model("auth", "User")
    born = datetime.date(1990, 1, 1)
    for chart, language in [("L-1", "Spanish"), ("L-2", " english "), ("L-3", "Español"), ("L-4", "Klingon")]:
        OldClient.objects.create(
            chart_number=chart,
            legal_first_name="A",
            legal_last_name="B",
            date_of_birth=born,
            preferred_language=language,
            communication_preferences="Prefers texts." if chart == "L-4" else "",
        )
    lead = OldTherapist.objects.create(user=OldUser.objects.create(username="lead"), credentials="LCSW")
    for name, language in [("G-1", "Vietnamese"), ("G-2", "Elvish")]:
        OldGroup.objects.create(
            name=name, kind="process", capacity=10, facilitator=lead, room="Room 1", language=language, start_date=born
        )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        clients = dict(new.get_model("clients", "Client").objects.values_list("chart_number", "preferred_language"))
        kept = new.get_model("clients", "Client").objects.get(chart_number="L-4").communication_preferences
        groups = new.get_model("groups", "TherapyGroup").objects.values_list("name", "language", "description")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert clients == {"L-1": "es", "L-2": "en", "L-3": "es", "L-4": "en"}
    assert kept == "Prefers texts.\nPreferred language on file: Klingon."
    assert sorted(groups) == [("G-1", "vi", ""), ("G-2", "en", "Language on file: Elvish.")]
