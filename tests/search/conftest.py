from tests.publishing.conftest import award, make_revision, schemas  # noqa: F401  (shared revision factory)
