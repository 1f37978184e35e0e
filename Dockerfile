# telemed production image: multi-stage, non-root, migrations then uvicorn.
# Kept consistent with the Makefile (same lock file, same commands); no Docker engine runs on
# the development machines, so this file is reviewed, not built, in CI.

FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv && /opt/venv/bin/pip install uv
COPY requirements.lock pyproject.toml README.md ./
RUN /opt/venv/bin/uv pip sync --python /opt/venv/bin/python requirements.lock
COPY telemed/ telemed/
COPY dicom/ dicom/
COPY scheduling/ scheduling/
COPY referrals/ referrals/
RUN /opt/venv/bin/uv pip install --python /opt/venv/bin/python --no-deps .

FROM python:3.11-slim-bookworm
# libturbojpeg: wsidicomizer (opentile) copies vendor slides' JPEG tiles with it;
# janus-tools (janus-pp-rec) and ffmpeg: recordings through Janus (telemed/video/janus_recording.py)
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends libturbojpeg0 \
    janus-tools ffmpeg \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home /srv/telemed telemed \
    && mkdir -p /srv/telemed/var && chown -R telemed /srv/telemed
COPY --from=build /opt/venv /opt/venv
COPY --from=frontend /src/frontend/dist /srv/telemed/frontend
ENV PATH=/opt/venv/bin:$PATH \
    TELEMED_ENV=production \
    TELEMED_FRONTEND_DIR=/srv/telemed/frontend \
    TCP_NODELAY=1
WORKDIR /srv/telemed
USER telemed
EXPOSE 8000 11112
# TELEMED_DATABASE_URL and TELEMED_SECRET_KEY must be provided; the app refuses defaults.
CMD ["sh", "-c", "telemed db upgrade && exec uvicorn telemed.app:create_app --factory --host 0.0.0.0 --port 8000 --workers ${WORKERS:-$(nproc)} --proxy-headers"]
