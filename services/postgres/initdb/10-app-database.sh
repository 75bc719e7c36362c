#!/usr/bin/env bash
# Sourced by the postgres entrypoint on the first start of an empty data directory, while a
# socket-only temporary server runs. Creates APP_DB_USER (LOGIN, CREATEDB so the app's test suite
# can make its test database) and APP_DB_NAME owned by it.
set -Eeuo pipefail

# psql against the maintenance database as the superuser; psql variables come as --set NAME=VALUE.
admin_sql() {
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres --no-psqlrc "$@"
}

app_db="${APP_DB_NAME:-shipyard}"
app_user="${APP_DB_USER:-shipyard}"

if [ -z "${APP_DB_PASSWORD:-}" ]; then
    echo "10-app-database: APP_DB_PASSWORD is not set; no app role made (the app must use $POSTGRES_USER)"
    app_user="$POSTGRES_USER"
else
    admin_sql --set user="$app_user" --set password="$APP_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'user', :'password')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
SQL
    echo "10-app-database: role $app_user ready"
fi

admin_sql --set db="$app_db" --set owner="$app_user" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL

echo "10-app-database: database $app_db (owner $app_user) ready"
