"""The distributions API: profiles (data managers), classification preview and commit, restore requests,
and accessions (data managers and the national archive's account)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from apps import access
from apps.access.permissions import IsDataManager
from apps.cruises.models import Organisation, Vessel
from portal.errors import UserError

from .. import deep, services
from ..models import Accession, Profile


class RuleSerializer(serializers.Serializer):
    instrument_class = serializers.CharField()
    vendor = serializers.CharField(required=False, allow_blank=True, default="")
    model = serializers.CharField(required=False, allow_blank=True, default="")
    pattern = serializers.CharField()


class ProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField()
    operator = serializers.IntegerField(help_text="Organisation id")
    vessel = serializers.IntegerField(required=False, allow_null=True, default=None)
    template = serializers.IntegerField(required=False, allow_null=True, default=None)
    rules = RuleSerializer(many=True)
    effective_rules = RuleSerializer(many=True, read_only=True)


def _profile_json(p: Profile) -> dict:
    def rule(r):
        return {
            "instrument_class": r.instrument_class,
            "vendor": r.vendor,
            "model": r.model,
            "pattern": r.pattern,
        }

    return {
        "id": p.pk,
        "name": p.name,
        "operator": p.operator_id,
        "vessel": p.vessel_id,
        "template": p.template_id,
        "rules": [rule(r) for r in p.rules.all()],
        "effective_rules": [rule(r) for r in p.effective_rules()],
    }


def _save(request, profile: Profile | None) -> Profile:
    data = ProfileSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    operator = Organisation.objects.filter(pk=v["operator"]).first()
    if operator is None:
        raise UserError(f"No organisation {v['operator']}.")
    vessel = Vessel.objects.filter(pk=v["vessel"]).first() if v["vessel"] else None
    template = Profile.objects.filter(pk=v["template"]).first() if v["template"] else None
    return services.save_profile(
        request.user,
        name=v["name"],
        operator=operator,
        vessel=vessel,
        template=template,
        rules=[dict(r) for r in v["rules"]],
        profile=profile,
        request=request,
    )


@extend_schema(request=ProfileSerializer, responses=ProfileSerializer(many=True))
@api_view(["GET", "POST"])
@permission_classes([IsDataManager])
def profiles(request):
    """Distribution profiles (GET), or a new one (POST): rules map an instrument class, vendor and model to a
    directory glob in the delivery; a vessel profile may extend a fleet template (rule-by-class override)."""
    if request.method == "POST":
        return Response(_profile_json(_save(request, None)), status=201)
    rows = Profile.objects.prefetch_related("rules", "template__rules")
    return Response([_profile_json(p) for p in rows])


@extend_schema(request=ProfileSerializer, responses=ProfileSerializer)
@api_view(["GET", "PUT"])
@permission_classes([IsDataManager])
def profile(request, pk: int):
    found = get_object_or_404(Profile, pk=pk)
    if request.method == "PUT":
        found = _save(request, found)
    return Response(_profile_json(found))


class CommitSerializer(serializers.Serializer):
    profile = serializers.IntegerField()
    fingerprint = serializers.CharField(help_text="The fingerprint of the preview being committed.")


@extend_schema(request=CommitSerializer, responses=dict)
@api_view(["GET", "POST"])
@permission_classes([IsDataManager])
def classification(request, delivery_pk: int):
    """GET ?profile=ID: the preview (datasets with file counts and samples, what matched nothing, and the
    fingerprint); POST {profile, fingerprint}: commit it."""
    delivery = services.get_delivery(delivery_pk)
    if request.method == "POST":
        body = CommitSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        chosen = get_object_or_404(Profile, pk=body.validated_data["profile"])
        datasets = services.commit_classification(
            delivery, chosen, request.user, expected=body.validated_data["fingerprint"], request=request
        )
        return Response(
            {
                "datasets": [
                    {
                        "id": d.pk,
                        "instrument_class": d.instrument_class,
                        "vendor": d.vendor,
                        "model": d.model,
                        "files": d.files_count,
                        "bytes": d.bytes_total,
                    }
                    for d in datasets
                ]
            },
            status=201,
        )
    chosen_pk = request.query_params.get("profile", "")
    if chosen_pk and not chosen_pk.isdigit():
        raise UserError("?profile= takes a profile id (a whole number).")
    chosen = get_object_or_404(Profile, pk=int(chosen_pk)) if chosen_pk else services.profile_for(delivery)
    if chosen is None:
        raise UserError("No profile for this vessel or operator; name one with ?profile=ID.")
    result = services.preview(delivery, chosen)
    return Response(
        {
            "profile": chosen.pk,
            "fingerprint": result.fingerprint,
            "files": result.total_files,
            "datasets": [
                {
                    "instrument_class": g.instrument_class,
                    "vendor": g.vendor,
                    "model": g.model,
                    "patterns": g.patterns,
                    "files": g.files,
                    "bytes": g.bytes,
                    "samples": g.samples,
                }
                for g in result.groups
            ],
            "unmatched": {
                "files": result.unmatched_files,
                "bytes": result.unmatched_bytes,
                "paths": result.unmatched,
                "folders": dict(result.unmatched_folders),
            },
        }
    )


class RestoreSerializer(serializers.Serializer):
    scope = serializers.ChoiceField(choices=["delivery", "folder", "file"])
    path = serializers.CharField(required=False, allow_blank=True, default="")
    target = serializers.ChoiceField(choices=["folder", "primary"], default="folder")
    reason = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema(request=RestoreSerializer, responses=dict)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def restores(request, delivery_pk: int):
    """Ask for a restore from deep storage (the operator, the chief scientist or a data manager)."""
    delivery = services.get_delivery(delivery_pk)
    access.require_restore_requester(request.user, delivery.cruise)
    body = RestoreSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    restore = deep.request_restore(delivery, request.user, request=request, **body.validated_data)
    return Response({"id": restore.pk, "state": restore.state}, status=201)


class AccessionSerializer(serializers.Serializer):
    accession_id = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500)
    archive = serializers.CharField(max_length=100, required=False, default="NCEI")


def _accession_json(a: Accession) -> dict:
    return {"accession_id": a.accession_id, "url": a.url, "archive": a.archive, "reported_at": a.reported_at}


@extend_schema(request=AccessionSerializer, responses=AccessionSerializer)
@api_view(["GET", "POST"])
def accession(request, scope: str, identifier: int):
    """GET: the dataset's accession at the national archive (public, 404 until reported). POST: report it
    (a data manager, or a token of the ``archive`` role)."""
    dataset = services.dataset_for_package(scope, identifier)
    if request.method == "POST":
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        access.require_accession_reporter(request.user)
        body = AccessionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        found = services.report_accession(dataset, request.user, request=request, **body.validated_data)
        return Response(_accession_json(found), status=201)
    found = Accession.objects.filter(package=dataset.package).first()
    if found is None:
        return Response({"detail": "No accession reported yet."}, status=404)
    return Response(_accession_json(found))
