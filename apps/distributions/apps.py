from django.apps import AppConfig


class DistributionsConfig(AppConfig):
    name = "apps.distributions"
    label = "distributions"

    def ready(self) -> None:
        from apps.cruises import extensions
        from apps.publishing import extensions as publishing_extensions

        from . import parts

        extensions.add_page_context(parts.page_context)
        publishing_extensions.add_related(parts.datacite_related)
        publishing_extensions.add_landing_links(parts.landing_links)
