import uuid

from django import forms

from .models import Instrument
from .services import AMENDMENT


class EntryForm(forms.Form):
    """The one form of the event-log page. Values are checked again by services.validate_entry."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    instrument = forms.ChoiceField()
    # A choice, never free text: the vocabulary is what services.validate_entry accepts. Without JavaScript
    # the list holds every instrument's actions in groups; eventlog.js narrows it to the chosen instrument.
    action = forms.ChoiceField()
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

    def __init__(self, *args, instruments: list[Instrument] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        instruments = list(Instrument.objects.all()) if instruments is None else instruments
        self.fields["instrument"].choices = [(i.code, f"{i.code} — {i.name}") for i in instruments]
        self.fields["action"].choices = (
            [("", "— choose —")]
            + [(i.code, [(a, a) for a in i.actions if a != AMENDMENT]) for i in instruments]
            + [("Correction", [(AMENDMENT, AMENDMENT)])]
        )
        if not self.is_bound:
            # A fresh key per rendered form: resubmitting the same page (or a retry) never duplicates.
            self.initial["idempotency_key"] = uuid.uuid4().hex


def vocabulary(instruments: list[Instrument]) -> dict[str, list[str]]:
    """Each instrument's actions as the page's script offers them (``amendment`` is valid for all)."""
    return {i.code: [a for a in i.actions if a != AMENDMENT] + [AMENDMENT] for i in instruments}
