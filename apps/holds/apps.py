from django.apps import AppConfig


class HoldsConfig(AppConfig):
    name = "apps.holds"
    label = "holds"
