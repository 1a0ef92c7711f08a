from django import forms

from .models import User, validate_orcid


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name", "affiliation", "orcid"]
        help_texts = {"orcid": "For example 0000-0002-1825-0097."}

    def clean_orcid(self):
        value = self.cleaned_data["orcid"].strip().removeprefix("https://orcid.org/")
        if value:
            validate_orcid(value)
        return value


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'ship logger'.")
