#!/usr/bin/env bash
# Entrypoint of the postgres:15-bookworm stand-in. It emulates the basics of the upstream image:
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER (default
#   postgres), POSTGRES_DB (default: POSTGRES_USER), POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD
#   (default scram-sha-256 for remote connections), PGDATA and PGPORT; each *_FILE variant reads the
#   value from a file. On the first start (no PGDATA/PG_VERSION) it runs initdb, creates
#   POSTGRES_DB, runs /docker-entrypoint-initdb.d/*.sh, *.sql and *.sql.gz in name order against a
#   temporary socket-only server, then starts postgres in the foreground as the postgres user.
set -Eeuo pipefail

log() { echo "postgres-entrypoint: $*"; }
die() {
    echo "postgres-entrypoint: error: $*" >&2
    exit 1
}

# file_env VAR [DEFAULT]: VAR from the environment, from the file named by VAR_FILE, or DEFAULT.
file_env() {
    local var="$1" def="${2:-}"
    local file_var="${var}_FILE"
    if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
        die "both $var and $file_var are set: set only one of them"
    fi
    local val="$def"
    if [ -n "${!var:-}" ]; then
        val="${!var}"
    elif [ -n "${!file_var:-}" ]; then
        val="$(<"${!file_var}")"
    fi
    export "$var"="$val"
    unset "$file_var"
}

# With flags only (docker run IMAGE -c shared_buffers=256MB), run postgres with them.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
    exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

# As root: own the data and socket directories, then run this script again as postgres.
if [ "$(id -u)" = '0' ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 3777 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$BASH_SOURCE" "$@"
fi

file_env POSTGRES_PASSWORD
file_env POSTGRES_USER postgres
file_env POSTGRES_DB "$POSTGRES_USER"
file_env POSTGRES_INITDB_ARGS
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"

psql_as_admin() {
    # Socket-only temporary server: no password needed, nothing reachable from outside.
    PGHOST=/var/run/postgresql PGHOSTADDR='' PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}" psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" \
        --no-password --no-psqlrc "$@"
}

run_init_files() {
    local f
    for f in /docker-entrypoint-initdb.d/*; do
        [ -e "$f" ] || continue
        case "$f" in
            *.sh)
                if [ -x "$f" ]; then
                    log "running $f"
                    "$f"
                else
                    log "sourcing $f"
                    # shellcheck disable=SC1090
                    . "$f"
                fi
                ;;
            *.sql)
                log "running $f"
                psql_as_admin --dbname "$POSTGRES_DB" -f "$f"
                ;;
            *.sql.gz)
                log "running $f"
                gunzip -c "$f" | psql_as_admin --dbname "$POSTGRES_DB"
                ;;
            *)
                log "ignoring $f (not .sh, .sql or .sql.gz)"
                ;;
        esac
    done
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
        die "the database is uninitialized and POSTGRES_PASSWORD is not set: set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust for throwaway test servers only)"
    fi
    log "initializing a new cluster in $PGDATA for superuser $POSTGRES_USER"
    pwfile=""
    if [ -n "$POSTGRES_PASSWORD" ]; then
        pwfile="$(mktemp)"
        printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    fi
    # shellcheck disable=SC2086
    initdb --username="$POSTGRES_USER" ${pwfile:+--pwfile="$pwfile"} -D "$PGDATA" $POSTGRES_INITDB_ARGS
    [ -z "$pwfile" ] || rm -f "$pwfile"
    # Local socket and loopback connections stay trusted (initdb's default); every other address
    # must authenticate, as upstream does.
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

    # psql and init scripts reach it on the same port: PGPORT when set, else 5432.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p ${PGPORT:-5432}" -w start
    if [ "$POSTGRES_DB" != 'postgres' ]; then
        exists="$(psql_as_admin --dbname postgres -tA --set db="$POSTGRES_DB" \
            <<<"SELECT 1 FROM pg_database WHERE datname = :'db';")"
        if [ -z "$exists" ]; then
            psql_as_admin --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
        fi
    fi
    export POSTGRES_USER POSTGRES_DB
    run_init_files
    pg_ctl -D "$PGDATA" -m fast -w stop
    log "init process complete; ready for start up"
else
    log "database directory $PGDATA already holds a cluster; skipping initialization"
fi

exec "$@"
