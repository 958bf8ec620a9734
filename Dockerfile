# syntax=docker/dockerfile:1
# casesync: `docker run -e CASESYNC_ZENDESK_URL=… -e CASESYNC_ZENDESK_EMAIL=… -e CASESYNC_ZENDESK_TOKEN=… \
#   -e CASESYNC_WEBHOOK_SECRET=… -p 8080:8080 -v casesync:/data casesync` runs `casesync serve`.
# Configuration comes only from CASESYNC_* variables; nothing is baked into the image.

# Build stage: casesync and its dependencies in a virtual environment, built with the compilers and
# caches of a full pip run that the runtime image does not need.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY sync ./sync
COPY mappings ./mappings
RUN python -m venv /opt/casesync \
    && /opt/casesync/bin/pip install --no-cache-dir . \
    && /opt/casesync/bin/casesync --help >/dev/null

# Runtime stage: the virtual environment only, run by an unprivileged user.
FROM python:3.11-slim
LABEL org.opencontainers.image.title="casesync" \
      org.opencontainers.image.description="Syncs a management console's support cases with Zendesk tickets" \
      org.opencontainers.image.licenses="GPL-3.0-or-later"
ENV PATH=/opt/casesync/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CASESYNC_DATABASE_URL=sqlite:////data/casesync.db \
    CASESYNC_HTTP_HOST=0.0.0.0 \
    CASESYNC_HTTP_PORT=8080 \
    CASESYNC_LOG_FORMAT=json
COPY --from=build /opt/casesync /opt/casesync
# A fixed numeric uid/gid, so that volume permissions and Kubernetes' runAsNonRoot can rely on it.
RUN groupadd --system --gid 10001 casesync \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --create-home --shell /usr/sbin/nologin casesync
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# `casesync healthcheck` asks the local /healthz on CASESYNC_HTTP_PORT and needs no other configuration.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["casesync", "healthcheck"]
# SIGTERM (docker stop) finishes the change in hand and exits 0.
STOPSIGNAL SIGTERM
CMD ["casesync", "serve"]
