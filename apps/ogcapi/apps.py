from django.apps import AppConfig


class OgcapiConfig(AppConfig):
    name = "apps.ogcapi"
    label = "ogcapi"
