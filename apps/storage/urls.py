from django.urls import path

from . import views

app_name = "storage"
urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("blobs/<str:sha256>", views.blob_download, name="blob"),
]
