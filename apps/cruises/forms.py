from django import forms

from .models import Cruise, CruiseMember, Port, Vessel


def _instruments(value: str) -> list[str]:
    return [part.strip() for part in value.replace("\n", ",").split(",") if part.strip()]


class CruiseEditForm(forms.ModelForm):
    instruments_text = forms.CharField(
        label="Instruments", required=False, help_text="Comma-separated, e.g. CTD, ADCP, MBES"
    )

    class Meta:
        model = Cruise
        fields = [
            "departure_port",
            "departure_date",
            "arrival_port",
            "arrival_date",
            "mission_summary",
            "survey_targets",
            "undated_navigation_from_departure",
        ]
        widgets = {
            "departure_date": forms.DateInput(attrs={"type": "date"}),
            "arrival_date": forms.DateInput(attrs={"type": "date"}),
            "mission_summary": forms.Textarea(attrs={"rows": 4}),
            "survey_targets": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("departure_port", "departure_date", "arrival_port", "arrival_date", "mission_summary"):
            self.fields[name].required = True
        self.fields["departure_port"].queryset = self.fields["arrival_port"].queryset = Port.objects.order_by(
            "name"
        )
        if self.instance.pk:
            self.fields["instruments_text"].initial = ", ".join(self.instance.instruments or [])

    def clean(self):
        data = super().clean()
        if (
            data.get("departure_date")
            and data.get("arrival_date")
            and data["arrival_date"] < data["departure_date"]
        ):
            self.add_error("arrival_date", "The arrival date is before the departure date.")
        data["instruments"] = _instruments(data.get("instruments_text", ""))
        return data

    def changes(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        values["instruments"] = self.cleaned_data["instruments"]
        return values


class CruiseCreateForm(CruiseEditForm):
    cruise_id = forms.RegexField(
        regex=r"^[A-Za-z0-9][A-Za-z0-9_\-]{1,39}$", label="Cruise id", help_text="R2R style, e.g. RR2401"
    )
    vessel = forms.ModelChoiceField(queryset=Vessel.objects.none())
    chief_name = forms.CharField(label="Chief scientist's name", max_length=200)
    chief_email = forms.EmailField(
        label="Chief scientist's e-mail", help_text="They get an invitation if they have no account yet."
    )
    award_funder = forms.CharField(label="Award funder", required=False, max_length=200)
    award_number = forms.CharField(label="Award number", required=False, max_length=100)

    field_order = ["cruise_id", "vessel"]

    def __init__(self, *args, vessels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vessel"].queryset = vessels if vessels is not None else Vessel.objects.none()
        self.order_fields(
            [
                "cruise_id",
                "vessel",
                "departure_port",
                "departure_date",
                "arrival_port",
                "arrival_date",
                "mission_summary",
                "survey_targets",
                "instruments_text",
                "undated_navigation_from_departure",
                "chief_name",
                "chief_email",
                "award_funder",
                "award_number",
            ]
        )

    def clean(self):
        data = super().clean()
        vessel, cruise_id = data.get("vessel"), data.get("cruise_id")
        if (
            vessel
            and cruise_id
            and Cruise.objects.filter(vessel=vessel, cruise_id__iexact=cruise_id).exists()
        ):
            self.add_error("cruise_id", f"Cruise {cruise_id} already exists for {vessel.name}.")
        if bool(data.get("award_funder")) != bool(data.get("award_number")):
            self.add_error("award_number", "Give both the funder and the award number, or neither.")
        return data

    def cruise_fields(self) -> dict:
        fields = self.changes()
        fields.update(cruise_id=self.cleaned_data["cruise_id"], vessel=self.cleaned_data["vessel"])
        return fields


class SailingOrdersUploadForm(forms.Form):
    """A new file, or (after a refused try) the file kept from it: ``kept_name`` offers it again."""

    document = forms.FileField(
        label="Sailing-orders XML", required=False, help_text="Validated against the sailing-orders schema."
    )
    use_kept = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, kept_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.kept_name = kept_name
        if kept_name:
            self.fields["use_kept"].label = f"Use the same file again ({kept_name})"
            self.fields["document"].label = "Or choose another file"
            self.fields["document"].help_text = "A file chosen here is used instead of the one kept."
        else:
            del self.fields["use_kept"]

    def clean(self):
        data = super().clean()
        if not data.get("document") and not (self.kept_name and data.get("use_kept")):
            self.add_error("document", "Choose a sailing-orders XML file.")
        return data


class DesignateForm(forms.Form):
    email = forms.EmailField()
    name = forms.CharField(max_length=200, required=False)
    role = forms.ChoiceField(
        choices=[
            (CruiseMember.Role.SHIPBOARD_STAFF, "Shipboard staff"),
            (CruiseMember.Role.SCIENCE_PARTY, "Science party"),
        ]
    )


class LinkPackageForm(forms.Form):
    package_id = forms.CharField(label="Package", help_text="scope.identifier, e.g. edi.123")
