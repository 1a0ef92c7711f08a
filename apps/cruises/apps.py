from django.apps import AppConfig


class CruisesConfig(AppConfig):
    name = "apps.cruises"
    label = "cruises"
