from django import forms

from .models import Submission


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class SubmitForm(forms.Form):
    eml = forms.FileField(label="EML document (EML 2.2.0)")
    data = MultipleFileField(label="Data files (optional; then they need no URL)", required=False)
    kind = forms.ChoiceField(
        choices=[
            (Submission.Kind.CREATE, "Create a new package"),
            (Submission.Kind.UPDATE, "Update a package (new revision)"),
            (Submission.Kind.EVALUATE, "Evaluate only (nothing is archived)"),
        ],
        initial=Submission.Kind.CREATE,
    )
