"""The node's configuration: a TOML file, then environment variables, then command-line flags (each
overrides the one before). Every key ``k`` has the variable ``QUAYSIDE_NODE_<K>`` (``QUAYSIDE_NODE_TOKEN``
keeps the token out of the file).

Example (``/etc/quayside-node.toml``)::

    portal = "https://data.example.org"
    token = "qn_…"                # or QUAYSIDE_NODE_TOKEN
    budget = "500 GB"             # decimal (GB) or binary (GiB) units, or a number of bytes
    data = "/var/lib/quayside-node"
    subjects = ["oceanography"]   # catalog keywords to favour (case-insensitive)
    scopes = ["knb-lter-ble"]     # collections (scopes) to favour
    upload_limit = "2 MB"         # bytes per second; 0 = no limit
    download_limit = 0
    listen = ""                   # "" = outbound only; "0.0.0.0:6881" accepts peers (and enables DHT)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .rank import DEFAULT_FAVOUR

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


class ConfigError(ValueError):
    """A configuration value the node cannot use; the message names the key."""


def parse_size(value, key: str = "size") -> int:
    """``"500 GB"`` → 500,000,000,000; ``"1.5 GiB"``; a plain number is bytes."""
    if isinstance(value, bool):
        raise ConfigError(f"{key}: expected a size such as '500 GB', got {value!r}")
    if isinstance(value, int | float):
        number, unit = value, ""
    else:
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(value))
        if not match or match.group(2).lower() not in _UNITS:
            raise ConfigError(f"{key}: expected a size such as '500 GB' or '2 GiB', got {value!r}")
        number, unit = float(match.group(1)), match.group(2).lower()
    if number < 0:
        raise ConfigError(f"{key}: must not be negative")
    return int(number * _UNITS[unit])


def _list(value, key: str) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise ConfigError(f"{key}: expected a list of strings")


@dataclass
class Config:
    portal: str = ""
    token: str = ""
    budget: int = 0
    data: Path = Path("quayside-node-data")
    name: str = ""
    subjects: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    upload_limit: int = 0
    download_limit: int = 0
    listen: str = ""
    dht: bool = True
    poll_seconds: int = 0  # 0: as the portal says at registration
    favour: float = DEFAULT_FAVOUR
    timeout: float = 60

    def check(self) -> Config:
        if not self.portal.startswith(("http://", "https://")):
            raise ConfigError("portal: the portal's URL (https://…) is required")
        if not self.token:
            raise ConfigError("token: a node token (qn_…) is required (or QUAYSIDE_NODE_TOKEN)")
        if self.favour < 1:
            raise ConfigError("favour: must be at least 1")
        return self

    def registration(self) -> dict:
        """The body of ``POST /api/nodes/register``."""
        from . import __version__

        body = {
            "budget_bytes": self.budget,
            "subjects": self.subjects,
            "scopes": self.scopes,
            "upload_limit": self.upload_limit,
            "download_limit": self.download_limit,
            "client": f"quayside-node/{__version__}",
        }
        if self.name:
            body["name"] = self.name
        return body

    def fingerprint(self) -> str:
        """Changes when anything the portal was told at registration changes (the node registers again)."""
        token = hashlib.sha256(self.token.encode()).hexdigest()
        body = {"portal": self.portal, "token": token, **self.registration()}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


_CONVERT = {
    "budget": parse_size,
    "upload_limit": parse_size,
    "download_limit": parse_size,
    "subjects": _list,
    "scopes": _list,
    "data": lambda v, k: Path(v).expanduser(),
    "poll_seconds": lambda v, k: int(v),
    "favour": lambda v, k: float(v),
    "timeout": lambda v, k: float(v),
    "dht": lambda v, k: v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes", "on"),
    "portal": lambda v, k: str(v).rstrip("/"),
}


def load(path: Path | str | None = None, *, env: dict | None = None, **flags) -> Config:
    """The configuration from the TOML file at ``path``, then ``QUAYSIDE_NODE_*`` in ``env``
    (``os.environ`` by default), then ``flags`` that are not None."""
    env = os.environ if env is None else env
    known = {f.name for f in fields(Config)}
    values: dict = {}
    if path:
        with open(path, "rb") as fh:
            try:
                values.update(tomllib.load(fh))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: {exc}") from exc
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"{path}: unknown keys {', '.join(sorted(unknown))}")
    for key in known:
        if f"QUAYSIDE_NODE_{key.upper()}" in env:
            values[key] = env[f"QUAYSIDE_NODE_{key.upper()}"]
    values.update({k: v for k, v in flags.items() if v is not None and k in known})
    config = Config()
    for key, value in values.items():
        try:
            setattr(config, key, _CONVERT.get(key, lambda v, k: v)(value, key))
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"{key}: {exc}") from exc
    return config


def describe(config: Config) -> dict:
    """The configuration without the token (for logs and ``rank``)."""
    return {**asdict(config), "token": "…" if config.token else "", "data": str(config.data)}
