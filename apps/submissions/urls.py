from django.urls import path

from . import views

app_name = "submissions"
urlpatterns = [
    path("", views.submit, name="submit"),
    path("<str:transaction>/", views.status, name="status"),
    path("<str:transaction>/status.json", views.status_json, name="status-json"),
    path("<str:transaction>/report/", views.report, name="report"),
]
