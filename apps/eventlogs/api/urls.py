from django.urls import path

from . import views

urlpatterns = [path("eventlogs/<int:cruise_pk>/entries/", views.entries, name="api-eventlog-entries")]
