from django.urls import path

from . import views

app_name = "navigation"
urlpatterns = [
    path("<int:cruise_pk>/", views.certificate, name="certificate"),
    path("<int:cruise_pk>/certificate.xml", views.certificate_xml, name="certificate-xml"),
    path("<int:cruise_pk>/certificate.json", views.certificate_json, name="certificate-json"),
    path("<int:cruise_pk>/products/<str:name>", views.product, name="product"),
    path("<int:cruise_pk>/manifests/<path:path>", views.manifest, name="manifest"),
]
