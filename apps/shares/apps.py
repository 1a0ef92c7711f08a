from django.apps import AppConfig


class SharesConfig(AppConfig):
    name = "apps.shares"
    label = "shares"

    def ready(self):
        from . import uploads

        uploads.register()  # the tus drop zone's ``share`` target
