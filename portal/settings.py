"""Quayside settings: one module, every deployment knob an environment variable with a laptop default.

Every variable read here is documented in docs/configuration.md. Defaults give an embedded portal: SQLite and
local files under ``var/``, a Celery worker over the file-system transport. Importing this module creates no
folders: ``portal.apps.PortalConfig.ready`` makes the local ones a process needs (``LOCAL_FOLDERS``).
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


def envbool(name: str, default: str = "False") -> bool:
    """A yes/no variable. Anything but the accepted words is an error, so a typo (``PRODUCTION=ture``)
    stops the start instead of silently meaning "off"."""
    value = env(name, default).strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={env(name, default)!r} is not a yes/no value: use one of "
        f"{', '.join(TRUE_WORDS)} or {', '.join(w for w in FALSE_WORDS if w)}."
    )


def envint(name: str, default: str) -> int:
    return int(env(name, default))


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


# Under pytest the defaults change to keep tests apart from a running portal (own var/test folder,
# fast password hashing, no rate limits). QUAYSIDE_TESTING=0/1 overrides the detection.
TESTING = envbool("QUAYSIDE_TESTING", "1" if "pytest" in sys.modules else "0")


def _isolate_xdist_worker(worker: str) -> None:
    """``make test`` runs the suite in several pytest processes (pytest-xdist sets PYTEST_XDIST_WORKER to
    gw0, gw1, …). Each gets a data folder of its own (its SQLite test database, file-system queue, scratch
    and static folders: ``<QUAYSIDE_VAR_DIR>/gwN``) and, on Redis, a database of its own: gw0 the one
    configured, gwN the Nth from the top (15, 14, …) skipping that one. Written into this process's
    environment, so the workers, gunicorn and commands a test starts inherit them; they do not import
    pytest, so they take the values as given. The PostgreSQL test database is pytest-django's
    (``test_<name>_gwN``). See docs/development.md, "Parallel tests"."""
    from urllib.parse import urlsplit

    number = int(worker.removeprefix("gw"))
    os.environ["QUAYSIDE_VAR_DIR"] = str(Path(env("QUAYSIDE_VAR_DIR", str(BASE_DIR / "var/test"))) / worker)
    url = env("CELERY_BROKER_URL", env("REDIS_URL"))
    if number and url.startswith(("redis://", "rediss://")):
        parts = urlsplit(url)
        configured = int(parts.path.strip("/") or 0)
        spare = [db for db in range(15, -1, -1) if db != configured]
        os.environ["CELERY_BROKER_URL"] = parts._replace(path=f"/{spare[number - 1]}").geturl()


# pytest-xdist's own variable, not a setting (so not read with env(): docs/configuration.md lists those).
if "pytest" in sys.modules and os.environ.get("PYTEST_XDIST_WORKER"):
    _isolate_xdist_worker(os.environ["PYTEST_XDIST_WORKER"])

VAR_DIR = Path(env("QUAYSIDE_VAR_DIR", str(BASE_DIR / ("var/test" if TESTING else "var"))))

# --- core ---------------------------------------------------------------------------------------
DEBUG = envbool("DEBUG", "False")
# PRODUCTION=true turns on the checks a public deployment needs (secret key, secure cookies).
PRODUCTION = envbool("PRODUCTION", "False")
_DEFAULT_SECRET = "insecure-quayside-development-key-change-me"
SECRET_KEY = env("SECRET_KEY", _DEFAULT_SECRET)
if PRODUCTION and SECRET_KEY == _DEFAULT_SECRET:
    raise ImproperlyConfigured("SECRET_KEY must be set when PRODUCTION=true (refusing the default key).")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_NAME = env("SITE_NAME", "Quayside")
SITE_BASE_URL = env("SITE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Unset, ``manage.py serve`` makes SITE_BASE_URL the address it serves on (outside PRODUCTION), so the
# links in invitations and review requests point at the running portal.
SITE_BASE_URL_EXPLICIT = "SITE_BASE_URL" in os.environ
SITE_ID = 1

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # Browsers keep to HTTPS for a year: nginx already sends every plain-HTTP request to HTTPS.
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "31536000")

# Checks `manage.py check --deploy` (run by .ci/run) would raise and that are answered elsewhere:
SILENCED_SYSTEM_CHECKS = [
    # SECURE_SSL_REDIRECT: nginx redirects port 80 to HTTPS (deploy/nginx/quayside.conf); gunicorn itself
    # must still answer plain HTTP on loopback, where load balancers and monitoring ask /healthz.
    "security.W008",
    # HSTS for subdomains and the browsers' preload list: the portal is usually one host under an
    # institution's domain, whose other hosts are not ours to force onto HTTPS.
    "security.W005",
    "security.W021",
    # drf-spectacular's schema-naming warnings are about API documentation, not deployment: the list and
    # detail GETs of /api/cruises/ and the PASTA listings share operationIds (numbered by the generator)
    # until those views are reworked. tests/portal/test_openapi.py is where the schema is checked.
    "drf_spectacular.W001",
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "django.forms",  # the form renderer below finds Django's own form templates through the app loader
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.orcid",
    "portal",
    "apps.accounts",
    "apps.access",
    "apps.audit",
    "apps.storage",
    "apps.cruises",
    "apps.packages",
    "apps.submissions",
    "apps.eventlogs",
    "apps.reviews",
    "apps.holds",
    "apps.publishing",
    "apps.search",
    "apps.deliveries",
    "apps.artifacts",
    "apps.uploads",
    "apps.navigation",
    "apps.distributions",
    "apps.catalog",
    "apps.federation",
    "apps.gazetteer",
    "apps.ogcapi",
    "apps.shares",
    "apps.swarm",
    "apps.nodes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.csp.ContentSecurityPolicyMiddleware",  # before WhiteNoise, so static files get it too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "portal.compression.PageGZipMiddleware",  # BREACH-padded gzip for pages, JSON and XML; never blobs
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "apps.audit.middleware.AuditWritesMiddleware",
    "portal.middleware.RequestLimitsMiddleware",
    "portal.errors.ErrorPagesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context.site",
            ],
        },
    },
]

# Every form renders through templates/django/forms/ (field.html: the error under its field, linked by
# aria-describedby; apps may override any form template the same way).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# --- database -----------------------------------------------------------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'quayside.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", "0"),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The worker and the web process share the file: wait for locks instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 30, "transaction_mode": "IMMEDIATE"})
    # A file, not memory, so a real worker process started by a test can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
if TESTING:
    # Tests only: hashing speed is not what they measure.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:profile"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "apps.accounts.forms.SignupDetailsForm"  # name and affiliation, for citations
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True  # the link in the mail signs the person in (same browser)
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
if TESTING:
    ACCOUNT_RATE_LIMITS = False
SOCIALACCOUNT_PROVIDERS = {
    "orcid": {
        # ORCID_BASE_DOMAIN=sandbox.orcid.org for the ORCID sandbox.
        "BASE_DOMAIN": env("ORCID_BASE_DOMAIN", "orcid.org"),
        "MEMBER_API": envbool("ORCID_MEMBER_API", "False"),
        "APPS": (
            [{"client_id": env("ORCID_CLIENT_ID"), "secret": env("ORCID_CLIENT_SECRET"), "key": ""}]
            if env("ORCID_CLIENT_ID")
            else []
        ),
    }
}
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "apps.accounts.adapters.SocialAccountAdapter"

# --- e-mail -------------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "False")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "quayside@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static files -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))  # made at start: WhiteNoise warns without it

# --- object storage -----------------------------------------------------------------------------
# STORAGE_BACKEND=local (default) keeps blobs under var/blobs; STORAGE_BACKEND=s3 uses django-storages.
# DEEP_STORAGE_BACKEND configures the second tier the same way (DEEP_S3_* variables).
STORAGE_BACKEND = env("STORAGE_BACKEND", "local")
DEEP_STORAGE_BACKEND = env("DEEP_STORAGE_BACKEND", "local")


def _storage(backend: str, prefix: str, local_dir: Path) -> dict:
    if backend == "s3":
        from botocore.config import Config

        endpoint = env(f"{prefix}S3_ENDPOINT_URL") or None
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": env(f"{prefix}S3_BUCKET", "quayside"),
                "endpoint_url": endpoint,
                "access_key": env(f"{prefix}S3_ACCESS_KEY") or None,
                "secret_key": env(f"{prefix}S3_SECRET_KEY") or None,
                "region_name": env(f"{prefix}S3_REGION", "us-east-1"),
                "file_overwrite": True,  # content-addressed: the same key always holds the same bytes
                "querystring_expire": envint("S3_URL_EXPIRE", "300"),
                "default_acl": None,
                # Fail within seconds when the endpoint is down (a 503 and /healthz), not after minutes.
                "client_config": Config(
                    connect_timeout=envint("S3_CONNECT_TIMEOUT", "5"),
                    read_timeout=envint("S3_READ_TIMEOUT", "60"),
                    retries={"max_attempts": envint("S3_MAX_ATTEMPTS", "3"), "mode": "standard"},
                    # Path-style URLs (http://host/bucket/key) for S3-compatible servers such as SeaweedFS,
                    # whose bucket names are not DNS names; AWS itself works with either.
                    s3={"addressing_style": env("S3_ADDRESSING_STYLE", "path" if endpoint else "auto")},
                    signature_version="s3v4",
                ),
            },
        }
    if backend == "local":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(local_dir), "base_url": None},
        }
    raise ImproperlyConfigured(f"Unknown storage backend {backend!r}: use 'local' or 's3'.")


STORAGES = {
    "default": _storage(STORAGE_BACKEND, "", Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))),
    "blobs": _storage(STORAGE_BACKEND, "", Path(env("BLOB_ROOT", str(VAR_DIR / "blobs")))),
    "deep": _storage(DEEP_STORAGE_BACKEND, "DEEP_", Path(env("DEEP_BLOB_ROOT", str(VAR_DIR / "deep")))),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEEP_STORAGE_ENABLED = envbool("DEEP_STORAGE_ENABLED", "True")
# Downloads: "django" streams through Django (Range-aware); "accel" answers X-Accel-Redirect for nginx
# (local blobs); "redirect" sends a short-lived S3 URL (S3 blobs).
DOWNLOAD_MODE = env("DOWNLOAD_MODE", "django")
ACCEL_REDIRECT_PREFIX = env("ACCEL_REDIRECT_PREFIX", "/_protected/blobs/")
# Temporary files (uploads, fetched objects) live here until they become blobs.
SCRATCH_DIR = Path(env("SCRATCH_DIR", str(VAR_DIR / "scratch")))
FILE_UPLOAD_TEMP_DIR = str(SCRATCH_DIR)
# Scratch is finite: work that would leave less than this free there is refused up front (uploads get
# 507, a fetch fails its step saying the disk is full), so the disk never fills to the last byte.
SCRATCH_MIN_FREE_BYTES = envint("SCRATCH_MIN_FREE_BYTES", str(256 * 1024**2))
# The scratch sweeper (beat) removes what killed processes left behind: entries older than this that no
# live step owns.
SCRATCH_MAX_AGE_HOURS = envint("SCRATCH_MAX_AGE_HOURS", "24")
SCRATCH_SWEEP_INTERVAL = envint("SCRATCH_SWEEP_INTERVAL", "3600")
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_HANDLERS = ["portal.uploads.LimitedTemporaryFileUploadHandler"]
# fsync every object before its row is written (durable blobs); turn off only for throwaway instances.
STORAGE_FSYNC = envbool("STORAGE_FSYNC", "True")
# Write local blobs with O_DIRECT (no page-cache copy; falls back by itself where unsupported).
STORAGE_DIRECT_IO = envbool("STORAGE_DIRECT_IO", "True")
# The two C libraries (portal/native.py) may be turned off. Their modules read the variables themselves (the
# inventory's helper processes run without Django), taking FALSE_WORDS as off; checked here so that a typo
# stops the start instead of meaning "on".
QUAYSIDE_MD5_LANES = envbool("QUAYSIDE_MD5_LANES", "True")
QUAYSIDE_NMEA_SCAN = envbool("QUAYSIDE_NMEA_SCAN", "True")
# The largest single uploaded file accepted (bytes); a request may carry that plus
# DATA_UPLOAD_MAX_MEMORY_SIZE of form fields. Anything larger gets 413.
MAX_UPLOAD_SIZE = envint("MAX_UPLOAD_SIZE", str(5 * 1024**3))
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", str(10 * 1024 * 1024))

# --- worker -------------------------------------------------------------------------------------
# No broker URL: Celery's file-system transport, so a real worker runs with nothing to install.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", env("REDIS_URL", "filesystem://"))
_celery_dir = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        # Broadcast (remote control) exchanges; kombu's default is ./control in the working directory.
        "control_folder": str(_celery_dir / "control"),
        "store_processed": False,
        # Look for new messages every 0.1 s instead of kombu's 1 s: 137 tasks/s instead of 4.9, and a
        # pipeline of six steps no longer waits a second between steps (bench/bench_broker.py).
        "polling_interval": 0.1,
    }
    # kombu's file-system transport, with messages written whole before a worker can see them
    # (portal/broker.py).
    CELERY_BROKER_TRANSPORT = "portal.broker:FilesystemTransport"
    # A worker killed outright loses the messages it had taken (this transport deletes a message when
    # it reads it; kombu's SQLAlchemy transport hides it the same way, so it is no cure: measured in
    # bench/bench_broker.py). What brings such a step back is the pipeline's lease and sweeper, which
    # queue again every step whose lease expired, on any broker.
else:
    # A task not acknowledged within this many seconds is handed to another worker (Redis visibility
    # timeout): how long the tasks of a worker killed outright stay invisible. Five minutes, so a
    # whole-worker SIGKILL costs minutes, not an hour. A step running longer than this is delivered a
    # second time while it runs; the pipeline's step claim (a lease that names the execution and is
    # renewed while the step works) makes that second delivery leave a live step alone.
    _visibility = envint("CELERY_VISIBILITY_TIMEOUT", "300")
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": _visibility,
        # kombu looks for such messages every 10 s but acts on every 10th look only: up to 100 s more on
        # top of the timeout. Act on every look, as often as the timeout (at most every 10 s): one small
        # Redis query per worker each time.
        "unacked_restore_interval": max(1, min(10, _visibility)),
        "unacked_restore_throttle": 1,
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport with the fix that keeps a busy worker alive through a Redis outage
    # (see portal/broker.py for the bug and tests/portal/test_worker_faults.py for the proof).
    CELERY_BROKER_TRANSPORT = "portal.broker:Transport"
# The queue tasks go to unless routed elsewhere; a worker started with -Q NAME should run with the same
# value so that the tasks it queues itself (next pipeline step, DOI registration) reach it too.
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_TASK_DEFAULT_QUEUE", "celery")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "False")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# After a connection loss, keep retrying for ever (Celery's default gives up after 100 attempts and the
# worker exits); a broker back after an hour finds its workers waiting for it.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# A running task is not cancelled when the broker connection drops: it finishes its step (which
# commits to the database, not to the broker) and is acknowledged over the new connection. Cancelling
# would restart every long fetch or archive after each blip.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# Beat's own state (when each periodic job last ran). Its folder is in LOCAL_FOLDERS whatever the broker: the
# deploy/ units and compose file start beat without --schedule, so this one setting decides.
CELERY_BEAT_SCHEDULE_FILENAME = str(_celery_dir / "beat-schedule")
CELERY_TIMEZONE = "UTC"
# Periodic jobs. Each app adds its own entries here (name → task, schedule).
CELERY_BEAT_SCHEDULE = {
    "storage-fixity-sweep": {"task": "apps.storage.tasks.fixity_sweep", "schedule": crontab(minute=17)},
    "holds-expire": {"task": "apps.holds.tasks.expire_holds", "schedule": crontab(minute="*/10")},
    "publishing-retry-dois": {
        "task": "apps.publishing.tasks.retry_due_dois",
        "schedule": crontab(minute="*/5"),
    },
    "cruises-read-mailbox": {"task": "apps.cruises.tasks.read_mailbox", "schedule": crontab(minute="*/5")},
    # The pipeline's outbox: send the steps that are due (the on-commit fast path may have missed one).
    "submissions-dispatch": {
        "task": "apps.submissions.tasks.dispatch_due_steps",
        "schedule": float(envint("PIPELINE_DISPATCH_SECONDS", "15")),
    },
    # Re-queue steps whose lease lapsed (a killed worker); fail those past their deadline, with a report.
    "submissions-sweep": {
        "task": "apps.submissions.tasks.sweep_steps",
        "schedule": float(envint("PIPELINE_SWEEP_SECONDS", "60")),
    },
    # Deep-storage copies of archived blobs that the on-commit copy missed.
    "storage-deep-copy-sweep": {
        "task": "apps.storage.tasks.deep_copy_sweep",
        "schedule": crontab(minute="*/10"),
    },
}
# --- issue 17, worker infrastructure: scratch clean-up (kept as its own block for the merge) ---
CELERY_BEAT_SCHEDULE["storage-sweep-scratch"] = {
    "task": "apps.storage.tasks.sweep_scratch",
    "schedule": timedelta(seconds=SCRATCH_SWEEP_INTERVAL),
}
# --- issue 12 §1, resumable uploads (apps.uploads, tus 1.0): expired ones removed, lost ones placed ---
CELERY_BEAT_SCHEDULE["uploads-sweep"] = {
    "task": "apps.uploads.tasks.sweep_uploads",
    "schedule": crontab(minute="*/15"),
}

# --- issue 14, derived artifacts (apps.artifacts: Parquet alternates, build manifests, rebuilds) ---
# Builds of published versions still due (a lost message, a killed worker) are sent again by this sweep.
CELERY_BEAT_SCHEDULE["artifacts-sweep-builds"] = {
    "task": "apps.artifacts.tasks.sweep_builds",
    "schedule": crontab(minute="*/5"),
}
# Rebuild a few artifacts a day and compare the bytes; a difference is mailed to the data managers.
CELERY_BEAT_SCHEDULE["artifacts-spot-check-rebuilds"] = {
    "task": "apps.artifacts.tasks.spot_check_rebuilds",
    "schedule": crontab(minute=41, hour=3),
}
ARTIFACT_SPOT_CHECKS = envint("ARTIFACT_SPOT_CHECKS", "3")
ARTIFACT_BUILD_MAX_ATTEMPTS = envint("ARTIFACT_BUILD_MAX_ATTEMPTS", "5")
# The git commit recorded in build manifests; empty: asked of git in BASE_DIR (set it in images without .git).
QUAYSIDE_GIT_COMMIT = env("QUAYSIDE_GIT_COMMIT", "")

# --- navigation (issue 13): builds whose worker died are sent again ---
CELERY_BEAT_SCHEDULE["navigation-sweep"] = {
    "task": "apps.navigation.tasks.navigation_sweep",
    "schedule": timedelta(minutes=5),
}

# --- pipeline (apps.submissions; the lease helper is portal.tasks) ------------------------------
# A claimed step is its worker's for this long; the worker renews it every PIPELINE_HEARTBEAT_SECONDS,
# so only a dead worker's lease lapses. Then the sweeper hands the step to another worker.
PIPELINE_LEASE_SECONDS = envint("PIPELINE_LEASE_SECONDS", "300")
PIPELINE_HEARTBEAT_SECONDS = envint("PIPELINE_HEARTBEAT_SECONDS", "60")
# Temporary errors (storage, network, database) are retried with capped exponential backoff for this
# long, counted from the first error of a run; then the submission fails with a report.
PIPELINE_RETRY_BUDGET_SECONDS = envint("PIPELINE_RETRY_BUDGET_SECONDS", str(30 * 60))
PIPELINE_RETRY_BACKOFF_MAX_SECONDS = envint("PIPELINE_RETRY_BACKOFF_MAX_SECONDS", "120")
# A submission not finished this long after it was made fails with a report (a stuck one, whatever
# the cause); generous, as fetching many large files can take hours.
PIPELINE_DEADLINE_SECONDS = envint("PIPELINE_DEADLINE_SECONDS", str(24 * 3600))
# A step sent to the broker but not claimed after this long is sent again (a message lost with its
# broker or worker); the claim makes a duplicate harmless.
PIPELINE_RESEND_SECONDS = envint("PIPELINE_RESEND_SECONDS", "300")
# /healthz and the pipeline page say "behind" when the oldest due step has waited longer than this.
PIPELINE_BEHIND_SECONDS = envint("PIPELINE_BEHIND_SECONDS", "120")
# Every worker records that it is alive this often (apps.submissions.heartbeat); /healthz and the
# submission status page say "no worker has been seen for N minutes" when the newest is older than
# WORKER_STALE_SECONDS.
WORKER_HEARTBEAT_SECONDS = envint("WORKER_HEARTBEAT_SECONDS", "30")
WORKER_STALE_SECONDS = envint("WORKER_STALE_SECONDS", "120")

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # JSON first (the default for API clients), then forms; deeply nested JSON is a 400, not a 500.
    "DEFAULT_PARSER_CLASSES": [
        "portal.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # UserError/Conflict/Forbidden/NotFound from services answer with their status (portal/errors.py).
    "EXCEPTION_HANDLER": "portal.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    # One name per choice set that several serializers use.
    "ENUM_NAME_OVERRIDES": {
        "RevisionStateEnum": "apps.packages.models.Revision.State",
        "DoiStateEnum": "apps.publishing.models.Doi.State",
    },
    "TITLE": f"{SITE_NAME} API",
    "DESCRIPTION": "Research-data repository portal: packages, cruises, event logs, publishing.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page's Redoc comes from drf-spectacular-sidecar's static files: ships and closed networks.
    "REDOC_DIST": "SIDECAR",
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, sans-serif",
                "headings": {"fontFamily": "system-ui, sans-serif"},
            }
        }
    },
}

# --- publishing ---------------------------------------------------------------------------------
DOI_PREFIX = env("DOI_PREFIX", "10.80000")
DATACITE_API_URL = env(
    "DATACITE_API_URL", ""
)  # empty: DOIs stay "pending"; e.g. https://api.test.datacite.org
DATACITE_REPOSITORY_ID = env("DATACITE_REPOSITORY_ID", "")
DATACITE_PASSWORD = env("DATACITE_PASSWORD", "")
PUBLISHER_NAME = env("PUBLISHER_NAME", SITE_NAME)
OAI_REPOSITORY_NAME = env("OAI_REPOSITORY_NAME", f"{SITE_NAME} OAI-PMH data provider")
OAI_ADMIN_EMAIL = env("OAI_ADMIN_EMAIL", DEFAULT_FROM_EMAIL)
OAI_PAGE_SIZE = envint("OAI_PAGE_SIZE", "500")

# --- data packages ------------------------------------------------------------------------------
# The scope registry: the scopes packageIds may use.
PACKAGE_SCOPES = envlist("PACKAGE_SCOPES", "edi,knb-lter-quay,quay")
FETCH_MAX_BYTES = envint("FETCH_MAX_BYTES", str(10 * 1024**3))
FETCH_TIMEOUT = envint("FETCH_TIMEOUT", "30")
FETCH_RETRIES = envint("FETCH_RETRIES", "3")
# Hosts or networks (CIDR) allowed although private/loopback, e.g. "127.0.0.1" in tests.
FETCH_ALLOWED_HOSTS = envlist("FETCH_ALLOWED_HOSTS", "")

# --- holds --------------------------------------------------------------------------------------
HOLD_MAX_DAYS = envint("HOLD_MAX_DAYS", "730")

# --- cruises ------------------------------------------------------------------------------------
# Sailing orders by e-mail: maildir:///path/to/Maildir or imaps://user:pass@host/INBOX; empty = off.
CRUISE_MAILBOX_URL = env("CRUISE_MAILBOX_URL", "")

# --- event logs ---------------------------------------------------------------------------------
# The ship's navigation feed for the log page's "Use the ship's position" button: an http(s) URL (on the
# ship's network, so private addresses are fine: the operator sets it, no user does) that answers the
# latest fix as JSON (docs/eventlogs.md). Empty = no feed; the page offers the device's position instead.
EVENTLOG_POSITION_FEED_URL = env("EVENTLOG_POSITION_FEED_URL", "")

# --- resumable uploads (apps.uploads, tus 1.0; docs/uploads.md) ------------------------------------
# The largest file one tus upload may announce (Tus-Max-Size; bigger: 413). Its bytes wait in SCRATCH_DIR,
# so the scratch disk must hold it (507 otherwise); deliveries larger than this come by drop folder.
UPLOADS_MAX_SIZE = envint("UPLOADS_MAX_SIZE", str(200 * 1024**3))
# An unfinished upload that receives no byte for this long expires (Upload-Expires); its bytes are removed.
UPLOADS_EXPIRE_HOURS = envint("UPLOADS_EXPIRE_HOURS", "72")
# --- navigation ---------------------------------------------------------------------------------
# QA thresholds (R2R NavManager's defaults) and the control-point tolerance (docs/navigation.md).
NAVIGATION_MAX_SPEED = float(env("NAVIGATION_MAX_SPEED", "8.7"))  # m/s
NAVIGATION_MAX_ACCELERATION = float(env("NAVIGATION_MAX_ACCELERATION", "1.0"))  # m/s²
NAVIGATION_GAP_SECONDS = float(env("NAVIGATION_GAP_SECONDS", "300"))
NAVIGATION_CONTROL_TOLERANCE = float(env("NAVIGATION_CONTROL_TOLERANCE", "0.001"))  # degrees
NAVIGATION_LEASE_SECONDS = envint("NAVIGATION_LEASE_SECONDS", "600")

# --- local folders ------------------------------------------------------------------------------
# Made when a process starts (portal.apps.PortalConfig.ready), never when this module is imported.
LOCAL_FOLDERS = [VAR_DIR, STATIC_ROOT, SCRATCH_DIR, _celery_dir]
if CELERY_BROKER_URL.startswith("filesystem://"):
    LOCAL_FOLDERS += [_celery_dir / sub for sub in ("queue", "processed", "control")]

# --- logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A 4xx is one access-log line, not a traceback (portal.logs); a 5xx keeps its traceback.
    "filters": {"client_errors_on_one_line": {"()": "portal.logs.ClientErrorsOnOneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["client_errors_on_one_line"]},
    },
}

# --- issue 12, deliveries (apps.deliveries): drop folders, S3 prefixes, uploads, the inventory ---
# Where a registered drop folder or S3 prefix may be: folders (their real paths, symlinks resolved) and
# s3://bucket[/prefix] URLs, comma-separated. Nothing else is read, so nobody makes the server read /etc.
DELIVERY_ALLOWED_ROOTS = envlist("DELIVERY_ALLOWED_ROOTS", str(VAR_DIR / "dropbox"))
# Uploaded files of a delivery (tus) are placed under <DELIVERY_UPLOAD_ROOT>/<delivery id>/<relative path>.
DELIVERY_UPLOAD_ROOT = Path(env("DELIVERY_UPLOAD_ROOT", str(VAR_DIR / "delivery-uploads")))
# The S3 endpoint and keys the worker reads s3:// deliveries with (empty: boto3's own configuration).
DELIVERY_S3_ENDPOINT_URL = env("DELIVERY_S3_ENDPOINT_URL", env("S3_ENDPOINT_URL", ""))
DELIVERY_S3_ACCESS_KEY = env("DELIVERY_S3_ACCESS_KEY", env("S3_ACCESS_KEY", ""))
DELIVERY_S3_SECRET_KEY = env("DELIVERY_S3_SECRET_KEY", env("S3_SECRET_KEY", ""))
DELIVERY_S3_REGION = env("DELIVERY_S3_REGION", env("S3_REGION", "us-east-1"))
# Files hashed at once by one inventory (threads: hashlib and reads release the GIL); 0 = one per core.
DELIVERY_HASH_THREADS = envint("DELIVERY_HASH_THREADS", "0")
# Helper processes for a folder's small files (< 1 MiB), when there are at least MIN_FILES of them; 0 = none.
DELIVERY_HASH_PROCESSES = envint("DELIVERY_HASH_PROCESSES", str(os.cpu_count() or 2))
DELIVERY_HASH_PROCESS_MIN_FILES = envint("DELIVERY_HASH_PROCESS_MIN_FILES", "2000")
# The inventory's lease (renewed every DELIVERY_HEARTBEAT_SECONDS; a dead worker's lapses, then the sweep
# hands the delivery to another worker) and how often hashed files are written to the database.
DELIVERY_LEASE_SECONDS = envint("DELIVERY_LEASE_SECONDS", "300")
DELIVERY_HEARTBEAT_SECONDS = envint("DELIVERY_HEARTBEAT_SECONDS", "30")
DELIVERY_CHECKPOINT_SECONDS = float(env("DELIVERY_CHECKPOINT_SECONDS", "1"))
CELERY_BEAT_SCHEDULE["deliveries-sweep"] = {
    "task": "apps.deliveries.tasks.sweep_inventories",
    "schedule": float(envint("DELIVERY_SWEEP_SECONDS", "120")),
}
# Read at most this many bytes/s per inventory (0 = as fast as the disk goes): spares a shared drive.
DELIVERY_READ_RATE_LIMIT = envint("DELIVERY_READ_RATE_LIMIT", "0")
# --- distributions (issue 12: deep copies, profiles, datasets, the national archive) ----------------
# The scope of the data packages made from classified datasets (one of PACKAGE_SCOPES).
DISTRIBUTION_SCOPE = env("DISTRIBUTION_SCOPE", "quay")
# A dataset with at most this many files has one data entity per file (each stored as a blob); a larger
# one is described by its inventory table alone (the files stay in the deep copy and the BagIt export).
DISTRIBUTION_MAX_ENTITIES = envint("DISTRIBUTION_MAX_ENTITIES", "200")
# Where restores from deep storage land when a data manager restores to a folder.
DISTRIBUTION_RESTORE_DIR = Path(env("DISTRIBUTION_RESTORE_DIR", str(VAR_DIR / "restores")))
CELERY_BEAT_SCHEDULE["distributions-deep-copy-sweep"] = {
    "task": "apps.distributions.tasks.deep_copy_sweep",
    "schedule": crontab(minute="*/10"),
}
# --- catalog (apps.catalog: STAC GeoParquet, mirrors, deposits; docs/catalog.md) -------------------
CATALOG_DIR = Path(env("CATALOG_DIR", str(VAR_DIR / "catalog")))
# A second local folder the portal serves at /catalog/local-mirror/ (the demo's mirror; public).
CATALOG_LOCAL_MIRROR_DIR = Path(env("CATALOG_LOCAL_MIRROR_DIR", str(VAR_DIR / "mirror")))
CATALOG_DEBOUNCE_SECONDS = envint("CATALOG_DEBOUNCE_SECONDS", "5")
CATALOG_REFRESH_SECONDS = envint("CATALOG_REFRESH_SECONDS", "60")
# Package ids per catalog segment: a change rebuilds only its segment, then the served file is stitched.
CATALOG_SEGMENT_PACKAGES = envint("CATALOG_SEGMENT_PACKAGES", "5000")
# A full catalog build writes its segments in this many processes (one per core by default); incremental
# builds touch a segment or two and stay in the worker's own process.
CATALOG_BUILD_PROCESSES = envint("CATALOG_BUILD_PROCESSES", str(os.cpu_count() or 1))
MIRROR_CHECK_SECONDS = envint("MIRROR_CHECK_SECONDS", str(3600))
MIRROR_FULL_CHECK_SECONDS = envint("MIRROR_FULL_CHECK_SECONDS", str(24 * 3600))
MIRROR_SAMPLE_BYTES = envint("MIRROR_SAMPLE_BYTES", str(64 * 1024))
MIRROR_TIMEOUT = envint("MIRROR_TIMEOUT", "30")
# Loopback mirrors and deposit servers (tests, a one-machine demo); never in production.
MIRROR_ALLOW_LOOPBACK = envbool("MIRROR_ALLOW_LOOPBACK", "False")
ZENODO_API_URL = env("ZENODO_API_URL", "")
ZENODO_TOKEN = env("ZENODO_TOKEN", "")
DEPOSIT_MAX_ATTEMPTS = envint("DEPOSIT_MAX_ATTEMPTS", "10")
CELERY_BEAT_SCHEDULE["catalog-refresh"] = {
    "task": "apps.catalog.tasks.refresh_catalog",
    "schedule": float(CATALOG_REFRESH_SECONDS),
}
CELERY_BEAT_SCHEDULE["catalog-verify-mirrors"] = {
    "task": "apps.catalog.tasks.verify_mirrors",
    "schedule": crontab(minute="*/10"),
}
CELERY_BEAT_SCHEDULE["catalog-verify-mirrors-full"] = {
    "task": "apps.catalog.tasks.verify_mirrors",
    "schedule": crontab(minute=41, hour="*/6"),
    "kwargs": {"full": True},
}
CELERY_BEAT_SCHEDULE["catalog-retry-deposits"] = {
    "task": "apps.catalog.tasks.retry_due_deposits",
    "schedule": crontab(minute="*/5"),
}
# --- federation (apps.federation: OAI-PMH harvesting of other repositories, local mirrors) --------
# Harvest base URLs pass the same address check as fetched data (public addresses only, or a host in
# FETCH_ALLOWED_HOSTS); loopback is allowed besides only when this is on (tests, a portal harvesting
# itself on one machine).
HARVEST_ALLOW_LOOPBACK = envbool("HARVEST_ALLOW_LOOPBACK", "False")
# A record whose metadata XML is larger than this is refused (counted, the harvest goes on); its shown
# fields are cut to HARVEST_MAX_FIELD_CHARS each.
HARVEST_MAX_RECORD_BYTES = envint("HARVEST_MAX_RECORD_BYTES", str(256 * 1024))
HARVEST_MAX_FIELD_CHARS = envint("HARVEST_MAX_FIELD_CHARS", "20000")
# One OAI-PMH response larger than this fails the harvest (no provider needs more for one page).
HARVEST_MAX_RESPONSE_BYTES = envint("HARVEST_MAX_RESPONSE_BYTES", str(64 * 1024 * 1024))
HARVEST_TIMEOUT = envint("HARVEST_TIMEOUT", "60")
# A harvest holds its source's lease this long and renews it while it works (portal.tasks.claim).
HARVEST_LEASE_SECONDS = envint("HARVEST_LEASE_SECONDS", "600")
CELERY_BEAT_SCHEDULE["federation-harvest-due"] = {
    "task": "apps.federation.tasks.harvest_due_sources",
    "schedule": float(envint("HARVEST_BEAT_SECONDS", "300")),
}
# The harvester's HTTP client logs every request at INFO (hundreds a harvest): warnings only.
LOGGING["loggers"]["httpx2"] = {"level": "WARNING"}
# OGC API – Features (apps.ogcapi) and the maps (docs/ogcapi.md)
OGCAPI_LIMIT_DEFAULT = envint("OGCAPI_LIMIT_DEFAULT", "10")  # features a page when no limit is asked
OGCAPI_LIMIT_MAX = envint("OGCAPI_LIMIT_MAX", "1000")  # a larger limit is served as this
# Base map tiles for the track and search maps, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; empty =
# none (the vendored Natural Earth land is drawn). Its origin is added to the pages' img-src policy.
MAP_TILE_URL = env("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env("MAP_TILE_ATTRIBUTION", "")

# --- quick shares (apps.shares) -----------------------------------------------------------------
# The scope a quick share's packages get (must be one of PACKAGE_SCOPES).
SHARE_SCOPE = env("SHARE_SCOPE", "quay")
# --- swarm (apps.swarm: torrents, the seeder; docs/swarm.md) ----------------------------------------
SWARM_TRACKERS = envlist("SWARM_TRACKERS", "")  # announce URLs written into new torrents; none by default
# The seeder joins the DHT; under tests it stays on loopback with no DHT (only 127.0.0.1 is reachable).
SWARM_DHT = envbool("SWARM_DHT", "False" if TESTING else "True")
SWARM_LISTEN_INTERFACES = env(
    "SWARM_LISTEN_INTERFACES", "127.0.0.1:0" if TESTING else "0.0.0.0:6881,[::]:6881"
)
SWARM_SEED_DIR = Path(env("SWARM_SEED_DIR", str(VAR_DIR / "seed")))
SWARM_SEED_POLL_SECONDS = envint("SWARM_SEED_POLL_SECONDS", "30")
SWARM_SEED_CACHE_BYTES = envint("SWARM_SEED_CACHE_BYTES", str(50 * 1024**3))
# How often the seeder asks the trackers for a torrent's scrape (one request per torrent and tracker; the
# announce replies in between carry the same figures).
SWARM_SCRAPE_SECONDS = envint("SWARM_SCRAPE_SECONDS", "900")
SWARM_HASH_THREADS = envint("SWARM_HASH_THREADS", "2")
SWARM_BUILD_MAX_ATTEMPTS = envint("SWARM_BUILD_MAX_ATTEMPTS", "5")
# Mirroring another portal's dataset by its torrent (apps.swarm.download): the worker's own session (any
# free port), given up after MIRROR_TIMEOUT seconds in all or STALL seconds without a byte.
SWARM_MIRROR_LISTEN_INTERFACES = env(
    "SWARM_MIRROR_LISTEN_INTERFACES", "127.0.0.1:0" if TESTING else "0.0.0.0:0,[::]:0"
)
SWARM_MIRROR_TIMEOUT = envint("SWARM_MIRROR_TIMEOUT", str(24 * 3600))
SWARM_MIRROR_STALL_SECONDS = envint("SWARM_MIRROR_STALL_SECONDS", "600")
CELERY_BEAT_SCHEDULE["swarm-sweep-torrents"] = {
    "task": "apps.swarm.tasks.sweep_torrents",
    "schedule": crontab(minute="*/10"),
}

# --- smart nodes (apps.nodes: node tokens, reports, the health file; docs/nodes.md) -------------------
NODES_DIR = Path(env("NODES_DIR", str(VAR_DIR / "nodes")))  # health.parquet is written here
NODES_HEALTH_SECONDS = envint("NODES_HEALTH_SECONDS", "60")  # how often health.parquet is rewritten
# A node whose last report is older than this no longer counts as a copy.
NODES_STALE_SECONDS = envint("NODES_STALE_SECONDS", "1800")
NODES_POLL_SECONDS = envint("NODES_POLL_SECONDS", "300")  # how often nodes are told to report
NODES_REPORT_MAX_HOLDINGS = envint("NODES_REPORT_MAX_HOLDINGS", "100000")
# A version with fewer healthy copies than this is "at risk" (highlighted on /nodes/).
NODES_AT_RISK_COPIES = envint("NODES_AT_RISK_COPIES", "3")
CELERY_BEAT_SCHEDULE["nodes-write-health"] = {
    "task": "apps.nodes.tasks.write_health",
    "schedule": float(NODES_HEALTH_SECONDS),
    "options": {"expires": float(NODES_HEALTH_SECONDS)},  # a run still queued when the next is due: dropped
}

# Tainting (issue 16): re-queue the removal of tainted versions' bytes that did not finish.
CELERY_BEAT_SCHEDULE["publishing-tainted-data-sweep"] = {
    "task": "apps.publishing.tasks.tainted_data_sweep",
    "schedule": crontab(minute=41),
}
