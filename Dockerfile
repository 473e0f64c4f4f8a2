# kraken-etl image for docker-compose.yml (PostgreSQL + Prefect server + worker run around it).
# The project (flows, prefect.yaml) is in /app = KRAKEN_ETL_PROJECT_DIR, where prefect.yaml's pull step
# changes before every flow run. Processes run as `etl` (uid 10001): the secret files the worker and the
# listener read must be owned by that uid on the host (docs/operations.md).
FROM python:3.11-slim

ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    KRAKEN_ETL_HOME=/var/lib/kraken-etl \
    KRAKEN_ETL_PROJECT_DIR=/app

RUN pip install --no-cache-dir uv && useradd --create-home --uid 10001 etl && mkdir -p /var/lib/kraken-etl \
    && chown etl /var/lib/kraken-etl
WORKDIR /app
COPY pyproject.toml uv.lock README.md prefect.yaml ./
COPY kraken_etl kraken_etl
COPY models models
COPY flows flows
COPY migrations migrations
RUN uv sync --locked --no-dev
USER etl
ENTRYPOINT []
CMD ["kraken-etl", "--help"]
