#!/usr/bin/env bash
# Docker test bed for phase-compose's end-to-end tests, on one of two stacks:
#
#   bash scripts/testbed.sh v1   # Compose 1.29.2 on Engine 20.10 (Debian 12's docker-compose, docker.io)
#   bash scripts/testbed.sh v2   # Compose 2.26.1 on Engine 26.1.5 (Debian 13's packages, unpacked, cached)
#
# Idempotent. It
# 1. installs Debian 12's docker.io, docker-compose and debootstrap when missing; for v2 it also fetches
#    Debian 13's docker.io, containerd and docker-compose through a private apt configuration (the
#    system is not upgraded), unpacks them with dpkg -x into the cache and reuses them afterwards; for
#    both stacks, Debian 13's sq (Sequoia) with its libraries, the same way;
# 2. makes the wanted Engine the one answering /var/run/docker.sock: it stops the other one (each has
#    its own data root, so neither reads the other's state) and starts the wanted one;
# 3. builds the fixture images offline (no registry is ever contacted):
#      phase-compose-fixture-base:<hash>     debootstrap'd Debian bookworm with postgres, redis, Django, nginx
#      phase-compose-fixture-postgres:latest
#      phase-compose-fixture-redis:latest
#      phase-compose-fixture-app:v1, :v2     small Django app shaped like Phase's backend, two versions
#                                            of one recipe (build-arg APP_VERSION); :latest is v1
#      phase-compose-fixture-nginx:latest    Debian's nginx-light, config in conf.d/default.conf
#    Every image is cached by a hash of its recipe; the debootstrap'd root file system is kept as a
#    tar in the cache, so the second Engine imports it instead of building it again.
#
# Logs go to stderr. Standard output is the stack's environment, one KEY=VALUE a line, for the tests:
#   PHASE_COMPOSE_STACK            v1 or v2
#   DOCKER_CONFIG                  a directory whose cli-plugins/ holds this stack's Compose (empty for v1)
#   PHASE_COMPOSE_COMPOSE_ARGV     the Compose command as a JSON array
#   PHASE_COMPOSE_SQ               Sequoia's sq (Debian 13's, cached), for the archive's interop test
# e.g.  set -a; eval "$(PHASE_COMPOSE_SWITCH_ENGINE=1 bash scripts/testbed.sh v2)"; set +a; npx vitest run --project e2e
# It stops a running Engine of the other stack only with CI=true or PHASE_COMPOSE_SWITCH_ENGINE=1: outside
# CI that Engine may be the user's own.
# The cache is $PHASE_COMPOSE_CACHE (default /var/cache/phase-compose), outside the repository.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES="$ROOT/test/fixtures"
SELF="$ROOT/scripts/testbed.sh"
STACK="${1:-v1}"
CACHE="${PHASE_COMPOSE_CACHE:-/var/cache/phase-compose}"
T0=$(date +%s)

log() { printf '[testbed %s %3ss] %s\n' "$STACK" "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { printf '[testbed %s] ERROR: %s\n' "$STACK" "$*" >&2; exit 1; }
case "$STACK" in v1|v2) ;; *) die "unknown stack '$STACK': use v1 (Compose 1.29 on Engine 20.10) or v2 (Compose 2.26 on Engine 26.1)";; esac
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || die "must run as root (or with sudo available)"
  SUDO="sudo"
fi
$SUDO mkdir -p "$CACHE"

# ---------------------------------------------------------------- 1. packages
need=()
[ -x /usr/sbin/dockerd ] || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (apt)"
  export DEBIAN_FRONTEND=noninteractive
  { $SUDO apt-get update -q && $SUDO apt-get install -y -q "${need[@]}"; } >/tmp/phase-compose-apt.log 2>&1 \
    || { tail -n 30 /tmp/phase-compose-apt.log >&2; die "apt-get install ${need[*]} failed (log: /tmp/phase-compose-apt.log)"; }
fi
log "Debian 12 packages present: dockerd, docker-compose, debootstrap"

