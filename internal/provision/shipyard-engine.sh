#!/bin/sh
# shipyard-engine ARGS: the engine image's entrypoint with ARGS, run from the image's root file
# system in ROOT/rootfs as a container runtime would run it (shipyard internal/provision): its own
# mount namespace rooted in the image (and cgroup namespace on cgroup v2), this machine's /proc,
# /sys and /dev, and
# this machine's engine state, socket directory, configuration and DNS. The image's environment
# (ROOT/image.env) comes first, then /etc/dagger/engine.env.
set -eu
R=ROOT/rootfs
[ -x "$R/usr/local/bin/dagger-entrypoint.sh" ] || {
  echo "shipyard-engine: no engine image in $R: run the builder's setup script again" >&2
  exit 1
}
if [ "${SHIPYARD_ENGINE_NS:-}" != 1 ]; then
  cg=
  [ ! -f /sys/fs/cgroup/cgroup.controllers ] || cg=--cgroup
  SHIPYARD_ENGINE_NS=1 exec unshare --mount --propagation private $cg "$0" "$@"
fi
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount --rbind /sys "$R/sys"
# cgroup v2: the image's own view of its cgroup namespace (the bind above shows the machine's)
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  umount -l "$R/sys/fs/cgroup"
  mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
fi
mount --rbind /dev "$R/dev"
mount -t tmpfs tmpfs "$R/tmp"
mkdir -p /run/dagger /var/lib/dagger "$R/run/dagger" "$R/var/lib/dagger"
mount --bind /run/dagger "$R/run/dagger"
mount --bind /var/lib/dagger "$R/var/lib/dagger"
[ -e "$R/etc/dagger/engine.toml" ] || { mkdir -p "$R/etc/dagger" && : >"$R/etc/dagger/engine.toml"; }
mount --bind /etc/dagger/engine.toml "$R/etc/dagger/engine.toml"
cat /etc/resolv.conf >"$R/etc/resolv.conf"
set -a
. ROOT/image.env
[ ! -f /etc/dagger/engine.env ] || . /etc/dagger/engine.env
set +a
# the image's root becomes this mount namespace's root (pivot_root, not chroot: the engine runs
# each container from a mount namespace of its own, whose root must be the image's), the
# machine's root is then detached; containers must not read the instance metadata, which holds
# the user data with the host key
cd "$R"
mkdir -p .shipyard-host
pivot_root . .shipyard-host
exec /bin/sh -c '
umount -l /.shipyard-host && rmdir /.shipyard-host
iptables -w -C FORWARD -d 169.254.169.254/32 -j DROP 2>/dev/null || iptables -w -I FORWARD -d 169.254.169.254/32 -j DROP
ip6tables -w -C FORWARD -d fd00:ec2::254/128 -j DROP 2>/dev/null || ip6tables -w -I FORWARD -d fd00:ec2::254/128 -j DROP 2>/dev/null || true
exec /usr/local/bin/dagger-entrypoint.sh "$@"' shipyard-engine "$@"
