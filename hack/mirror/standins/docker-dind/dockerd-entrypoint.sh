#!/bin/sh
# dockerd-entrypoint.sh: start dockerd as GitLab's docker:dind service; arguments are extra dockerd
# flags. With DOCKER_TLS_CERTDIR (GitLab's default /certs) it serves TLS on 2376 and leaves the
# client certificate in $DOCKER_TLS_CERTDIR/client for the job; with it empty, plain TCP on 2375.
set -eu
certs=${DOCKER_TLS_CERTDIR:-}

# gen NAME USAGE SANS: a key and a certificate signed by the CA, in $certs/NAME, with the CA beside
gen() {
	d=$certs/$1
	mkdir -p "$d"
	openssl genrsa -out "$d/key.pem" 2048 2>/dev/null
	openssl req -new -key "$d/key.pem" -out "$d/csr.pem" -subj "/CN=docker:dind $1"
	printf '[ext]\nextendedKeyUsage = %s\n%s\n' "$2" "$3" >"$d/openssl.cnf"
	openssl x509 -req -in "$d/csr.pem" -CA "$certs/ca/cert.pem" -CAkey "$certs/ca/key.pem" \
		-CAcreateserial -days 30 -out "$d/cert.pem" -extfile "$d/openssl.cnf" -extensions ext 2>/dev/null
	cp "$certs/ca/cert.pem" "$d/ca.pem"
	rm -f "$d/csr.pem" "$d/openssl.cnf"
	chmod 0644 "$d/cert.pem" "$d/ca.pem"
	# the job reads the client key as whatever user it runs as
	[ "$1" != client ] || chmod 0644 "$d/key.pem"
}

if [ -n "$certs" ]; then
	# a CA of this service's own; certificates left by another service (a volume shared across
	# jobs) are not signed by it and are made again
	mkdir -p "$certs/ca"
	openssl genrsa -out "$certs/ca/key.pem" 4096 2>/dev/null
	openssl req -new -x509 -days 30 -key "$certs/ca/key.pem" -out "$certs/ca/cert.pem" -subj "/CN=docker:dind CA"
	sans="DNS:docker, DNS:localhost, DNS:$(hostname)"
	for ip in 127.0.0.1 $(hostname -i 2>/dev/null); do sans="$sans, IP:$ip"; done
	gen server serverAuth "subjectAltName = $sans"
	gen client clientAuth ""
	set -- --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2376 --tlsverify \
		--tlscacert "$certs/server/ca.pem" --tlscert "$certs/server/cert.pem" --tlskey "$certs/server/key.pem" "$@"
else
	set -- --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 "$@"
fi

# A machine whose capability bounding set lacks CAP_SYS_RESOURCE cannot start a privileged
# container that asks for it (runc: "unable to apply caps"); dockerd then runs its containers
# through runc-nocap, which drops that one capability from each container's and exec's spec.
bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
if [ $(((0x$bnd >> 24) & 1)) -eq 0 ]; then
	echo "dockerd-entrypoint: CAP_SYS_RESOURCE is not in this machine's bounding set; containers run without it" >&2
	set -- --add-runtime runc-nocap=/usr/local/bin/runc-nocap --default-runtime runc-nocap "$@"
fi
exec dockerd "$@"
