import uuid

from django import forms

from .models import Instrument


class EntryForm(forms.Form):
    """The one form of the event-log page. Values are checked again by services.validate_entry."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    instrument = forms.ChoiceField()
    action = forms.CharField(
        max_length=60, widget=forms.TextInput(attrs={"list": "actions", "autocomplete": "off"})
    )
    station = forms.CharField(max_length=40, required=False)
    cast = forms.CharField(max_length=40, required=False)
    time = forms.CharField(
        required=False,
        label="Time (UTC)",
        help_text="Empty = now",
        widget=forms.TextInput(attrs={"placeholder": "now, or 2024-03-05T14:30Z", "autocomplete": "off"}),
    )
    latitude = forms.FloatField(
        required=False, min_value=-90, max_value=90, widget=forms.NumberInput(attrs={"step": "any"})
    )
    longitude = forms.FloatField(
        required=False, min_value=-180, max_value=180, widget=forms.NumberInput(attrs={"step": "any"})
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instrument"].choices = [
            (i.code, f"{i.code} — {i.name}") for i in Instrument.objects.all()
        ]
        if not self.is_bound:
            # A fresh key per rendered form: resubmitting the same page (or a retry) never duplicates.
            self.initial["idempotency_key"] = uuid.uuid4().hex
