import datetime

import factory
from django.contrib.auth import get_user_model

from clients.models import Client, ConfidentialityAgreement
from clients.services import sign_agreement
from groups.models import Therapist, TherapyGroup

PASSWORD = "a-long-test-password-2026"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConfidentialityAgreement
        django_get_or_create = ["version"]

    version = 1
    text = "What is said in group stays in group."
    effective_on = datetime.date(2026, 1, 1)


class ClientFactory(factory.django.DjangoModelFactory):
    """An active adult client who has signed the latest agreement (``signed=False`` to skip)."""

    class Meta:
        model = Client
        skip_postgeneration_save = True

    chart_number = factory.Sequence(lambda n: f"T-{n:05d}")
    legal_first_name = factory.Faker("first_name")
    legal_last_name = factory.Faker("last_name")
    date_of_birth = datetime.date(1990, 5, 17)
    email = factory.LazyAttribute(lambda c: f"{c.chart_number.lower()}@example.org")
    status = Client.Status.ACTIVE
    admission_date = datetime.date(2026, 1, 5)
    reminder_consent = True

    @factory.post_generation
    def signed(client, create, extracted, **kwargs):
        if create and extracted is not False:
            agreement = ConfidentialityAgreement.objects.order_by("-version").first() or AgreementFactory()
            sign_agreement(client=client, agreement=agreement, witnessed_by=UserFactory())


class TherapistFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Therapist

    user = factory.SubFactory(UserFactory)
    credentials = "LCSW"


class TherapyGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TherapyGroup

    name = factory.Sequence(lambda n: f"Coping skills {n}")
    kind = TherapyGroup.Kind.SKILLS_DEVELOPMENT
    capacity = 8
    facilitator = factory.SubFactory(TherapistFactory)
    modality = TherapyGroup.Modality.IN_PERSON
    room = "Room 101"
    start_date = datetime.date(2026, 1, 5)
