from django.contrib import admin
from django.db.models import Count, Q
from django.utils import timezone

from audit.admin import AuditedAdmin
from clients import services
from clients.forms import (
    OrientationStepForm,
    OrientationStepFormSet,
    ReasonForm,
    SignatureInlineForm,
    SignatureInlineFormSet,
)
from clients.models import FOUND_BY, AgreementSignature, Client, ConfidentialityAgreement, OrientationStep
from iop.admin_actions import action_with_form
from iop.admin_lists import ListAdmin
from iop.admin_widgets import TolerantAutocompleteMixin


class SearchFromClientsMixin:
    """For the admin list of rows that each belong to one client (``search_from_client`` names
    the path): the search finds the clients first, by chart number or name prefix
    (``Client.objects.found_by``), then their rows, through the row table's index on its client.
    Joining a million rows to their clients to compare names is what it avoids.

    ``search_fields`` still say what the search looks at, for the search box and its help."""

    search_from_client = "client"
    search_help_text = "A chart number, or the start of the client's names: “mor bla” finds Morgan Blake."

    def get_search_results(self, request, queryset, search_term):
        if not search_term.split():
            return queryset, False
        return queryset.filter(self.search_filter(search_term)), False

    def search_filter(self, search_term: str) -> Q:
        return Q(**{f"{self.search_from_client}__in": Client.objects.found_by(search_term)})


class AgreementDueFilter(admin.SimpleListFilter):
    """Clients in care who must sign the current confidentiality agreement (the dashboard's
    "agreements to sign" links here)."""

    title = "agreement"
    parameter_name = "agreement"

    def lookups(self, request, model_admin):
        return [("due", "To sign (again)")]

    def queryset(self, request, queryset):
        return queryset.agreement_due() if self.value() == "due" else queryset


class SignatureInline(TolerantAutocompleteMixin, admin.TabularInline):
    """Signatures are added here; one in force is changed only by the revoke action."""

    model = AgreementSignature
    form = SignatureInlineForm
    formset = SignatureInlineFormSet
    fk_name = "client"
    extra = 0
    fields = ["agreement", "signed_at", "method", "witnessed_by", "revoked_at", "revoked_reason"]
    readonly_fields = ["revoked_at", "revoked_reason"]
    autocomplete_fields = ["witnessed_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client", "agreement", "witnessed_by")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        latest = services.latest_agreement()
        formset.form.base_fields["agreement"].initial = latest.pk if latest else None
        formset.form.base_fields["signed_at"].initial = timezone.now
        formset.form.base_fields["witnessed_by"].initial = request.user.pk
        return formset


class OrientationStepInline(TolerantAutocompleteMixin, admin.TabularInline):
    """The orientation checklist before the first group: an item is ticked here (through
    ``services.record_orientation_step``) with who went through it and when; one ticked by
    mistake is deleted, never edited."""

    model = OrientationStep
    form = OrientationStepForm
    formset = OrientationStepFormSet
    fk_name = "client"
    extra = 0
    fields = ["item", "covered_on", "covered_by"]
    autocomplete_fields = ["covered_by"]
    verbose_name = "orientation item"
    verbose_name_plural = "Orientation before the first group"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("client", "covered_by")

    def has_change_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["covered_on"].initial = timezone.localdate
        formset.form.base_fields["covered_by"].initial = request.user.pk
        return formset


@admin.register(ConfidentialityAgreement)
class ConfidentialityAgreementAdmin(ListAdmin):
    list_display = ["version", "title", "effective_on", "signature_count"]
    search_fields = ["title", "text"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(signatures_in_force=Count("signatures", filter=Q(signatures__revoked_at__isnull=True)))
        )

    @admin.display(description="Signatures in force", ordering="signatures_in_force")
    def signature_count(self, agreement):
        return agreement.signatures_in_force

    def get_readonly_fields(self, request, obj=None):
        # Clients signed this exact text: a new wording is a new version, never an edit.
        if obj is not None and obj.signatures.exists():
            return ["version", "title", "text", "effective_on"]
        return []


@admin.register(AgreementSignature)
class AgreementSignatureAdmin(AuditedAdmin, SearchFromClientsMixin, ListAdmin):
    # The version, not the agreement's whole title: the list fits a 1280-pixel screen.
    list_display = ["client", "version", "signed_at", "method", "witnessed_by", "revoked_at"]
    # A date filter, not a date hierarchy: the hierarchy scans every matching row for its years.
    list_filter = [
        "agreement",
        "method",
        ("revoked_at", admin.EmptyFieldListFilter),
        ("signed_at", admin.DateFieldListFilter),
    ]
    search_fields = [f"^client__{field}" for field in FOUND_BY]
    list_select_related = ["client", "agreement", "witnessed_by"]
    readonly_fields = [
        "client",
        "agreement",
        "signed_at",
        "method",
        "witnessed_by",
        "revoked_at",
        "revoked_reason",
        "revoked_by",
    ]
    actions = ["revoke"]

    def audit_clients(self, signature):
        return [signature.client_id]

    @admin.display(description="Version", ordering="agreement__version")
    def version(self, signature):
        return signature.agreement.version

    def has_add_permission(self, request):
        # New signatures are recorded on the client's page.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke selected signatures…", permissions=["change"])
    def revoke(self, request, queryset):
        def revoke(signature, data):
            services.revoke_signature(signature=signature, reason=data["reason"], revoked_by=request.user)
            return f"{signature.client}: signature of version {signature.agreement.version} revoked."

        return action_with_form(self, request, queryset, form_class=ReasonForm, title="Revoke signatures", apply=revoke)
