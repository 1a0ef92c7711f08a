from django.urls import path

from . import views

urlpatterns = [
    path("cruises/", views.cruises, name="api-cruises"),
    path("cruises/<int:pk>/", views.cruise_detail, name="api-cruise"),
    path("cruises/<int:pk>/sailing-orders.xml", views.cruise_xml, name="api-cruise-xml"),
]
