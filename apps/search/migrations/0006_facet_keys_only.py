"""One representation of facets, and narrower rows on PostgreSQL.

- Facet filters test the document's ``facet_keys`` (PostgreSQL: a GIN index the planner ANDs with the
  full-text index, so only documents matching both are read; SQLite: json_each), and facet counts
  already counted them, so the SearchFacet rows go: at 1M documents they and their indexes were 900 MB
  that every write kept up and no search read.
- PostgreSQL searches the tsvector alone, so the text is left out of its rows (index_revision builds
  the tsvector from the text it computes): every row a search reads is about a third narrower.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS search_document_facet_keys_gin ON search_searchdocument "
            "USING gin (facet_keys jsonb_path_ops)"
        )
        schema_editor.execute("UPDATE search_searchdocument SET text = '' WHERE text <> ''")


def backwards(apps, schema_editor):
    # The facet rows and the text come back with `manage.py reindex_search` on the older code.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS search_document_facet_keys_gin")


class Migration(migrations.Migration):
    dependencies = [("search", "0005_state_follows_revision")]
    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.DeleteModel(name="SearchFacet"),
    ]
