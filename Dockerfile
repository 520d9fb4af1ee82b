# profilebot as a container: `profilebot webhook` by default, `polling` as the alternative.
# Build: docker build -t profilebot .   (BASE_IMAGE picks another Python base, e.g. a local one)
# Run:   docker run --env-file .env.production -p 8080:8080 profilebot [webhook|polling]
# Configuration comes only from the environment; MONGO_URI is required (no embedded server).

ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# Only for a build behind a TLS-intercepting proxy: the CA bundle pip should trust.
ARG PIP_CERT=
WORKDIR /src
RUN python3 -m venv /opt/profilebot
COPY pyproject.toml setup.py constraints.txt README.md ./
COPY domain domain
COPY application application
COPY infrastructure infrastructure
COPY presentation presentation
# The project and its locked dependencies only: no extras, so neither the embedded server
# nor any test tool reaches the final stage. Building it compiles the translations (setup.py).
RUN PIP_CERT="${PIP_CERT}" PIP_CONSTRAINT=/src/constraints.txt \
        /opt/profilebot/bin/python -m pip install --no-cache-dir \
        --disable-pip-version-check --constraint constraints.txt . \
    && /opt/profilebot/bin/python -m pip uninstall --yes pip setuptools

FROM ${BASE_IMAGE}
RUN useradd --system --uid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin profilebot
COPY --from=build /opt/profilebot /opt/profilebot
ENV PATH=/opt/profilebot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEBHOOK_PORT=8080 \
    HTTP_PORT=8080
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080
STOPSIGNAL SIGTERM
# Ready, by the standard library (slim images have no curl): the webhook serves health on
# WEBHOOK_PORT, polling on HTTP_PORT; PID 1's command line says which one runs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD ["python3", "-c", "import os, urllib.request; mode = open('/proc/1/cmdline', 'rb').read().split(b'\\0'); port = os.environ['HTTP_PORT' if b'polling' in mode else 'WEBHOOK_PORT']; urllib.request.urlopen(f'http://127.0.0.1:{port}/health/ready', timeout=4)"]
# Exec form: profilebot is PID 1 and gets SIGTERM itself, so it drains before it exits.
ENTRYPOINT ["profilebot"]
CMD ["webhook"]
