"""Writes about clients that carry clinic rules. Views, forms, the admin and tasks call these.

Each write leaves its audit row in its own transaction (``audit.trail.record``), after the
write succeeded: a refused write records nothing, a rolled-back one leaves no row."""

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.trail import Action, hold_chain, record
from clients.models import (
    AgreementSignature,
    Client,
    ConfidentialityAgreement,
    Language,
    OrientationItem,
    OrientationStep,
)
from iop.accounts import login_refusals, new_login, save_login
from iop.dates import clinic_date_refusals


def latest_agreement() -> ConfidentialityAgreement | None:
    return ConfidentialityAgreement.objects.order_by("-version").first()


def has_current_signature(client: Client) -> bool:
    """True when the client's signature of the latest agreement version is in force."""
    return AgreementSignature.objects.current().filter(client=client).exists()


def signing_refusals(*, client: Client, agreement: ConfidentialityAgreement | None = None) -> list[str]:
    """Why the client cannot sign (this version of) the agreement now; empty when they can."""
    if client.status == Client.Status.DISCHARGED:
        return [f"{client.display_name} has been discharged and cannot sign agreements."]
    if (
        client.pk
        and agreement
        and AgreementSignature.objects.unrevoked().filter(client=client, agreement=agreement).exists()
    ):
        return [f"{client.display_name} already has a signature of version {agreement.version} in force."]
    return []


@transaction.atomic
def sign_agreement(
    *,
    client: Client,
    witnessed_by: AbstractBaseUser,
    agreement: ConfidentialityAgreement | None = None,
    signed_at: datetime.datetime | None = None,
    method: str = AgreementSignature.Method.PAPER,
) -> AgreementSignature:
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    agreement = agreement or latest_agreement()
    if agreement is None:
        raise ValidationError({"agreement": "There is no confidentiality agreement text to sign yet."})
    refusals = signing_refusals(client=client, agreement=agreement)
    if refusals:
        raise ValidationError(refusals)
    signature = AgreementSignature(
        client=client,
        agreement=agreement,
        witnessed_by=witnessed_by,
        signed_at=signed_at or timezone.now(),
        method=method,
    )
    signature.full_clean()
    signature.save()
    record(
        Action.CREATE,
        target=signature,
        clients=[client],
        detail=f"signature of agreement version {agreement.version} ({signature.get_method_display().lower()})",
    )
    return signature


@transaction.atomic
def revoke_signature(
    *,
    signature: AgreementSignature,
    reason: str,
    revoked_by: AbstractBaseUser,
    revoked_at: datetime.datetime | None = None,
) -> AgreementSignature:
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Say why the signature is revoked."})
    signature = AgreementSignature.objects.select_for_update().get(pk=signature.pk)
    if signature.revoked_at is not None:
        raise ValidationError(f"This signature was already revoked on {signature.revoked_at:%Y-%m-%d}.")
    signature.revoked_at = revoked_at or timezone.now()
    signature.revoked_reason = reason
    signature.revoked_by = revoked_by
    signature.save(update_fields=["revoked_at", "revoked_reason", "revoked_by"])
    record(Action.CHANGE, target=signature, clients=[signature.client_id], detail="revoked")
    return signature


