import datetime

import pytest

from apps.navigation import synthetic

START = datetime.datetime(2024, 3, 2, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture
def nmea(tmp_path):
    """Write lines (str) to an NMEA file and return its path."""

    def write(lines, name="nav.nmea", mode="w"):
        path = tmp_path / name
        if isinstance(lines, bytes):
            path.write_bytes(lines)
        else:
            path.write_text("\n".join(lines) + "\n", encoding="latin-1")
        return path

    return write


@pytest.fixture
def track_file(tmp_path):
    """A generated track file (``synthetic.write`` options), 1 Hz from START."""

    def write(n=3600, name="track.nmea", **options):
        path = tmp_path / name
        synthetic.write(path, START, n, **options)
        return path

    return write


S = synthetic.sentence
