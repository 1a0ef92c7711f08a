"""The search document's copy of its revision's state follows every change of that state, in the
database itself: whatever path changes a revision (a service, a queryset update, raw SQL, the admin),
the search's access filter — which reads the copy — can never see a stale "published"."""

from django.db import migrations

POSTGRESQL = """
CREATE OR REPLACE FUNCTION search_document_follows_revision_state() RETURNS trigger AS $$
BEGIN
    UPDATE search_searchdocument SET state = NEW.state WHERE revision_id = NEW.id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS search_document_follows_revision_state ON packages_revision;
CREATE TRIGGER search_document_follows_revision_state
    AFTER UPDATE OF state ON packages_revision
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION search_document_follows_revision_state();
UPDATE search_searchdocument d SET state = r.state FROM packages_revision r
    WHERE r.id = d.revision_id AND d.state IS DISTINCT FROM r.state;
"""
POSTGRESQL_UNDO = """
DROP TRIGGER IF EXISTS search_document_follows_revision_state ON packages_revision;
DROP FUNCTION IF EXISTS search_document_follows_revision_state();
"""
SQLITE = [
    "DROP TRIGGER IF EXISTS search_document_follows_revision_state",
    """CREATE TRIGGER search_document_follows_revision_state
       AFTER UPDATE OF state ON packages_revision
       FOR EACH ROW WHEN OLD.state IS NOT NEW.state
       BEGIN
           UPDATE search_searchdocument SET state = NEW.state WHERE revision_id = NEW.id;
       END""",
    """UPDATE search_searchdocument SET state = (SELECT r.state FROM packages_revision r WHERE r.id = revision_id)""",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)
    else:  # pragma: no cover - Quayside runs on PostgreSQL or SQLite
        raise RuntimeError(f"no state trigger for {schema_editor.connection.vendor}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_UNDO)
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS search_document_follows_revision_state")


class Migration(migrations.Migration):
    dependencies = [("search", "0004_document_facet_keys"), ("packages", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