@transaction.atomic
def link_partners(*, client: Client, partner: Client) -> None:
    """Link two clients as a couple; each points at the other, and old links are cleared."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    if client.pk == partner.pk:
        raise ValidationError({"partner": "A client cannot be their own partner."})
    # Former partners lose their link too: the change is about them as well.
    former = set(Client.objects.filter(partner__in=[client, partner]).values_list("pk", flat=True))
    Client.objects.filter(partner__in=[client, partner]).update(partner=None)
    Client.objects.filter(pk__in=[client.pk, partner.pk]).update(partner=None)
    Client.objects.filter(pk=client.pk).update(partner=partner)
    Client.objects.filter(pk=partner.pk).update(partner=client)
    client.partner, partner.partner = partner, client
    record(Action.CHANGE, target=client, clients={client.pk, partner.pk} | former, detail="changed: partner")


@transaction.atomic
def unlink_partner(*, client: Client) -> None:
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    former = set(Client.objects.filter(partner=client).values_list("pk", flat=True))
    Client.objects.filter(partner=client).update(partner=None)
    Client.objects.filter(pk=client.pk).update(partner=None)
    client.partner = None
    record(Action.CHANGE, target=client, clients={client.pk} | former, detail="changed: partner")


def portal_language_choices(client: Client) -> list[tuple[str, str]]:
    """The languages a client may choose in the portal: those it is translated into, and the one
    the record already holds (a client who prefers Vietnamese keeps it, and reads English)."""
    offered = dict(settings.LANGUAGES)  # each in its own words: "English", "Español"
    return [
        (code, offered.get(code, label))
        for code, label in Language.choices
        if code in offered or code == client.preferred_language
    ]


@transaction.atomic
def set_preferred_language(*, client: Client, language: str) -> Client:
    """The client's preferred language, chosen by the client in the portal. It decides the
    language of their portal, reminders, calendar entries and password mails (iop/i18n.py), and
    staff see it on the client's record."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    if language not in dict(portal_language_choices(client)):
        raise ValidationError({"preferred_language": "Choose a language from the list."})
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.preferred_language != language:
        client.preferred_language = language
        client.save(update_fields=["preferred_language", "updated_at"])
        record(Action.CHANGE, target=client, clients=[client], detail="changed: preferred_language")
    return client


@transaction.atomic
def admit_client(*, client: Client, on: datetime.date | None = None) -> Client:
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    client = Client.objects.select_for_update().get(pk=client.pk)
    if client.status == Client.Status.ACTIVE:
        raise ValidationError(f"{client} is already active.")
    client.status = Client.Status.ACTIVE
    client.admission_date = on or timezone.localdate()
    client.discharge_date = None
    client.full_clean()
    client.save(update_fields=["status", "admission_date", "discharge_date", "updated_at"])
    record(Action.CHANGE, target=client, clients=[client], detail="admitted; changed: status, admission_date")
    return client


@transaction.atomic
def open_portal_account(*, client: Client, username: str, password: str) -> AbstractBaseUser:
    """Give the client a login to their own schedule. The password is the first one staff hand
    over; the client changes it at /accounts/password_change/."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    client = Client.objects.select_for_update().get(pk=client.pk)
    user = new_login(
        username=username, first_name=client.first_name, last_name=client.legal_last_name, email=client.email
    )
    errors = login_refusals(user=user, password=password)
    if client.portal_user_id is not None:
        errors.setdefault("username", []).insert(
            0, f"{client.display_name} already has a portal login ({client.portal_user.get_username()})."
        )
    if client.status == Client.Status.DISCHARGED:
        errors.setdefault("username", []).insert(0, f"{client.display_name} has been discharged.")
    if errors:
        raise ValidationError(errors)
    # The login's audit row (a create, with the first password staff chose) names the client.
    client.portal_user = save_login(user=user, password=password, clients=[client.pk], detail="portal login opened")
    client.save(update_fields=["portal_user", "updated_at"])
    return client.portal_user


@transaction.atomic
def close_portal_account(*, client: Client) -> None:
    """The login stops working at once and is unlinked; staff can open a new one later.

    Its open sessions end with it: an inactive user is nobody to Django's authentication, and the
    unusable password changes the session hash that every session of the login carries, so not
    even a reactivated account would bring them back."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    client = Client.objects.select_for_update(of=("self",)).select_related("portal_user").get(pk=client.pk)
    if client.portal_user is None:
        raise ValidationError(f"{client.display_name} has no portal login.")
    login = client.portal_user
    login.is_active = False
    login.set_unusable_password()
    login.save(update_fields=["is_active", "password"])
    client.portal_user = None
    client.save(update_fields=["portal_user", "updated_at"])
    record(Action.CHANGE, target=login, clients=[client], detail="portal login closed")


