"""``manage.py harvest BASE_URL [--prefix oai_dc|datacite|eml] [--set S] [--full]``: harvest any OAI-PMH
2.0 provider now, in this process. The source is registered on first use (then the beat job harvests it
on its schedule too); a later run is incremental from the last harvest's responseDate."""

from django.core.management.base import BaseCommand, CommandError

from apps.federation import services
from apps.federation.models import HarvestSource
from portal.errors import UserError


class Command(BaseCommand):
    help = "Harvest an OAI-PMH provider into remote records (incrementally after the first time)."

    def add_arguments(self, parser):
        parser.add_argument("base_url")
        parser.add_argument("--prefix", default="oai_dc", choices=HarvestSource.Prefix.values)
        parser.add_argument("--set", dest="set_spec", default="")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--full", action="store_true", help="ignore the last responseDate: harvest everything"
        )

    def handle(self, base_url, prefix, set_spec, name, full, **options):
        try:
            url = services.check_base_url(base_url)
        except UserError as exc:
            raise CommandError(str(exc)) from exc
        source = HarvestSource.objects.filter(base_url=url, metadata_prefix=prefix, set_spec=set_spec).first()
        if source is None:
            source = HarvestSource.objects.create(
                base_url=url, metadata_prefix=prefix, set_spec=set_spec, name=name
            )
        run = services.harvest(source.pk, full=full)
        if run is None:
            raise CommandError("Another worker is harvesting this source right now; try again later.")
        self.stdout.write(
            f"{run.state}: {run.message}" + (f" (from {run.from_date})" if run.from_date else "")
        )
        if run.errors:
            self.stdout.write("refused:\n  " + run.errors.replace("\n", "\n  "))
        if run.state == run.State.FAILED:
            raise CommandError(run.message)
