from django.conf import settings
from rest_framework import serializers

from apps.packages.models import Resource, Revision


class ResourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Resource
        fields = [
            "resource_id",
            "resource_type",
            "doi",
            "eml_entity_id",
            "entity_name",
            "filename",
            "md5_checksum",
            "sha1_checksum",
            "mime_type",
            "format_type",
            "resource_size",
            "date_created",
            "date_deactivated",
        ]


class RevisionSerializer(serializers.ModelSerializer):
    package_id = serializers.CharField(source="package_id_text")
    scope = serializers.CharField(source="package.scope")
    identifier = serializers.IntegerField(source="package.identifier")
    url = serializers.SerializerMethodField()

    class Meta:
        model = Revision
        fields = [
            "package_id",
            "scope",
            "identifier",
            "number",
            "state",
            "title",
            "abstract",
            "keywords",
            "creators",
            "coverage",
            "licence",
            "doi",
            "archived_at",
            "published_at",
            "url",
        ]

    def get_url(self, obj) -> str:
        return f"{settings.SITE_BASE_URL}/api/packages/{obj.package.scope}/{obj.package.identifier}/{obj.number}/"


class RevisionDetailSerializer(RevisionSerializer):
    resources = ResourceSerializer(many=True, read_only=True)

    class Meta(RevisionSerializer.Meta):
        fields = RevisionSerializer.Meta.fields + ["resources"]
