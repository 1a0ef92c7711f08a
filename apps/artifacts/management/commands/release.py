"""``manage.py release``: bundle the source of the current commit as a release artifact (``git archive``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.artifacts.manifests import Input, Output, git_commit, quayside_version, record_build
from apps.artifacts.models import Artifact
from apps.storage.services import store_file


class Command(BaseCommand):
    help = (
        "Bundle the source of the checked-out commit (git archive, tar.gz, with deploy/requirements.lock) "
        "as a 'source' artifact with its build manifest, and optionally copy it to --output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", help="also write the archive here (a file, or a folder ending in /)")

    def handle(self, *args, **options):
        commit = git_commit()
        if commit == "unknown" or commit.endswith("-dirty"):
            raise CommandError(
                "A release is made from a clean git checkout (commit everything first): the archive must be "
                "exactly that commit."
            )
        version = quayside_version()
        name = f"quayside-{version}-{commit[:12]}"
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / f"{name}.tar.gz"
            # git archive is deterministic for a commit: the mtime of every entry is the commit's time.
            subprocess.run(
                ["git", "archive", "--format=tar.gz", f"--prefix={name}/", "-o", str(archive), commit],
                cwd=settings.BASE_DIR,
                check=True,
            )
            blob = store_file(archive)
            if options.get("output"):
                target = Path(options["output"])
                if target.is_dir() or options["output"].endswith("/"):
                    target.mkdir(parents=True, exist_ok=True)
                    target = target / archive.name
                shutil.copyfile(archive, target)
                self.stdout.write(f"wrote {target}")
        [artifact] = record_build(
            Artifact.Kind.SOURCE,
            inputs=[Input(name=f"git commit {commit}", sha256="", role="source")],
            outputs=[Output(path=f"releases/{name}.tar.gz", blob=blob, media_type="application/gzip")],
            config={"command": "git archive --format=tar.gz", "commit": commit, "version": version},
            libraries=(),
        )
        self.stdout.write(
            f"{artifact.path}: {blob.size:,} bytes, sha256 {blob.sha256} (artifact {artifact.pk})"
        )
