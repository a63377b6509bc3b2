from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from clients import services
from clients.forms import DischargeForm, PortalAccountForm, ReasonForm, SignatureInlineForm, SignatureInlineFormSet
from clients.models import AgreementSignature, Client, ConfidentialityAgreement
from groups.forms import EnrolActionForm
from groups.models import Membership
from groups.services import enroll_client
from iop.admin_actions import action_with_form, apply_to_each, render_action_form
from iop.admin_widgets import TolerantAutocompleteMixin
from scheduling.reminders import follow_client_preferences
from scheduling.services import rotate_calendar_token

REMINDER_FIELDS = {"reminder_consent", "reminder_channel", "email", "phone"}


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


class MembershipInline(admin.TabularInline):
    """The client's groups; enrolment and ending go through the membership pages."""

    model = Membership
    extra = 0
    fields = ["group", "status", "joined_on", "waitlisted_at", "ended_on", "end_reason"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("group")


@admin.register(Client)
class ClientAdmin(TolerantAutocompleteMixin, admin.ModelAdmin):
    list_display = [
        "chart_number",
        "display_name",
        "status",
        "level_of_care",
        "preferred_language",
        "agreement_signed",
        "open_memberships",
    ]
    list_display_links = ["chart_number", "display_name"]
    list_filter = ["status", "level_of_care", "preferred_language", "reminder_channel"]
    search_fields = ["chart_number", "legal_first_name", "legal_last_name", "preferred_name", "email"]
    readonly_fields = [
        "status",
        "admission_date",
        "discharge_date",
        "portal_user",
        "clinical_record",
        "created_at",
        "updated_at",
    ]
    autocomplete_fields = ["partner"]
    inlines = [SignatureInline, MembershipInline]
    actions = [
        "enrol_in_group",
        "admit",
        "discharge",
        "open_portal_login",
        "close_portal_login",
        "replace_calendar_link",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "chart_number",
                    ("legal_first_name", "legal_last_name"),
                    "preferred_name",
                    "pronouns",
                    "date_of_birth",
                ]
            },
        ),
        ("Treatment", {"fields": ["status", "admission_date", "discharge_date", "level_of_care"]}),
        (
            "Contact and preferences",
            {
                "fields": [
                    "email",
                    "phone",
                    "preferred_language",
                    "communication_preferences",
                    "cultural_considerations",
                    "reminder_channel",
                    "reminder_consent",
                ]
            },
        ),
        ("Links", {"fields": ["portal_user", "partner"]}),
        ("Attendance and notes", {"fields": ["clinical_record"]}),
        ("Record", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                has_current_signature=Exists(AgreementSignature.objects.current().filter(client=OuterRef("pk"))),
                open_membership_count=Count("memberships", filter=~Q(memberships__status=Membership.Status.ENDED)),
            )
        )

    @admin.display(description="Clinical record")
    def clinical_record(self, client):
        if client.pk is None:
            return "—"
        attendance = reverse("admin:progress_attendance_changelist") + f"?client__id__exact={client.pk}"
        notes = reverse("admin:progress_groupnote_changelist") + f"?individual_notes__client__id__exact={client.pk}"
        return format_html('<a href="{}">Attendance</a> · <a href="{}">Progress notes</a>', attendance, notes)

    @admin.display(description="Name", ordering="legal_last_name")
    def display_name(self, client):
        return client.display_name

    @admin.display(description="Agreement", boolean=True, ordering="has_current_signature")
    def agreement_signed(self, client):
        return client.has_current_signature

    @admin.display(description="Groups", ordering="open_membership_count")
    def open_memberships(self, client):
        return client.open_membership_count

    def save_model(self, request, obj, form, change):
        # Partners point at each other; the service keeps both sides in step.
        partner = form.cleaned_data.get("partner")
        previous_partner_id = form.initial.get("partner")
        obj.partner_id = previous_partner_id if change else None
        super().save_model(request, obj, form, change)
        if partner is not None and partner.pk != previous_partner_id:
            services.link_partners(client=obj, partner=partner)
        elif partner is None and previous_partner_id:
            services.unlink_partner(client=obj)
        if change and REMINDER_FIELDS & set(form.changed_data):
            # Consent withdrawn or another channel chosen: reminders already planned must not go.
            follow_client_preferences(client=obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not AgreementSignature:
            return super().save_formset(request, form, formset, change)
        for signature in formset.save(commit=False):
            services.sign_agreement(
                client=form.instance,
                agreement=signature.agreement,
                witnessed_by=signature.witnessed_by,
                signed_at=signature.signed_at,
                method=signature.method,
            )

    @admin.action(description="Enrol selected clients in a group…", permissions=["change"])
    def enrol_in_group(self, request, queryset):
        def enrol(client, data):
            membership = enroll_client(client=client, group=data["group"], allow_waitlist=data["waitlist_if_full"])
            return f"{client}: {membership.get_status_display().lower()} in {membership.group}."

        return action_with_form(
            self, request, queryset, form_class=EnrolActionForm, title="Enrol clients in a group", apply=enrol
        )

    @admin.action(description="Open a portal login for the selected client…", permissions=["change"])
    def open_portal_login(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one client to open a portal login.", level="error")
            return None
        client = queryset.get()
        form = PortalAccountForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                user = services.open_portal_account(
                    client=client, username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                self.message_user(request, f"{client} can now sign in as {user.get_username()}.")
                return None
        return render_action_form(self, request, queryset, form=form, title="Open a portal login")

    @admin.action(description="Close the portal login of selected clients", permissions=["change"])
    def close_portal_login(self, request, queryset):
        def close(client):
            services.close_portal_account(client=client)
            return f"{client}'s portal login no longer works."

        apply_to_each(self, request, queryset, close)

    @admin.action(description="Replace the calendar link of selected clients", permissions=["change"])
    def replace_calendar_link(self, request, queryset):
        for client in queryset:
            rotate_calendar_token(client=client)
        self.message_user(request, f"{queryset.count()} calendar links replaced; the old links no longer work.")

    @admin.action(description="Admit selected clients (intake → active)", permissions=["change"])
    def admit(self, request, queryset):
        def admit(client):
            services.admit_client(client=client)
            return f"{client} admitted."

        apply_to_each(self, request, queryset, admit)

    @admin.action(description="Discharge selected clients…", permissions=["change"])
    def discharge(self, request, queryset):
        def discharge(client, data):
            services.discharge_client(client=client, on=data["discharged_on"], note=data["note"])
            return f"{client} discharged; their group memberships have ended."

        return action_with_form(
            self, request, queryset, form_class=DischargeForm, title="Discharge clients", apply=discharge
        )


@admin.register(ConfidentialityAgreement)
class ConfidentialityAgreementAdmin(admin.ModelAdmin):
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
class AgreementSignatureAdmin(admin.ModelAdmin):
    list_display = ["client", "agreement", "signed_at", "method", "witnessed_by", "revoked_at"]
    list_filter = ["agreement", "method", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["client__chart_number", "client__legal_last_name", "client__legal_first_name"]
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
    date_hierarchy = "signed_at"

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
