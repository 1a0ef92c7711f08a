from django.apps import AppConfig


class ReviewsConfig(AppConfig):
    name = "apps.reviews"
    label = "reviews"

    def ready(self) -> None:
        from apps.cruises import extensions

        from . import cruise_parts

        extensions.add_page_context(cruise_parts.page_context)
        extensions.register(record_changes=cruise_parts.record_changes)
