from django import forms
from django.db.models import Exists, OuterRef, Q

from .models import REQUEST_SERVICES, AuditEvent


class AuditFilterForm(forms.Form):
    service = forms.CharField(required=False)
    category = forms.ChoiceField(required=False, choices=[("", "any")] + AuditEvent.Category.choices)
    method = forms.CharField(required=False, label="Service method contains")
    resource = forms.CharField(required=False, label="Resource id contains")
    user = forms.CharField(required=False, label="User e-mail contains")
    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    status = forms.IntegerField(required=False, min_value=100, max_value=599)


# Each filter of the form and the lookup it narrows the events by.
LOOKUPS = {
    "service": "service",
    "category": "category",
    "method": "service_method__icontains",
    "resource": "resource_id__icontains",
    "user": "user_id_text__icontains",
    "since": "entry_time__gte",
    "until": "entry_time__lte",
    "status": "status_code",
}


def filter_events(params):
    form = AuditFilterForm(params or None)
    events = AuditEvent.objects.all()
    if form.is_valid():
        events = events.filter(**{LOOKUPS[name]: value for name, value in form.cleaned_data.items() if value})
    return events, form


def action_heads(events):
    """The one row that stands for each action among ``events``: an action is every row of one web
    request (same ``request_id``), or a single row recorded outside any request.

    The first service event of a request is its head (what happened); the middleware's request row
    (method, path, status, agent) heads only a request in which no service recorded anything — a refusal,
    say. An action matches the filters when any of its rows does.
    """
    same_request = AuditEvent.objects.filter(request_id=OuterRef("request_id"))
    service_events = same_request.exclude(service__in=REQUEST_SERVICES)
    is_head = (
        Q(request_id=None)
        | (~Q(service__in=REQUEST_SERVICES) & ~Exists(service_events.filter(id__lt=OuterRef("id"))))
        | (Q(service__in=REQUEST_SERVICES) & ~Exists(service_events))
    )
    matched = Q(id__in=events.values("id")) | Q(
        request_id__in=events.exclude(request_id=None).values("request_id")
    )
    return AuditEvent.objects.filter(matched).filter(is_head)


def filter_actions(params):
    """``filter_events`` by action: the heads of the actions with a matching row, newest first."""
    events, form = filter_events(params)
    return action_heads(events), form


def attach_details(heads) -> list[AuditEvent]:
    """Give each head in ``heads`` (a page of them) its request row as ``request_row`` (``None`` when it
    has none or is it) and the other service events of its request as ``also``, in one query."""
    heads = list(heads)
    ids = {head.request_id for head in heads if head.request_id is not None}
    by_request: dict = {}
    for row in AuditEvent.objects.filter(request_id__in=ids).select_related("user").order_by("id"):
        by_request.setdefault(row.request_id, []).append(row)
    for head in heads:
        rows = by_request.get(head.request_id, []) if head.request_id is not None else []
        head.request_row = next((r for r in rows if r.is_request and r.pk != head.pk), None)
        head.also = [r for r in rows if not r.is_request and r.pk != head.pk]
    return heads
