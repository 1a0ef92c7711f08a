from django import forms

from apps.cruises.models import Organisation, Vessel

from .models import InstrumentClass, Profile, RestoreRequest

RULES_HELP = (
    "One rule per line: instrument class | vendor | model | directory pattern. Classes: "
    + ", ".join(InstrumentClass.values)
    + ". Earlier lines win. A vessel profile's rules replace its template's rules of the same class."
)


def rules_to_text(profile: Profile | None) -> str:
    if profile is None:
        return ""
    return "\n".join(
        f"{r.instrument_class} | {r.vendor} | {r.model} | {r.pattern}" for r in profile.rules.all()
    )


def text_to_rules(text: str) -> list[dict]:
    rules = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 4:
            parts = [parts[0], "", "", parts[-1]] if len(parts) >= 2 else ["", "", "", parts[0]]
        rules.append(dict(zip(("instrument_class", "vendor", "model", "pattern"), parts, strict=True)))
    return rules


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=200)
    operator = forms.ModelChoiceField(Organisation.objects.all())
    vessel = forms.ModelChoiceField(
        Vessel.objects.select_related("operator"),
        required=False,
        help_text="Empty: a fleet-standard template.",
    )
    template = forms.ModelChoiceField(
        Profile.objects.filter(vessel__isnull=True),
        required=False,
        help_text="The fleet template it extends.",
    )
    rules = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}), required=False, help_text=RULES_HELP
    )


class RestoreForm(forms.Form):
    scope = forms.ChoiceField(choices=RestoreRequest.Scope.choices)
    path = forms.CharField(required=False, help_text="The folder or file, as in the inventory.")
    target = forms.ChoiceField(choices=RestoreRequest.Target.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class AccessionForm(forms.Form):
    accession_id = forms.CharField(max_length=100)
    url = forms.URLField(max_length=500, assume_scheme="https")
    archive = forms.CharField(max_length=100, initial="NCEI")
