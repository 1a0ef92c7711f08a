from django.db import migrations


def seed(apps, schema_editor):
    from apps.eventlogs.models import DEFAULT_INSTRUMENTS

    Instrument = apps.get_model("eventlogs", "Instrument")
    for code, name, actions in DEFAULT_INSTRUMENTS:
        Instrument.objects.get_or_create(code=code, defaults={"name": name, "actions": actions})


class Migration(migrations.Migration):
    dependencies = [("eventlogs", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
