import datetime

from django import forms
from django.conf import settings
from django.utils import timezone


class HoldForm(forms.Form):
    scope = forms.ChoiceField(
        choices=[
            ("all", "All datasets of the cruise (also ones linked later)"),
            ("some", "Only the datasets ticked below"),
        ],
        widget=forms.RadioSelect,
        initial="all",
    )
    packages = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    ends_on = forms.DateField(label="Held until", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, cruise=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["packages"].queryset = cruise.packages.all()
        latest = timezone.now().date() + datetime.timedelta(days=settings.HOLD_MAX_DAYS)
        self.fields[
            "ends_on"
        ].help_text = f"At most {settings.HOLD_MAX_DAYS} days: no later than {latest.isoformat()}."
        self.fields["ends_on"].widget.attrs["max"] = latest.isoformat()
