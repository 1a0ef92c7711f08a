from rest_framework import serializers

from ..models import AuditEvent


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
        ]
