from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "apps.deliveries"
    label = "deliveries"
    verbose_name = "Cruise deliveries"

    def ready(self) -> None:
        from apps.cruises import extensions

        from . import cruise_parts, uploads

        extensions.add_page_context(cruise_parts.page_context)
        uploads.register()  # the ``delivery=<pk>`` target of resumable uploads (apps.uploads)
