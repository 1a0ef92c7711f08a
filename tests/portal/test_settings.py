"""Settings refuse an unsafe production start and give a laptop a working default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "PRODUCTION", "DATABASE_URL"}}
    clean.update({"QUAYSIDE_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "portal.settings", **env})
    code = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_the_default_secret_key(tmp_path):
    result = load_settings(tmp_path, PRODUCTION="true")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when PRODUCTION=true" in result.stderr


def test_production_starts_with_a_real_secret_key(tmp_path):
    result = load_settings(tmp_path, PRODUCTION="true", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr


def test_laptop_default_is_sqlite_in_the_var_folder(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_a_misspelt_yes_no_value_is_an_error_naming_the_variable(tmp_path):
    result = load_settings(tmp_path, PRODUCTION="ture", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "PRODUCTION='ture' is not a yes/no value" in result.stderr
    assert "true" in result.stderr.split("PRODUCTION='ture'")[1]


@pytest.mark.parametrize("name", ["QUAYSIDE_MD5_LANES", "QUAYSIDE_NMEA_SCAN"])
def test_the_c_library_switches_are_strict_yes_no_values(tmp_path, name):
    result = load_settings(tmp_path, **{name: "of"})
    assert result.returncode != 0 and f"{name}='of' is not a yes/no value" in result.stderr


def test_importing_the_settings_creates_no_folder(tmp_path):
    var = tmp_path / "var"
    code = "import portal.settings as s; print(s.VAR_DIR)"
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "PRODUCTION", "DATABASE_URL"}}
    clean.update({"QUAYSIDE_VAR_DIR": str(var), "STATIC_ROOT": str(tmp_path / "static")})
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert not var.exists() and not (tmp_path / "static").exists()


def test_starting_django_makes_the_local_folders(tmp_path):
    var = tmp_path / "fresh"
    result = load_settings(var, STATIC_ROOT=str(tmp_path / "static"), CELERY_BROKER_URL="filesystem://")
    assert result.returncode == 0, result.stderr
    assert (var / "scratch").is_dir() and (var / "celery" / "queue").is_dir()
    assert (tmp_path / "static").is_dir()
