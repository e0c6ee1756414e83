# Order engine image: one image for every part (`order-engine up|api|worker|relay|migrate`).
#
#   docker build -t order-engine .
#   docker run --rm -p 3000:3000 -p 3001:3001 \
#     -e DATABASE_URL=postgresql://… -e REDIS_URL=redis://… order-engine          # all parts
#   docker run --rm order-engine order-engine worker                              # one part
#
# Needs BuildKit (the default builder since Docker 23) for `RUN --mount`.

# ---------------------------------------------------------------------------------------------
# build: compile the Cython core into a wheel, and collect wheels of every runtime dependency.
# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
# .dockerignore keeps out build/, *.so, generated engine_core/*.c, .git, .env and the tests,
# so the extension modules are always compiled here from the .pyx sources.
COPY . .
# The build backend (setuptools, Cython>=3, numpy: pyproject's build-system) is installed in an
# isolated environment; setup.py cythonizes engine_core/*.pyx. Dependencies land in /wheels too.
RUN pip wheel . -w /wheels

# ---------------------------------------------------------------------------------------------
# runtime: the wheels only, no compiler, no sources, not root.
# ---------------------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=3000 \
    WS_PORT=3001 \
    PROMETHEUS_MULTIPROC_DIR=/run/order-engine/metrics

# uid/gid 10001 is also the owner of the shared metrics volume in docker-compose.yml.
RUN groupadd --system --gid 10001 app \
 && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app \
        --shell /usr/sbin/nologin app \
 && mkdir -p /run/order-engine/metrics \
 && chown -R app:app /run/order-engine

# Install from the build stage's wheels without copying them into a layer, then check that
# every compiled engine_core module loads and the package data (markets, migrations) is there.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels order-engine \
 && python -c "import importlib, importlib.resources as res, pkgutil, engine_core; \
mods = [m.name for m in pkgutil.iter_modules(engine_core.__path__)]; \
[importlib.import_module('engine_core.' + m) for m in mods]; \
importlib.import_module('service.simulator.price'); importlib.import_module('service.simulator.codec'); \
data = res.files('service'); \
assert data.joinpath('domain', 'markets.toml').is_file(), 'service/domain/markets.toml missing'; \
assert any(p.name.endswith('.sql') for p in data.joinpath('store', 'migrations').iterdir()), \
'service/store/migrations/*.sql missing'; \
print('engine_core modules:', mods)"

USER 10001:10001
WORKDIR /home/app

# 3000: HTTP API (PORT) · 3001: WebSocket relay (WS_PORT)
EXPOSE 3000 3001

# The API's /health is 200 only when PostgreSQL and Redis answer. Containers that run another
# part (worker, relay, migrate) override or disable this check (see docker-compose.yml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:${PORT:-3000}/health', timeout=4)" || exit 1

# `up` runs the migrations, wipes PROMETHEUS_MULTIPROC_DIR and supervises the API, one worker
# per core and the relay; it forwards SIGTERM to them.
CMD ["order-engine", "up"]
