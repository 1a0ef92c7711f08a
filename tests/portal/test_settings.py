"""Settings refuse an unsafe production start and give a laptop a working default."""

import os
import subprocess
import sys
from pathlib import Path

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
