from django.urls import path

from . import views

urlpatterns = [
    path("uploads/", views.UploadCollection.as_view(), name="api-uploads"),
    path("uploads/<str:pk>", views.UploadDetail.as_view(), name="api-upload"),
]
