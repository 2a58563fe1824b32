# syntax=docker/dockerfile:1
# One image for every role: `serve` (the default), `worker`, `migrate`, `admin …`
# (docs/operations.md, "Container image"). Dependencies come from uv.lock, installed by the
# same pinned uv as the Makefile's; the runtime stage has no compiler and no package manager
# cache, runs as an unprivileged user, and works with a read-only root filesystem (writable:
# /tmp and the /var/lib/connecthub volume).

# The base is a pinned tag (a digest at release time); checkov cannot read a tag through ARG.
# checkov:skip=CKV_DOCKER_7:PYTHON_IMAGE defaults to the versioned python:3.11-slim-bookworm
ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# The web app's build stage (web/, docs/web-app.md): Node 20 and npm.
# checkov:skip=CKV_DOCKER_7:NODE_IMAGE defaults to the versioned node:20-bookworm-slim
ARG NODE_IMAGE=node:20-bookworm-slim

# The web app: installed from its lock file and built (hashed names, .br and .gz copies);
# only web/dist goes into the image.
FROM ${NODE_IMAGE} AS web
# Behind a TLS-intercepting proxy the build mounts the machine's CA bundle here
# (deploy/image/build.sh); node reads it besides its own.
WORKDIR /opt/web
COPY web/package.json web/package-lock.json ./
RUN NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
    npm ci --no-audit --no-fund --no-update-notifier
COPY web/index.html web/tsconfig.json web/vite.config.ts ./
COPY web/src ./src
COPY web/public ./public
COPY web/scripts ./scripts
RUN npm run build

FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/connecthub/.venv
# uv in a venv of its own: works on the python image and on a plain Debian base
# (deploy/image/build.sh) alike, where pip may not install into the system.
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install "uv==${UV_VERSION}"
ENV PATH=/opt/uv/bin:$PATH
WORKDIR /opt/connecthub
# Dependencies first (a layer that changes only with the lock file), then the project.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY src ./src
COPY migrations ./migrations
RUN uv sync --frozen --no-dev --no-editable \
    && rm -rf src

FROM ${PYTHON_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=https://example.org/connecthub
LABEL org.opencontainers.image.title="ConnectHub" \
      org.opencontainers.image.description="A social platform server that speaks the Mastodon client API" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="AGPL-3.0-only"
RUN groupadd --system --gid 10001 connecthub \
    && useradd --system --uid 10001 --gid connecthub --home-dir /var/lib/connecthub \
       --shell /usr/sbin/nologin connecthub \
    && install -d -o connecthub -g connecthub -m 0750 /var/lib/connecthub
COPY --from=build --chown=root:root /opt/connecthub /opt/connecthub
COPY --from=web --chown=root:root /opt/web/dist /opt/connecthub/web
ENV PATH=/opt/connecthub/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CONNECTHUB_MIGRATIONS_DIR=/opt/connecthub/migrations \
    WEB_APP_DIR=/opt/connecthub/web \
    ENVIRONMENT=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    LIVENESS_PORT=8001 \
    LOG_FORMAT=json \
    DATABASE_URL=sqlite:////var/lib/connecthub/connecthub.db \
    MEDIA_STORAGE_URL=file:///var/lib/connecthub/media \
    OUTBOX_DIR=/var/lib/connecthub/outbox \
    TMPDIR=/tmp
WORKDIR /var/lib/connecthub
VOLUME ["/var/lib/connecthub"]
USER 10001:10001
EXPOSE 8000 8001
# SIGTERM: the supervisor stops taking connections, lets requests drain for
# SHUTDOWN_DRAIN_SECONDS (10), then exits; give it longer than that before a kill.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % (os.environ.get('LIVENESS_PORT') or os.environ['PORT']), timeout=2)"]
ENTRYPOINT ["connecthub"]
CMD ["serve"]
