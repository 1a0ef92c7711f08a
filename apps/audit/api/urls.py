from django.urls import path

from . import views

urlpatterns = [path("audit/", views.AuditEventList.as_view(), name="api-audit-list")]
