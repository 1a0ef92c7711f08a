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


class SignupDetailsForm(forms.Form):
    """What allauth's sign-up form asks besides e-mail and password: the name and affiliation that
    citations, DataCite creators and review e-mails need (ACCOUNT_SIGNUP_FORM_CLASS)."""

    name = forms.CharField(max_length=200, label="Full name", help_text="As it should appear in citations.")
    affiliation = forms.CharField(
        max_length=300,
        required=False,
        help_text="Your institution, e.g. 'Woods Hole Oceanographic Institution'.",
    )

    def signup(self, request, user) -> None:
        user.name = self.cleaned_data["name"].strip()
        user.affiliation = self.cleaned_data["affiliation"].strip()
        user.save(update_fields=["name", "affiliation"])


class SubmitterRequestForm(forms.Form):
    reason = forms.CharField(
        label="What would you like to submit?",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        help_text="A sentence or two for the data managers: your project, the kind of data, your institution.",
    )
