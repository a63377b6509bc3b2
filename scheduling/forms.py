from django import forms

from iop.forms import ModelValidatorsFirst, add_refusals
from scheduling.models import Closure, Session, WeeklySlot
from scheduling.services import session_change_refusals, session_conflicts, slot_conflicts


class WeeklySlotForm(ModelValidatorsFirst, forms.ModelForm):
    """The slot inline on a group: conflicts are field errors before anything is saved."""

    class Meta:
        model = WeeklySlot
        fields = [
            "weekday",
            "start_time",
            "duration_minutes",
            "is_virtual",
            "room",
            "default_objective",
            "effective_from",
            "effective_until",
        ]

    def clean(self):
        cleaned = super().clean()
        if self.errors or not self.instance.group_id:
            return cleaned
        slot = self.instance
        for field in WeeklySlotForm.Meta.fields:
            if field in cleaned:
                setattr(slot, field, cleaned[field])
        for field, reasons in slot_conflicts(slot).items():
            for reason in reasons:
                self.add_error(field, reason)
        return cleaned


class SessionForm(ModelValidatorsFirst, forms.ModelForm):
    class Meta:
        model = Session
        fields = ["starts_at", "ends_at", "objective", "facilitator", "room", "video_link"]

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            # The service's rule, asked before it is asked to save: a met session stays as it was.
            add_refusals(self, {None: session_change_refusals(self.instance)})
        if self.errors:
            return cleaned
        session = self.instance
        for field in SessionForm.Meta.fields:
            if field in cleaned:
                setattr(session, field, cleaned[field])
        for field, reasons in session_conflicts(session).items():
            for reason in reasons:
                self.add_error("starts_at" if field == "room" and "room" not in cleaned else field, reason)
        return cleaned


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"size": 60}), help_text="Clients see this reason."
    )


class ClosureForm(ModelValidatorsFirst, forms.ModelForm):
    class Meta:
        model = Closure
        fields = ["name", "starts_on", "ends_on"]


class GenerateForm(forms.Form):
    weeks = forms.IntegerField(min_value=1, max_value=26, initial=8, help_text="How many weeks ahead.")
