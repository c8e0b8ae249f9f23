# syntax=docker/dockerfile:1

# The API, the worker and the migrations in one image: `docker run IMAGE api|worker|migrate`.

FROM python:3.11.11-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# A venv, so the runtime stage takes the installed project with one COPY and nothing else.
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build

# Dependencies first, at the versions the tests passed with, each file checked against its
# hash, in their own layer: a change to the code does not reinstall them.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# README.md is the package's readme: the build backend refuses to build without it.
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-deps .


FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    JOURNEYS_API_HOST=0.0.0.0 \
    JOURNEYS_DATA_DIR=/app/data

# A fixed uid, so volumes and Kubernetes' runAsNonRoot can rely on it.
RUN groupadd --gid 10001 journeys \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin journeys

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# The definitions stay root-owned (read-only to the app); `journeys apply workflows/` publishes them.
COPY workflows ./workflows
RUN mkdir data && chown journeys:journeys data

USER 10001:10001
EXPOSE 8000

# For the API: liveness only, so a Temporal outage does not get the container restarted
# (/readyz says whether it can take events). Compose turns it off for the worker and migrate.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('JOURNEYS_API_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["journeys"]
CMD ["api"]
