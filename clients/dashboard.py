"""The dashboard's confidentiality agreements (``iop.dashboard``): the clients in care who must
sign the current version (again) before they join a group or are marked present."""

from urllib.parse import urlencode

from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse

from clients.models import AgreementSignature, Client, ConfidentialityAgreement
from iop import dashboard


def agreements_due(request, *, moment: dashboard.Moment, limit: int) -> dashboard.Section | None:
    if not request.user.has_perm("clients.view_client"):
        return None
    signatures = AgreementSignature.objects.filter(client=OuterRef("pk"))
    clients = (
        Client.objects.agreement_due()
        .annotate(
            signed_version=Subquery(
                signatures.unrevoked().order_by("-agreement__version").values("agreement__version")[:1]
            ),
            ever_signed=Exists(signatures),
        )
        .only("pk", "chart_number", "legal_first_name", "legal_last_name", "preferred_name", "status")
        # Active clients first: they are in groups, or about to be.
        .order_by("status", "legal_last_name", "legal_first_name", "pk")
    )
    rows, total = dashboard.bounded(clients, limit)
    current = ConfidentialityAgreement.objects.order_by("-version").values_list("version", flat=True).first()
    lines = []
    for client in rows:
        if client.signed_version:
            why = f"Signed version {client.signed_version}; version {current} is current"
        elif client.ever_signed:
            why = "Signature revoked"
        else:
            why = "Never signed"
        lines.append(
            dashboard.Line(
                text=str(client),
                url=reverse("admin:clients_client_change", args=[client.pk]),
                cells=(client.get_status_display(), why),
            )
        )
    return dashboard.Section(
        name="agreements",
        title="Confidentiality agreements to sign",
        headers=("Client", "Status", "Why"),
        lines=lines,
        total=total,
        empty="Every client in care has signed the current agreement.",
        more_url=f"{reverse('admin:clients_client_changelist')}?{urlencode({'agreement': 'due'})}",
        clients=[client.pk for client in rows],
    )


def register() -> None:
    dashboard.register("agreements", 50, agreements_due)
