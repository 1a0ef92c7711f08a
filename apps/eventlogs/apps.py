from django.apps import AppConfig


class EventlogsConfig(AppConfig):
    name = "apps.eventlogs"
    label = "eventlogs"

    def ready(self) -> None:
        from apps.cruises import extensions

        from . import cruise_parts

        extensions.add_page_context(cruise_parts.page_context)
        extensions.register(event_summary=cruise_parts.event_summary)