# Debian 13's Engine and Compose v2, unpacked into the cache. runc stays Debian 12's: trixie's runc
# needs glibc 2.38 and does not start here, and Engine 26 runs containers with runc 1.1.5 all the same.
T13_PACKAGES="docker.io containerd docker-compose"
T13="$CACHE/debian13-docker"
# Downloads Debian 13 packages ($2...) through a private apt configuration in $1 and unpacks them into
# $1/root (the system is not upgraded); $1/root/VERSIONS lists the .deb files.
trixie_unpack() {
  local work=$1; shift
  mkdir -p "$work/sources" "$work/lists/partial" "$work/debs" "$work/root"
  cat >"$work/sources/trixie.sources" <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  local apt=(apt-get -q -o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$work/sources"
             -o "Dir::State::lists=$work/lists" -o APT::Sandbox::User=root)
  log "fetching Debian 13's $* (private apt lists in $work; the system is not upgraded)"
  { "${apt[@]}" update && (cd "$work/debs" && "${apt[@]}" download "$@"); } >"$work/apt.log" 2>&1 \
    || { tail -n 20 "$work/apt.log" >&2; die "could not fetch Debian 13's $* (log: $work/apt.log)"; }
  for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/root"; done
  (cd "$work/debs" && ls *.deb) >"$work/root/VERSIONS"
}
fetch_trixie() {
  local work; work=$(mktemp -d /tmp/phase-compose-trixie.XXXXXX)
  trixie_unpack "$work" $T13_PACKAGES
  mkdir -p "$work/root/docker-config/cli-plugins"
  ln -s ../../usr/libexec/docker/cli-plugins/docker-compose "$work/root/docker-config/cli-plugins/docker-compose"
  "$work/root/usr/sbin/dockerd" --version >/dev/null || die "Debian 13's dockerd does not run on this machine"
  "$work/root/usr/libexec/docker/cli-plugins/docker-compose" version >/dev/null || die "Debian 13's docker-compose does not run here"
  $SUDO rm -rf "$T13"; $SUDO mv "$work/root" "$T13"; rm -rf "$work"
}
if [ "$STACK" = v2 ]; then
  if [ -x "$T13/usr/sbin/dockerd" ] && [ -f "$T13/VERSIONS" ]; then
    log "Debian 13 packages cached in $T13: $(tr '\n' ' ' <"$T13/VERSIONS")"
  else
    fetch_trixie
    log "Debian 13 packages unpacked into $T13: $(tr '\n' ' ' <"$T13/VERSIONS")"
  fi
fi

# Sequoia's sq 1.3 (sequoia-openpgp 2.0, RFC 9580), a second OpenPGP implementation for the archive's
# interoperability test (test/e2e/sq.e2e.test.ts), on both stacks. Debian 13's build needs glibc 2.38, so
# its libraries, glibc included, come along and sq runs under Debian 13's dynamic loader (bin/sq does so).
SQ_PACKAGES="sq libc6 libgcc-s1 libbz2-1.0 libgmp10 libhogweed6t64 libnettle8t64 libsqlite3-0 libssl3t64 zlib1g libzstd1"
SQ_DIR="$CACHE/debian13-sq-$(printf '%s' "$SQ_PACKAGES" | sha256sum | cut -c1-16)"
if [ -x "$SQ_DIR/bin/sq" ] && [ -f "$SQ_DIR/VERSIONS" ]; then
  log "sq cached in $SQ_DIR"
else
  work=$(mktemp -d /tmp/phase-compose-sq.XXXXXX)
  trixie_unpack "$work" $SQ_PACKAGES
  mkdir -p "$work/root/bin"
  cat >"$work/root/bin/sq" <<'SQ'
#!/bin/sh
# sq from Debian 13, with Debian 13's glibc and libraries (see scripts/testbed.sh).
here=$(cd "$(dirname "$0")/.." && pwd)
lib="$here/usr/lib/x86_64-linux-gnu"
exec "$lib/ld-linux-x86-64.so.2" --library-path "$lib" "$here/usr/bin/sq" "$@"
SQ
  chmod 755 "$work/root/bin/sq"
  "$work/root/bin/sq" version >&2 || die "Debian 13's sq does not run on this machine (log: $work/apt.log)"
  $SUDO rm -rf "$SQ_DIR"; $SUDO mv "$work/root" "$SQ_DIR"; rm -rf "$work"
  log "sq unpacked into $SQ_DIR"
fi

