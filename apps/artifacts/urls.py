from django.urls import path

from . import views

app_name = "artifacts"
urlpatterns = [
    path(
        "dataset/<str:scope>/<int:identifier>/<int:number>/artifacts/<int:artifact_id>",
        views.download,
        name="download",
    ),
]
