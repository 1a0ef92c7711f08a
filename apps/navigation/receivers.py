"""What navigation does when other apps report something."""


def build_from_classified_delivery(sender, delivery, **kwargs) -> None:
    """A delivery was classified: build the cruise's track when it has files of class ``navigation``."""
    from .services import request_delivery_navigation

    request_delivery_navigation(delivery)
