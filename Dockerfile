# byom_sql's Postgres-wire server, as docker-compose.yml runs it. It installs the package with
# the README's quick-start command (plus the PostgreSQL extra, for `CREATE DATABASE … 'postgres'`).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY byom_sql ./byom_sql
RUN python3 -m venv .venv && .venv/bin/pip install -q '.[postgres]'
ENV PATH=/app/.venv/bin:$PATH
VOLUME /data
EXPOSE 55432
# Listening beyond the container's loopback needs a password: set BYOM_PASSWORD.
# --allow-file-access lets clients run CREATE DATABASE (an ATTACH in DuckDB) and read files.
CMD ["byom-sql", "serve", "--database", "/data/byom.duckdb", "--host", "0.0.0.0", "--port", "55432", \
     "--user", "byom", "--password-env", "BYOM_PASSWORD", "--allow-file-access"]
