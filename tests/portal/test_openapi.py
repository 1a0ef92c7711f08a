"""The OpenAPI document describes every API endpoint: drf-spectacular reports no errors (an error means
an endpoint it could not describe, which it then leaves out)."""

from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator


def test_every_api_endpoint_is_in_the_schema_without_generator_errors(db):
    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert dict(GENERATOR_STATS._error_cache) == {}
    paths = schema["paths"]
    for path in (
        "/api/search/",
        "/api/publishing/dois/",
        "/api/eventlogs/{cruise_pk}/entries/",
        "/api/tokens/",
    ):
        assert path in paths, path
    batch = paths["/api/eventlogs/{cruise_pk}/entries/"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    assert batch == {"$ref": "#/components/schemas/EntryOrEntriesRequest"}
    assert {"type": "array", "items": {"$ref": "#/components/schemas/EntryInRequest"}} in schema[
        "components"
    ]["schemas"]["EntryOrEntriesRequest"]["oneOf"]
