"""A GiST index over each timed piece's box and time span (PostgreSQL's own box and range types: no PostGIS).
Search by place asks it with ``&&`` (apps.gazetteer.services.candidates); SQLite keeps the btree indexes."""

from django.db import migrations

INDEX = (
    "CREATE INDEX IF NOT EXISTS nav_segment_gist ON navigation_tracksegment USING gist "
    "(box(point(west, south), point(east, north)), tstzrange(start, \"end\", '[]'))"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INDEX)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS nav_segment_gist")


class Migration(migrations.Migration):
    dependencies = [("navigation", "0002_track_segments")]
    operations = [migrations.RunPython(create, drop)]
