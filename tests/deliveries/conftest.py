import pytest


@pytest.fixture
def dropbox(settings, tmp_path):
    """An allowed drop-folder root of the test's own."""
    root = tmp_path / "dropbox"
    root.mkdir()
    settings.DELIVERY_ALLOWED_ROOTS = [str(root)]
    settings.DELIVERY_UPLOAD_ROOT = tmp_path / "uploads"
    return root
