from django.urls import path

from . import views

urlpatterns = [
    path("nodes/register", views.register, name="api-nodes-register"),
    path("nodes/report", views.report, name="api-nodes-report"),
]
