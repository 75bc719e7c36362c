#!/usr/local/bin/sh
# docker-entrypoint.sh: when the job names no Docker daemon, use the dind service ("docker"): its
# TLS port when the client certificate is there, else its plain port; then run the command
set -e
if [ -z "${DOCKER_HOST:-}" ]; then
	if [ -s "${DOCKER_TLS_CERTDIR:-/certs}/client/ca.pem" ]; then
		export DOCKER_HOST=tcp://docker:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH="${DOCKER_TLS_CERTDIR:-/certs}/client"
	else
		export DOCKER_HOST=tcp://docker:2375
	fi
fi
exec "$@"
