# check=error=true
# escape=\

# Front end (Vue, built with Node), Django runtime and a test stage in one file.
ARG PYTHON_VERSION=3.12

FROM node:22-alpine AS frontend
WORKDIR /app
COPY frontend/package.json frontend/package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci
COPY frontend/ ./
RUN npm run build

FROM python:${PYTHON_VERSION}-slim AS runtime
WORKDIR /srv
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=requirements.txt,target=/tmp/requirements.txt \
    pip install -r /tmp/requirements.txt
COPY --chown=app:app backend/ /srv/
# The built front end comes from the frontend stage, or from the frontend context.
COPY --from=frontend --chown=app:app /app/dist /srv/static/
RUN --mount=type=bind,from=frontend,source=/app/dist/manifest.json,target=/tmp/manifest.json \
    python -m app.check_manifest /tmp/manifest.json
COPY <<EOF /srv/gunicorn.conf.py
# COPY --from=frontend here is file content, not an instruction
bind = "0.0.0.0:8000"
EOF
USER app
CMD ["gunicorn", "app.wsgi"]

FROM runtime AS test
USER root
COPY --from=frontend ["/app/dist/index.html", "/app/package.json", "/srv/frontend/"]
COPY requirements-dev.txt /tmp/
RUN pip install -r /tmp/requirements-dev.txt
RUN python -m pytest -q