@transaction.atomic
def delete_client(*, client: Client) -> None:
    """Remove a record entered by mistake (an intake that never came); its reminders go with it.
    The database protects a record with clinical history (signatures, memberships, attendance)."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    client = Client.objects.select_for_update().get(pk=client.pk)
    pk = client.pk
    client.delete()
    record(Action.DELETE, target=Client, object_id=pk, clients=[pk], detail="record deleted")


# --- Orientation: preparation before the first group ----------------------------------------


def orientation_steps(client: Client) -> dict[str, OrientationStep]:
    """The client's ticked items, by item, with who went through each. One query."""
    return {step.item: step for step in client.orientation_steps.select_related("covered_by")}


def orientation_checklist(client: Client) -> list[tuple[OrientationItem, OrientationStep | None]]:
    """Every item of the checklist in the program's order, each with its step or None."""
    steps = orientation_steps(client)
    return [(item, steps.get(item.value)) for item in OrientationItem]


def orientation_missing(client: Client) -> list[OrientationItem]:
    """The items not gone through yet; empty when the orientation is finished. One query."""
    # Without the steps' ordering, which joins the client to sort by name.
    done = set(client.orientation_steps.order_by().values_list("item", flat=True)) if client.pk else set()
    return [item for item in OrientationItem if item.value not in done]


def orientation_step_refusals(
    *, client: Client, item: str | None, covered_on: datetime.date | None
) -> dict[str, list[str]]:
    """Why this item cannot be ticked for the client now, by form field (empty when it can)."""
    errors: dict[str, list[str]] = {}
    if client.status == Client.Status.DISCHARGED:
        errors.setdefault("item", []).append(f"{client.display_name} has been discharged.")
    if item == OrientationItem.CONFIDENTIALITY and not has_current_signature(client):
        # Going through the agreement ends with the client's signature of its current version.
        errors.setdefault("item", []).append(
            f"{client.display_name} has no signature of the current confidentiality agreement in force; "
            "record the signature first."
        )
    if item and client.pk and client.orientation_steps.filter(item=item).exists():
        label = OrientationItem(item).label
        errors.setdefault("item", []).append(f"{label} is already ticked for {client.display_name}.")
    if covered_on is not None:
        date_errors = clinic_date_refusals(covered_on)
        if not date_errors and covered_on > timezone.localdate():
            date_errors = ["An item is ticked once it has been gone through: on or before today."]
        if date_errors:
            errors.setdefault("covered_on", []).extend(date_errors)
    return errors


@transaction.atomic
def record_orientation_step(
    *,
    client: Client,
    item: str,
    covered_by: AbstractBaseUser,
    covered_on: datetime.date | None = None,
) -> OrientationStep:
    """Tick one item of the client's orientation checklist: ``covered_by`` went through it with
    the client on ``covered_on`` (default today)."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    # Two ticks of one item at once: the client's row lock makes the second see the first.
    client = Client.objects.select_for_update().get(pk=client.pk)
    covered_on = covered_on or timezone.localdate()
    errors = orientation_step_refusals(client=client, item=item, covered_on=covered_on)
    if errors:
        raise ValidationError(errors)
    step = OrientationStep(client=client, item=item, covered_on=covered_on, covered_by=covered_by)
    step.full_clean()
    step.save()
    record(Action.CREATE, target=step, clients=[client], detail=f"orientation: {item}")
    return step


@transaction.atomic
def remove_orientation_step(*, step: OrientationStep) -> None:
    """Untick an item recorded by mistake; the audit trail keeps that it was."""
    hold_chain()  # before any row lock: see audit.trail.hold_chain
    step = OrientationStep.objects.select_for_update().get(pk=step.pk)
    pk, client_id, item = step.pk, step.client_id, step.item
    step.delete()
    record(Action.DELETE, target=OrientationStep, object_id=pk, clients=[client_id], detail=f"orientation: {item}")
