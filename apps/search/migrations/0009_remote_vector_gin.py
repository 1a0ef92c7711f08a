"""The GIN index over remote documents' tsvector — PostgreSQL only (SQLite searches ``text``)."""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS search_remote_vector_gin ON search_remotedocument USING gin (vector)"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_remote_vector_gin")


class Migration(migrations.Migration):
    dependencies = [("search", "0008_remote_documents")]
    operations = [migrations.RunPython(create_index, drop_index)]
