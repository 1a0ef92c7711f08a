from django.urls import path

from . import views

urlpatterns = [
    path("deliveries/", views.deliveries, name="api-deliveries"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="api-delivery"),
    path("deliveries/<int:pk>/files/", views.delivery_files, name="api-delivery-files"),
    path("deliveries/<int:pk>/flags/", views.delivery_flags, name="api-delivery-flags"),
]
