# Quayside: `make run` starts the portal with demo data; `make test` runs the whole test suite.
# Both create the virtual environment and install everything on first use. `make test` also needs two Debian
# packages: chromium (browser tests) and Pango (the PDF report); run as root it installs them, otherwise
# those tests are skipped with a message saying what to install (and fail in CI, where CI=true).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Test processes (pytest-xdist): most tests wait on real processes (worker, gunicorn, Chromium, S3), not on
# the CPU, so 4 beat 2 on two cores (docs/development.md, "Parallel tests"). TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 4
# loadgroup keeps each xdist_group on one process; --no-loadscope-reorder keeps pytest-django's order
# (a group would otherwise jump ahead of the database tests that a transactional test's flush breaks).
XDIST := -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

.PHONY: run test test-fast system-packages install bench lint clean lock release

$(STAMP): pyproject.toml deploy/node/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet -e deploy/node
	touch $(STAMP)

# Two C libraries (portal/native.py): MD5 in SIMD lanes for the inventory (apps/storage/md5lanes.c,
# docs/deliveries.md) and the NMEA scanner (apps/navigation/nmeascan.c, docs/navigation.md). Built with the C
# compiler when there is one; without it the inventory uses hashlib and navigation the numpy reader (slower,
# the same results), and this never fails.
LANES := apps/storage/_md5lanes.so apps/navigation/_nmeascan.so
$(LANES): apps/storage/md5lanes.c apps/navigation/nmeascan.c portal/native.py | $(STAMP)
	@$(PY) -m portal.native

install: $(STAMP) $(LANES)

# The demo portal harvests its own feed, and a data manager may mirror those records here: its own address may
# then be fetched from (the fetcher and the mirror's torrent session refuse loopback otherwise). Demo only.
DEMO_FETCH_ALLOWED_HOSTS ?= 127.0.0.1

run: $(STAMP) $(LANES)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py load_demo
	FETCH_ALLOWED_HOSTS="$${FETCH_ALLOWED_HOSTS:-$(DEMO_FETCH_ALLOWED_HOSTS)}" $(PY) manage.py serve 127.0.0.1:8000

test: $(STAMP) $(LANES) system-packages
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

# The inner loop: no worker processes, browser, S3 server, gunicorn or fault tests (about a minute).
test-fast: $(STAMP) $(LANES)
	$(PY) -m pytest $(XDIST) -m "not (worker or browser or s3 or gunicorn or faults)" $(PYTEST_ARGS)

# Debian's chromium and Pango, when missing and we may install them (root with apt-get); never fails.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0.so.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing"; \
	    (apt-get update -qq && apt-get install -y -qq $$missing >/dev/null) || echo "could not install$$missing"; \
	  else \
	    echo "not installed:$$missing (run apt-get install -y$$missing as root); their tests will be skipped"; \
	  fi; \
	fi

bench: $(STAMP) $(LANES)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) bench/run.py $(BENCH)

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

clean:
	rm -rf var/test .pytest_cache

# deploy/requirements.lock: every Python dependency pinned with its hashes (the image installs exactly it).
# uv runs from a throwaway venv; the lock is for CPython 3.11 on x86-64 Linux (the image's platform).
UV_VERSION ?= 0.13.9
lock:
	$(PYTHON) -m venv /tmp/quayside-uv
	/tmp/quayside-uv/bin/pip install --quiet uv==$(UV_VERSION)
	/tmp/quayside-uv/bin/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
	  --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock" --quiet \
	  --output-file deploy/requirements.lock

# The source of the checked-out (clean) commit as a release artifact, with its build manifest (docs/artifacts.md).
release: $(STAMP)
	mkdir -p dist
	$(PY) manage.py release --output dist/
