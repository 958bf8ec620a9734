# syntax=docker/dockerfile:1
# Build stage: a wheel of casesync and of every dependency.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY sync ./sync
COPY mappings ./mappings
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: only the wheels, a non-root user, configuration through CASESYNC_* variables.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CASESYNC_DATABASE_URL=sqlite:////data/casesync.db \
    CASESYNC_HTTP_PORT=8080 \
    CASESYNC_LOG_FORMAT=json
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels casesync \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --create-home casesync
USER casesync
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["casesync", "healthcheck"]
CMD ["casesync", "serve"]
