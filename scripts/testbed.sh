#!/usr/bin/env bash
# Docker test bed for phase-compose's end-to-end tests.
#
#   bash scripts/testbed.sh          # idempotent: install, start dockerd, build fixture images
#
# 1. installs Debian's docker.io, docker-compose and debootstrap when missing;
# 2. starts dockerd in the background when `docker info` does not answer;
# 3. builds the fixture images offline (no registry is ever contacted):
#      phase-compose-fixture-base:<hash>     debootstrap'd Debian bookworm with postgres, redis, Django
#      phase-compose-fixture-postgres:latest
#      phase-compose-fixture-redis:latest
#      phase-compose-fixture-app:latest      small Django app shaped like Phase's backend
#    Every image is cached by a hash of its recipe; a re-run with nothing changed takes seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES="$ROOT/test/fixtures"
SELF="$ROOT/scripts/testbed.sh"
T0=$(date +%s)

log() { printf '[testbed %3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { printf '[testbed] ERROR: %s\n' "$*" >&2; exit 1; }
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "must run as root (or with sudo available)"
  SUDO="sudo"
fi

# ---------------------------------------------------------------- 1. packages
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  { $SUDO apt-get update -q && $SUDO apt-get install -y -q "${need[@]}"; } >/tmp/phase-compose-apt.log 2>&1 \
    || { tail -n 30 /tmp/phase-compose-apt.log >&2; die "apt-get install ${need[*]} failed (log: /tmp/phase-compose-apt.log)"; }
fi
log "packages present: dockerd, docker-compose, debootstrap"

# ---------------------------------------------------------------- 2. dockerd
if ! timeout 20 docker info >/dev/null 2>&1; then
  log "docker info does not answer; starting dockerd (log: /tmp/dockerd.log)"
  $SUDO setsid nohup dockerd >>/tmp/dockerd.log 2>&1 </dev/null &
  dockerd_pid=$!
  for _ in $(seq 1 60); do
    timeout 10 docker info >/dev/null 2>&1 && break
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
      tail -n 30 /tmp/dockerd.log >&2 || true
      die "dockerd exited during start-up (see /tmp/dockerd.log)"
    fi
    sleep 1
  done
  timeout 10 docker info >/dev/null 2>&1 || { tail -n 30 /tmp/dockerd.log >&2 || true; die "dockerd did not answer 'docker info' within 60 s (see /tmp/dockerd.log)"; }
fi
log "docker engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) answers; $(docker-compose version --short 2>/dev/null || echo '?') compose"

# ---------------------------------------------------------------- 3. images
sha() { sha256sum | cut -c1-16; }
ROOTFS_DIR=""
trap '[ -z "$ROOTFS_DIR" ] || { log "cleaning $ROOTFS_DIR"; $SUDO rm -rf "$ROOTFS_DIR"; }' EXIT

# BEGIN base recipe (the text between these markers is part of the base image's hash)
SUITE=bookworm
PACKAGES="postgresql,redis-server,python3-django,python3-psycopg2,python3-gunicorn,curl,ca-certificates"
mirror() {
  # The first URI of the first deb822 source that carries the main suite; fall back to one-line sources.
  local m
  m=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v -- '-security' | head -n1 | awk '{print $2}') || true
  if [ -z "$m" ]; then
    m=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | grep -v -- '-security' | head -n1 | awk '{print $2}') || true
  fi
  [ -n "$m" ] || die "no Debian mirror found in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
  echo "$m"
}
build_base() { # $1 = tag
  local dir; dir=$(mktemp -d /tmp/phase-compose-rootfs.XXXXXX)
  ROOTFS_DIR="$dir"
  local m; m=$(mirror)
  log "debootstrap $SUITE from $m into $dir (minbase + $PACKAGES)"
  $SUDO debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$dir" "$m" >/tmp/phase-compose-debootstrap.log 2>&1 \
    || { tail -n 40 /tmp/phase-compose-debootstrap.log >&2; die "debootstrap failed (full log: /tmp/phase-compose-debootstrap.log)"; }
  # Slim down: package caches, docs, man pages, locales, the cluster the postgresql package created, and
  # PostgreSQL's optional LLVM JIT (~130 MB; without llvmjit.so the server silently runs without JIT).
  $SUDO rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/locale/* "$dir"/usr/share/i18n \
    "$dir"/var/lib/postgresql/15 "$dir"/etc/postgresql/15 "$dir"/usr/sbin/policy-rc.d \
    "$dir"/usr/lib/postgresql/15/lib/llvmjit* "$dir"/usr/lib/postgresql/15/lib/bitcode \
    "$dir"/usr/lib/x86_64-linux-gnu/libLLVM-* "$dir"/usr/lib/x86_64-linux-gnu/libz3.so*
  ln -sf python3 "$dir/usr/bin/python"
  log "importing rootfs as $1"
  $SUDO tar -C "$dir" -c . | docker import -c 'ENV LANG=C.UTF-8' -m "phase-compose fixture base ($SUITE)" - "$1" >/dev/null
  log "removing $dir"; $SUDO rm -rf "$dir"; ROOTFS_DIR=""
}
# END base recipe

BASE_HASH=$(
  { echo "$PACKAGES"; sed -n '/^# BEGIN base recipe/,/^# END base recipe/p' "$SELF"; } | sha
)
BASE="phase-compose-fixture-base:$BASE_HASH"
if docker image inspect "$BASE" >/dev/null 2>&1; then
  log "base image $BASE cached"
else
  t=$(date +%s)
  build_base "$BASE"
  log "base image $BASE built in $(( $(date +%s) - t ))s"
fi

# Derived images: context dir under test/fixtures, Dockerfile there, FROM ${BASE}.
recipe_hash() { # $1 = context dir
  {
    echo "$BASE_HASH"
    (cd "$1" && find . -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha
}
build_derived() { # $1 = image name, $2 = context dir
  local name="$1" ctx="$2" h cur t
  h=$(recipe_hash "$ctx")
  cur=$(docker image inspect -f '{{ index .Config.Labels "phase-compose.recipe" }}' "$name" 2>/dev/null || true)
  if [ "$cur" = "$h" ]; then
    log "$name cached (recipe $h)"
    return
  fi
  t=$(date +%s)
  log "building $name (recipe $h)"
  local blog="/tmp/phase-compose-build-${name%%:*}.log"
  docker build --force-rm --network none --build-arg "BASE=$BASE" --label "phase-compose.recipe=$h" -t "$name" "$ctx" >"$blog" 2>&1 \
    || { tail -n 30 "$blog" >&2; die "docker build of $name failed (context $ctx, log $blog)"; }
  log "$name built in $(( $(date +%s) - t ))s"
}
build_derived phase-compose-fixture-postgres:latest "$FIXTURES/postgres"
build_derived phase-compose-fixture-redis:latest "$FIXTURES/redis"
build_derived phase-compose-fixture-app:latest "$FIXTURES/app"

# Old base images and dangling layers from earlier recipes.
for img in $(docker images --format '{{.Repository}}:{{.Tag}}' phase-compose-fixture-base); do
  [ "$img" = "$BASE" ] || docker rmi "$img" >/dev/null 2>&1 || true
done
docker image prune -f --filter label=phase-compose.recipe >/dev/null 2>&1 || true

log "test bed ready in $(( $(date +%s) - T0 ))s"
