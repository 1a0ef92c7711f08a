from django.apps import AppConfig


class EventlogsConfig(AppConfig):
    name = "apps.eventlogs"
    label = "eventlogs"
