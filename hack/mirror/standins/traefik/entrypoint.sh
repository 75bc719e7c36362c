#!/bin/sh
# Entrypoint of the traefik stand-in, shaped like the upstream one: flags or a subcommand as the
# first argument run traefik with them; anything else runs as a command.
set -e

if [ "${1#-}" != "$1" ]; then
    set -- traefik "$@"
fi
case "$1" in
    version | healthcheck)
        set -- traefik "$@"
        ;;
esac
exec "$@"
