from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "apps.publishing"
    label = "publishing"

    def ready(self) -> None:
        from . import (
            checks,  # noqa: F401  (registers the deployment checks)
            receivers,  # noqa: F401  (publishes what a hold releases)
        )
        from .taint import register_references

        register_references()
