from rest_framework import serializers

from ..models import AuditEvent


class AuditRequestSerializer(serializers.ModelSerializer):
    """The web request an action came in on (the audit middleware's row)."""

    method = serializers.CharField(source="service_method")
    path = serializers.CharField(source="entry_text")

    class Meta:
        model = AuditEvent
        fields = ["id", "entry_time", "service", "method", "path", "status_code", "category", "user_agent"]


class AuditEventSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user_id_text")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "entry_time",
            "service",
            "category",
            "service_method",
            "entry_text",
            "resource_id",
            "status_code",
            "user",
            "user_agent",
            "groups",
            "auth_system",
            "request_id",
        ]


class AuditActionSerializer(AuditEventSerializer):
    """One action: its main event, the web request it came in on (``null`` when none, or when the main
    event is that request), and the other service events recorded in the same request."""

    request = AuditRequestSerializer(source="request_row", allow_null=True, read_only=True)
    also = AuditEventSerializer(many=True, read_only=True)

    class Meta(AuditEventSerializer.Meta):
        fields = [*AuditEventSerializer.Meta.fields, "request", "also"]
