"""Gunicorn for Quayside: ``gunicorn -c deploy/gunicorn.conf.py portal.wsgi:application``.

nginx sits in front (deploy/nginx/quayside.conf): it buffers uploads to disk and serves static files
and X-Accel-Redirect downloads, so sync workers only ever talk to a fast local proxy.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# Uploads reach Django only after nginx has the whole body; storing a large one (hashing, writing,
# S3 upload) can still take minutes.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = 60
keepalive = 5
max_requests = 20000  # recycle workers now and then (bounded memory over months)
max_requests_jitter = 2000
# Each worker thread keeps its database connection between requests unless the environment says otherwise
# (DATABASE_CONN_MAX_AGE; the settings' own default, 0, suits commands and the worker): opening one costs a
# PostgreSQL backend start and an authentication, more than the event-log POST's SQL together. Read by the
# settings when preload_app below imports Django, so it has to be set before.
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")
# Workers fork from a master that has imported Django once: a recycled worker is ready at once (no DB
# connection is opened at import time, so none is shared across the fork).
preload_app = True
worker_tmp_dir = "/dev/shm"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips
limit_request_line = 8190
# nginx in front keeps the access log (deploy/nginx/quayside.conf) and the audit log records every write
# request; a second access log here cost 0.2 ms of CPU a request (3 % of an event-log POST). Set
# GUNICORN_ACCESS_LOG=- to have one anyway (gunicorn without nginx).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'
