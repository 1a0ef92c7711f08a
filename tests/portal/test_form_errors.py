"""Every form renders its errors the same way (FORM_RENDERER, templates/django/forms/field.html): under
the field, in the error colour, linked to the input by aria-describedby, the input marked aria-invalid."""

from __future__ import annotations

import re
from pathlib import Path

from django import forms

from apps.accounts.forms import ProfileForm

CSS = Path(__file__).resolve().parents[2] / "static/css/quayside.css"


class CastForm(forms.Form):
    station = forms.CharField(help_text="As on the sailing orders, e.g. S01.")
    depth = forms.IntegerField()
    kind = forms.ChoiceField(choices=[("ctd", "CTD"), ("net", "Net")], widget=forms.RadioSelect)


def test_an_error_sits_under_its_field_and_is_linked_to_the_input():
    html = str(CastForm({"station": "", "depth": "deep", "kind": "ctd"}))
    depth_input = re.search(r"<input[^>]*name=\"depth\"[^>]*>", html)[0]
    assert 'aria-invalid="true"' in depth_input
    assert 'aria-describedby="id_depth_error"' in depth_input
    assert html.index('name="depth"') < html.index('id="id_depth_error"')  # under the field
    assert re.search(r'<ul class="errorlist" id="id_depth_error"><li>Enter a whole number.</li></ul>', html)
    station_input = re.search(r"<input[^>]*name=\"station\"[^>]*>", html)[0]
    assert 'aria-describedby="id_station_helptext id_station_error"' in station_input


def test_a_field_without_errors_is_not_marked_invalid():
    html = str(CastForm({"station": "S01", "depth": "", "kind": "ctd"}))
    station_input = re.search(r"<input[^>]*name=\"station\"[^>]*>", html)[0]
    assert "aria-invalid" not in station_input and 'id="id_station_error"' not in html


def test_a_choice_fieldset_with_an_error_keeps_the_error_inside_it():
    html = str(CastForm({"station": "S01", "depth": "3", "kind": "sonar"}))
    fieldset = re.search(r"<fieldset[^>]*>.*?</fieldset>", html, re.S)[0]
    assert 'aria-describedby="id_kind_error"' in fieldset and 'class="has-error"' in fieldset
    assert 'id="id_kind_error"' in fieldset


def test_as_p_renders_errors_under_the_field_too():
    html = ProfileForm({"name": "Ada", "affiliation": "", "orcid": "1234"}).as_p()
    assert html.index('name="orcid"') < html.index('id="id_orcid_error"')
    assert 'aria-invalid="true"' in re.search(r"<input[^>]*name=\"orcid\"[^>]*>", html)[0]


def test_the_error_colour_is_applied_to_the_message_and_the_field():
    css = CSS.read_text()
    assert re.search(r"\.errorlist \{[^}]*color: var\(--err\)", css)
    assert re.search(r"input\[aria-invalid=true\][^{]*\{[^}]*var\(--err\)", css)
