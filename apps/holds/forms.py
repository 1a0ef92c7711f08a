import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

from .services import why_not_holdable


class HoldablePackagesWidget(forms.CheckboxSelectMultiple):
    """Tick boxes for a cruise's datasets; a dataset a hold cannot hide is shown disabled with the reason."""

    def __init__(self, *args, refusals: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.refusals = refusals or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        why = self.refusals.get(str(value))
        if why:
            option["attrs"]["disabled"] = True
            option["label"] = f"{label} ({why})"
        return option


class HoldForm(forms.Form):
    scope = forms.ChoiceField(
        choices=[
            ("all", "All datasets of the cruise not yet public (also ones linked or revised later)"),
            ("some", "Only the datasets ticked below"),
        ],
        widget=forms.RadioSelect,
        initial="all",
    )
    packages = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=HoldablePackagesWidget)
    ends_on = forms.DateField(label="Held until", widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, cruise=None, **kwargs):
        super().__init__(*args, **kwargs)
        packages = list(cruise.packages.all())
        self.refusals = {str(p.pk): why for p in packages if (why := why_not_holdable(p))}
        self.fields["packages"].queryset = cruise.packages.all()
        self.fields["packages"].widget.refusals = self.refusals
        latest = timezone.now().date() + datetime.timedelta(days=settings.HOLD_MAX_DAYS)
        self.fields[
            "ends_on"
        ].help_text = f"At most {settings.HOLD_MAX_DAYS} days: no later than {latest.isoformat()}."
        self.fields["ends_on"].widget.attrs["max"] = latest.isoformat()

    def clean_packages(self):
        packages = self.cleaned_data["packages"]
        refused = [
            f"{p.package_key}: {self.refusals[str(p.pk)]}" for p in packages if str(p.pk) in self.refusals
        ]
        if refused:
            raise forms.ValidationError(f"These cannot be held: {'; '.join(refused)}.")
        return packages
