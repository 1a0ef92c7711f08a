from django.urls import path

from . import views

app_name = "submissions"
urlpatterns = [
    path("", views.submit, name="submit"),
    path("pipeline/", views.pipeline, name="pipeline"),
    path("<str:transaction>/", views.status, name="status"),
    path("<str:transaction>/status.json", views.status_json, name="status-json"),
    path("<str:transaction>/report/", views.report, name="report"),
    path("<str:transaction>/retry/", views.retry, name="retry"),
]
