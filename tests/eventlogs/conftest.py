import pytest

from tests.cruises.helpers import open_log


@pytest.fixture
def open_eventlog(cruise, operator_user):
    return open_log(cruise, operator_user)
