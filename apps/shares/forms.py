from django import forms

from apps.submissions.forms import MultipleFileField

from .eml import DEFAULT_LICENCE, LICENCES


class MetadataForm(forms.Form):
    title = forms.CharField(max_length=500)
    licence = forms.ChoiceField(choices=LICENCES, initial=DEFAULT_LICENCE)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)


class ShareForm(MetadataForm):
    files = MultipleFileField(label="Files", required=False)
