"""A published version's torrent and mirrors, as its OAI-PMH records name them (apps.publishing.extensions.copies):
made directly with the models, for the provider's and the harvester's tests."""

from __future__ import annotations


def give_torrent_and_mirrors(revision):
    """A built torrent for ``revision`` (its bytes are not read here), and three mirrors: two verified (one
    in the version's tree layout, so a web seed too; one a record page), one that failed its last check."""
    from django.utils import timezone

    from apps.catalog.models import Mirror
    from apps.storage.services import store_bytes
    from apps.swarm.models import Torrent
    from apps.swarm.services import announce_built

    torrent, _ = Torrent.objects.update_or_create(  # publishing made it due
        revision=revision,
        defaults={
            "state": Torrent.State.BUILT,
            "infohash": "ab" * 20,
            "blob": store_bytes(b"d4:infod4:name" + revision.package_id_text.encode() + b"ee"),
        },
    )
    tree = f"https://bucket.example.invalid/quay/{revision.package_id_text}/"
    record = "https://zenodo.example.invalid/records/7"
    verified = {"health": Mirror.Health.OK, "verified_at": timezone.now()}
    Mirror.objects.create(revision=revision, kind="bucket", base_url=tree, **verified)
    Mirror.objects.create(
        revision=revision,
        kind="zenodo",
        record_url=record,
        file_urls={"temp1.csv": f"{record}/files/temp1.csv"},
        **verified,
    )
    Mirror.objects.create(
        revision=revision, kind="http", base_url="https://broken.example.invalid/", health=Mirror.Health.BAD
    )
    announce_built(torrent.pk)  # a new datestamp: harvesters take the record again
    return tree, record
