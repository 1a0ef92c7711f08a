from django.urls import path

from . import views

app_name = "storage"
urlpatterns = [path("blobs/<str:sha256>", views.blob_download, name="blob")]
