#!/bin/sh
# Runs redis-server in the foreground on every address, keeping nothing on disk. When
# REDIS_PASSWORD is set, clients must AUTH with it. Arguments are passed on to redis-server.
set -eu
set -- --bind 0.0.0.0 --port 6379 --protected-mode no --dir /tmp --save "" --appendonly no "$@"
if [ -n "${REDIS_PASSWORD:-}" ]; then
  set -- "$@" --requirepass "$REDIS_PASSWORD"
fi
exec redis-server "$@"
