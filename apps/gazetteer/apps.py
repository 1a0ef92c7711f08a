from django.apps import AppConfig


class GazetteerConfig(AppConfig):
    name = "apps.gazetteer"
    label = "gazetteer"
