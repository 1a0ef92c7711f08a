from tests.support.ingest_fixtures import allow_loopback, data_server, eager_tasks  # noqa: F401
