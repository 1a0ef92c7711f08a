from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    name = "apps.deliveries"
    label = "deliveries"
    verbose_name = "Cruise deliveries"

    def ready(self):
        from . import uploads

        uploads.register()  # the ``delivery=<pk>`` target of resumable uploads (apps.uploads)
