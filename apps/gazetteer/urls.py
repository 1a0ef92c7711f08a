from django.urls import path

from . import views

app_name = "gazetteer"
urlpatterns = [
    path("", views.regions, name="regions"),
    path("upload", views.upload, name="upload"),
]
