from pathlib import Path

from django.apps import AppConfig
from django.conf import settings


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Quayside portal"

    def ready(self) -> None:
        """Make the local folders the settings name (data folder, static files, scratch, the file-system
        queue) when a process starts, so a fresh clone runs with nothing made beforehand."""
        for folder in settings.LOCAL_FOLDERS:
            Path(folder).mkdir(parents=True, exist_ok=True)