# ---------------------------------------------------------------- 2. the Engine
# One Engine at a time answers /var/run/docker.sock. Each keeps its own data root and exec root.
engine_major() { timeout 10 docker version -f '{{.Server.Version}}' 2>/dev/null | cut -d. -f1; }
want_major=20; [ "$STACK" = v2 ] && want_major=26
stop_engine() { # $1 = pid file
  local pid; pid=$(cat "$1" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  log "stopping the Engine with pid $pid ($1)"
  $SUDO kill -TERM "$pid"
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  log "the Engine with pid $pid did not stop in 20 s; killing it"
  $SUDO kill -KILL "$pid" || true; sleep 1
}
start_engine() {
  local log_file pid_file
  if [ "$STACK" = v2 ]; then
    log_file=/tmp/dockerd-26.log; pid_file=/var/run/docker-26.pid
    $SUDO env PATH="$T13/usr/sbin:$T13/usr/bin:$PATH" setsid nohup "$T13/usr/sbin/dockerd" \
      --data-root /var/lib/docker-26 --exec-root /var/run/docker-26 --pidfile "$pid_file" \
      >>"$log_file" 2>&1 </dev/null &
  else
    log_file=/tmp/dockerd.log; pid_file=/var/run/docker.pid
    $SUDO setsid nohup /usr/sbin/dockerd >>"$log_file" 2>&1 </dev/null &
  fi
  local launcher=$!
  log "starting dockerd (log: $log_file)"
  for _ in $(seq 1 120); do
    [ "$(engine_major)" = "$want_major" ] && return 0
    if ! kill -0 "$launcher" 2>/dev/null; then
      tail -n 30 "$log_file" >&2 || true
      die "dockerd exited during start-up (see $log_file)"
    fi
    sleep 0.5
  done
  tail -n 30 "$log_file" >&2 || true
  die "dockerd did not answer 'docker info' within 60 s (see $log_file)"
}
cur=$(engine_major || true)
if [ "$cur" != "$want_major" ]; then
  if [ -n "$cur" ] && [ "${CI:-}" != true ] && [ "${PHASE_COMPOSE_SWITCH_ENGINE:-}" != 1 ]; then
    # Never stop an Engine that may be the user's own, unless told to.
    die "stack $STACK needs Engine $want_major, but Engine $cur answers; switching stops the running dockerd: run with CI=true or PHASE_COMPOSE_SWITCH_ENGINE=1 to allow it"
  fi
  [ -z "$cur" ] || log "Engine $cur answers; this stack needs Engine $want_major"
  stop_engine /var/run/docker.pid
  stop_engine /var/run/docker-26.pid
  start_engine
fi
if [ "$STACK" = v2 ]; then
  export DOCKER_CONFIG="$T13/docker-config"
  COMPOSE_ARGV='["docker","compose"]'
  compose_version=$(docker compose version --short 2>/dev/null || echo '?')
else
  export DOCKER_CONFIG="$CACHE/docker-config-v1" # no cli-plugins/: Compose v1 is the one phase-compose finds
  $SUDO mkdir -p "$DOCKER_CONFIG"
  COMPOSE_ARGV='["docker-compose"]'
  compose_version=$(docker-compose version --short 2>/dev/null || echo '?')
fi
log "Engine $(docker version -f '{{.Server.Version}}' 2>/dev/null) answers; Compose $compose_version"

# ---------------------------------------------------------------- 3. images
sha() { sha256sum | cut -c1-16; }
ROOTFS_DIR=""
trap '[ -z "$ROOTFS_DIR" ] || { log "cleaning $ROOTFS_DIR"; $SUDO rm -rf "$ROOTFS_DIR"; }' EXIT

# BEGIN base recipe (the text between these markers is part of the base image's hash)
SUITE=bookworm
PACKAGES="postgresql,redis-server,python3-django,python3-psycopg2,python3-gunicorn,curl,ca-certificates,nginx-light"
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
build_base() { # $1 = tag, $2 = the tar to write
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
  log "packing the root file system into $2"
  $SUDO tar -C "$dir" -c . >"$2.tmp" && mv "$2.tmp" "$2"
  log "removing $dir"; $SUDO rm -rf "$dir"; ROOTFS_DIR=""
}
# END base recipe

BASE_HASH=$(
  { echo "$PACKAGES"; sed -n '/^# BEGIN base recipe/,/^# END base recipe/p' "$SELF"; } | sha
)
BASE="phase-compose-fixture-base:$BASE_HASH"
ROOTFS_TAR="$CACHE/rootfs-$BASE_HASH.tar"
if docker image inspect "$BASE" >/dev/null 2>&1; then
  log "base image $BASE cached"
else
  t=$(date +%s)
  if [ -s "$ROOTFS_TAR" ]; then
    log "root file system cached in $ROOTFS_TAR"
  else
    build_base "$BASE" "$ROOTFS_TAR"
  fi
  log "importing $ROOTFS_TAR as $BASE"
  docker import -c 'ENV LANG=C.UTF-8' -m "phase-compose fixture base ($SUITE)" "$ROOTFS_TAR" "$BASE" >/dev/null
  log "base image $BASE ready in $(( $(date +%s) - t ))s"
fi
# Root file systems of older recipes.
for f in "$CACHE"/rootfs-*.tar; do [ "$f" = "$ROOTFS_TAR" ] || [ ! -e "$f" ] || $SUDO rm -f "$f"; done

# Derived images: context dir under test/fixtures, Dockerfile there, FROM ${BASE}.
recipe_hash() { # $1 = context dir, then the build arguments (KEY=VALUE), which are part of the recipe
  {
    echo "$BASE_HASH"
    printf '%s\n' "${@:2}"
    (cd "$1" && find . -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha
}
build_derived() { # $1 = image name, $2 = context dir, then build arguments KEY=VALUE
  local name="$1" ctx="$2" h cur t a bargs=()
  shift 2
  for a in "$@"; do bargs+=(--build-arg "$a"); done
  h=$(recipe_hash "$ctx" "$@")
  cur=$(docker image inspect -f '{{ index .Config.Labels "phase-compose.recipe" }}' "$name" 2>/dev/null || true)
  if [ "$cur" = "$h" ]; then
    log "$name cached (recipe $h)"
    return
  fi
  t=$(date +%s)
  log "building $name (recipe $h)"
  local blog="/tmp/phase-compose-build-${name//[:\/]/-}.log"
  docker build --force-rm --network none --build-arg "BASE=$BASE" ${bargs[@]+"${bargs[@]}"} --label "phase-compose.recipe=$h" -t "$name" "$ctx" >"$blog" 2>&1 \
    || { tail -n 30 "$blog" >&2; die "docker build of $name failed (context $ctx, log $blog)"; }
  log "$name built in $(( $(date +%s) - t ))s"
}
build_derived phase-compose-fixture-postgres:latest "$FIXTURES/postgres"
build_derived phase-compose-fixture-redis:latest "$FIXTURES/redis"
# Two versions of the app from one recipe (test/fixtures/app/fixture/settings.py reads the baked APP_VERSION):
# v2 adds a pre-deploy and a post-deploy migration. :latest is v1, the version the older tests use.
build_derived phase-compose-fixture-app:v1 "$FIXTURES/app" APP_VERSION=v1
build_derived phase-compose-fixture-app:v2 "$FIXTURES/app" APP_VERSION=v2
docker tag phase-compose-fixture-app:v1 phase-compose-fixture-app:latest
build_derived phase-compose-fixture-nginx:latest "$FIXTURES/nginx"

# Old base images and dangling layers from earlier recipes.
for img in $(docker images --format '{{.Repository}}:{{.Tag}}' phase-compose-fixture-base); do
  [ "$img" = "$BASE" ] || docker rmi "$img" >/dev/null 2>&1 || true
done
docker image prune -f --filter label=phase-compose.recipe >/dev/null 2>&1 || true

log "test bed ready in $(( $(date +%s) - T0 ))s"
# Single-quoted, so that `eval` keeps the JSON as it is (the paths here hold no quote).
printf "PHASE_COMPOSE_STACK='%s'\nDOCKER_CONFIG='%s'\nPHASE_COMPOSE_COMPOSE_ARGV='%s'\nPHASE_COMPOSE_SQ='%s'\n" "$STACK" "$DOCKER_CONFIG" "$COMPOSE_ARGV" "$SQ_DIR/bin/sq"
