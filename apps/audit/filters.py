from django import forms

from .models import AuditEvent


class AuditFilterForm(forms.Form):
    service = forms.CharField(required=False)
    category = forms.ChoiceField(required=False, choices=[("", "any")] + AuditEvent.Category.choices)
    method = forms.CharField(required=False, label="Service method contains")
    resource = forms.CharField(required=False, label="Resource id contains")
    user = forms.CharField(required=False, label="User e-mail contains")
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    status = forms.IntegerField(required=False, min_value=100, max_value=599)


def filter_events(params):
    form = AuditFilterForm(params or None)
    events = AuditEvent.objects.all()
    if form.is_valid():
        data = form.cleaned_data
        if data["service"]:
            events = events.filter(service=data["service"])
        if data["category"]:
            events = events.filter(category=data["category"])
        if data["method"]:
            events = events.filter(service_method__icontains=data["method"])
        if data["resource"]:
            events = events.filter(resource_id__icontains=data["resource"])
        if data["user"]:
            events = events.filter(user_id_text__icontains=data["user"])
        if data["since"]:
            events = events.filter(entry_time__gte=data["since"])
        if data["until"]:
            events = events.filter(entry_time__lte=data["until"])
        if data["status"]:
            events = events.filter(status_code=data["status"])
    return events, form
