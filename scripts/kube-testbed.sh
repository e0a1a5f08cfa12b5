#!/usr/bin/env bash
# Kubernetes test bed for phase-compose's `generate --target kubernetes`: a real Kubernetes 1.20.2,
# offline, on this machine.
#
#   bash scripts/kube-testbed.sh build   # only build/unpack the binaries (cached)
#   bash scripts/kube-testbed.sh api     # etcd + kube-apiserver: enough for kubectl apply --dry-run=server
#   bash scripts/kube-testbed.sh node    # api + controller-manager, scheduler, containerd, kubelet, kube-proxy
#   bash scripts/kube-testbed.sh stop    # stop what this script started (by the pids it recorded)
#
# Idempotent. Where the pieces come from (Debian 12 ships no kube-apiserver, kubelet, k3s or kind):
# - Debian's source package src:kubernetes (1.20.2, vendored modules included) is fetched with
#   `apt-get source` through a private deb-src list and built the way its debian/rules does
#   (GOPATH with src/k8s.io/kubernetes -> the tree, CGO_ENABLED=0, GOPROXY=off, KUBE_GIT_VERSION_FILE,
#   `make WHAT=cmd/...`; a plain `go build` fails because code generation is skipped). About 5 minutes
#   of CPU on 2 cores, 2.7 GB of disk while building. The binaries are cached by version in
#   $CACHE/kube-1.20.2/bin: a second run skips the build.
# - etcd-server 3.4 and kubernetes-client 1.20 (kubectl) are unpacked with dpkg-deb -x (installing
#   kubernetes-client would collide with a newer kubectl; unpacking etcd-server avoids its init script).
# - containerd and runc are the ones installed with docker.io, but the node runs its OWN containerd with
#   its own socket, root and state directories: the Docker Engine's containerd is never touched.
#
# Workarounds this machine needs (measured; see the README's Kubernetes section):
# - containerd CRI: restrict_oom_score_adj = true (no CAP_SYS_RESOURCE in the VM);
# - the kubelet's cgroupRoot must exist in every cgroup v1 hierarchy (cgroupfs driver);
# - the node gets a non-loopback IP from a veth pair (no `dummy` device); the apiserver prefers InternalIP;
# - the node.kubernetes.io/not-ready taint is removed; a pause image is built from busybox-static;
# - no CoreDNS: dnsmasq answers <service>.<namespace>.svc.cluster.local from a hosts file a loop keeps in
#   step with the Services; an ExternalName Service gets its target Service's address (a flattened CNAME).
#
# Logs go to stderr. Standard output is the environment for the tests, one KEY=VALUE a line:
#   PHASE_COMPOSE_KUBE          the kubeconfig (admin token) of the running API server
#   PHASE_COMPOSE_KUBECTL       Debian's kubectl 1.20 (no version-skew warnings)
#   PHASE_COMPOSE_KUBE_NODE     1 when a node that runs pods is Ready (mode `node`)
# e.g.  set -a; eval "$(bash scripts/kube-testbed.sh node)"; set +a; npx vitest run --project e2e test/e2e/kube.e2e.test.ts
# The same environment is written to $STATE/env, so tests can find it from a flag file.
# The cache is $PHASE_COMPOSE_CACHE (default /var/cache/phase-compose), outside the repository; the
# running state (etcd data, certificates, logs, containerd root) is under $PHASE_COMPOSE_KUBE_STATE
# (default /var/lib/phase-compose-kube).
set -euo pipefail

MODE="${1:-api}"
KUBE_VERSION=1.20.2
CACHE="${PHASE_COMPOSE_CACHE:-/var/cache/phase-compose}"
KCACHE="$CACHE/kube-$KUBE_VERSION"
BIN="$KCACHE/bin"
STATE="${PHASE_COMPOSE_KUBE_STATE:-/var/lib/phase-compose-kube}"
T0=$(date +%s)

log() { printf '[kube-testbed %s %3ss] %s\n' "$MODE" "$(( $(date +%s) - T0 ))" "$*" >&2; }
die() { printf '[kube-testbed %s] ERROR: %s\n' "$MODE" "$*" >&2; exit 1; }
case "$MODE" in build|api|node|stop) ;; *) die "unknown mode '$MODE': use build, api, node or stop";; esac
[ "$(id -u)" = 0 ] || die "must run as root (it starts etcd, containerd and a kubelet)"

# A private apt configuration: the system's sources and lists are not changed.
private_apt() { # <workdir> <deb-src?>
  local work="$1" types="$2"
  mkdir -p "$work/sources" "$work/lists/partial"
  cat >"$work/sources/bookworm.sources" <<SRC
Types: $types
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  APT=(apt-get -q -o Dir::Etc::sourcelist=/dev/null -o "Dir::Etc::sourceparts=$work/sources"
       -o "Dir::State::lists=$work/lists" -o APT::Sandbox::User=root)
}

# ---------------------------------------------------------------- 1. binaries (cached by version)
build_kube() {
  local want=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
  local missing=0 b
  for b in "${want[@]}"; do [ -x "$BIN/$b" ] || missing=1; done
  if [ $missing = 0 ]; then log "Kubernetes $KUBE_VERSION binaries cached in $BIN"; return; fi
  if ! command -v go >/dev/null 2>&1 || ! command -v rsync >/dev/null 2>&1 || ! command -v dpkg-source >/dev/null 2>&1; then
    log "installing golang-go, dpkg-dev, rsync (apt; Kubernetes' build copies its outputs with rsync)"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q golang-go dpkg-dev rsync; } >/tmp/phase-compose-kube-apt.log 2>&1 \
      || { tail -n 20 /tmp/phase-compose-kube-apt.log >&2; die "apt-get install golang-go failed"; }
  fi
  local work="$KCACHE/build"
  rm -rf "$work"; mkdir -p "$work"
  private_apt "$work/apt" deb-src
  log "fetching src:kubernetes through a private deb-src list (the system's sources are not changed)"
  { "${APT[@]}" update && (cd "$work" && "${APT[@]}" source --download-only kubernetes); } >"$work/apt.log" 2>&1 \
    || { tail -n 20 "$work/apt.log" >&2; die "apt-get source kubernetes failed (log: $work/apt.log)"; }
  (cd "$work" && dpkg-source -x --no-check ./kubernetes_*.dsc src) >"$work/unpack.log" 2>&1 \
    || { tail -n 20 "$work/unpack.log" >&2; die "dpkg-source -x failed"; }
  # As debian/rules: a GOPATH whose src/k8s.io/kubernetes is the tree, and a version file.
  mkdir -p "$work/gopath/src/k8s.io"
  ln -sfn "$work/src" "$work/gopath/src/k8s.io/kubernetes"
  cat >"$work/version" <<VER
KUBE_GIT_VERSION=v$KUBE_VERSION
KUBE_GIT_MAJOR=1
KUBE_GIT_MINOR=20
KUBE_GIT_TREE_STATE=clean
KUBE_GIT_COMMIT=debian
VER
  log "building ${want[*]} (about 5 minutes of CPU on 2 cores; log: $work/build.log)"
  local what; what=$(printf 'cmd/%s ' "${want[@]}")
  (cd "$work/gopath/src/k8s.io/kubernetes" && \
    env GOPATH="$work/gopath" GOCACHE="$work/gocache" GOPROXY=off CGO_ENABLED=0 KUBE_GIT_VERSION_FILE="$work/version" \
        make WHAT="${what% }") >"$work/build.log" 2>&1 \
    || { tail -n 30 "$work/build.log" >&2; die "make WHAT=$what failed (log: $work/build.log)"; }
  mkdir -p "$BIN.tmp"
  for b in "${want[@]}"; do
    cp "$work/src/_output/local/bin/linux/amd64/$b" "$BIN.tmp/$b" 2>/dev/null \
      || cp "$work/src/_output/bin/$b" "$BIN.tmp/$b" || die "built binary $b not found"
  done
  rm -rf "$BIN"; mv "$BIN.tmp" "$BIN"
  rm -rf "$work"   # 2.7 GB of tree and Go cache; the binaries are all that is kept
  log "built and cached in $BIN"
}

unpack_debs() {
  [ -x "$KCACHE/debs/usr/bin/etcd" ] && [ -x "$KCACHE/debs/usr/bin/kubectl" ] && [ -x "$KCACHE/debs/bin/busybox" ] \
    && [ -x "$KCACHE/debs/usr/lib/cni/bridge" ] && [ -x "$KCACHE/debs/usr/sbin/dnsmasq" ] && { log "etcd, kubectl 1.20, busybox, CNI plugins, dnsmasq cached"; return; }
  local work; work=$(mktemp -d /tmp/phase-compose-kube-debs.XXXXXX)
  private_apt "$work/apt" deb
  log "downloading etcd-server, kubernetes-client 1.20, busybox-static, containernetworking-plugins, dnsmasq-base"
  { "${APT[@]}" update && (cd "$work" && "${APT[@]}" download etcd-server kubernetes-client busybox-static containernetworking-plugins dnsmasq-base); } \
    >"$work/apt.log" 2>&1 || { tail -n 20 "$work/apt.log" >&2; die "apt-get download failed (log: $work/apt.log)"; }
  rm -rf "$KCACHE/debs.tmp"; mkdir -p "$KCACHE/debs.tmp"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$KCACHE/debs.tmp"; done
  rm -rf "$KCACHE/debs"; mv "$KCACHE/debs.tmp" "$KCACHE/debs"; rm -rf "$work"
  log "unpacked into $KCACHE/debs"
}

mkdir -p "$KCACHE"
if [ "$MODE" != stop ]; then
  unpack_debs
  build_kube
fi
[ "$MODE" = build ] && exit 0

# ---------------------------------------------------------------- 2. processes (pids recorded; stop kills only those)
PKI="$STATE/pki"; LOGS="$STATE/logs"; RUN="$STATE/run"
NETNS=pckube                      # the node's network namespace
HOST_IP=10.200.0.1                # host side of the veth pair: the apiserver's advertise address
NODE_IP=10.200.0.2                # the node's InternalIP (inside $NETNS)
SERVICE_CIDR=10.0.0.0/24          # the `kubernetes` Service is 10.0.0.1
POD_CIDR=10.244.0.0/24
NODE=pc-node
CTRD_SOCK="$STATE/containerd/containerd.sock"
KUBECONFIG_FILE="$STATE/admin.kubeconfig"
KUBECTL="$KCACHE/debs/usr/bin/kubectl"
mkdir -p "$PKI" "$LOGS" "$RUN"

# Running, and really ours: after a reboot or a killed session the recorded pid may belong to another
# process, so its command line must name this test bed's state or cache directory.
alive() {
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -e "$STATE/" -e "$KCACHE/"
}
start() { # <name> <argv...>: started in its own session, logs in $LOGS/<name>.log
  local name="$1"; shift
  if alive "$name"; then log "$name already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  setsid "$@" >"$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/$name.pid"
  log "started $name (pid $!; log $LOGS/$name.log)"
}
wait_for() { # <what> <seconds> <command...>
  local what="$1" secs="$2"; shift 2
  local end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "$what not ready after ${secs}s (logs: $LOGS)"
    sleep 0.5
  done
}
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
in_node() { nsenter --net="/run/netns/$NETNS" "$@"; }   # not `ip netns exec`: it remounts /sys (and hides the cgroups)

stop_all() {
  if alive containerd; then
    local t
    for t in $(ctr -a "$CTRD_SOCK" -n k8s.io tasks ls -q 2>/dev/null); do ctr -a "$CTRD_SOCK" -n k8s.io tasks kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
  fi
  local p
  for p in svc-dns dnsmasq kube-proxy kubelet containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if alive "$p"; then kill "$(cat "$RUN/$p.pid")" 2>/dev/null || true; log "stopped $p"; fi
    rm -f "$RUN/$p.pid"
  done
  sleep 1
  # Shims whose tasks outlived the kill above (seen after a CI run: redis and sleep pods still running an
  # hour later, beside the next benchmark): their containers' init processes, then the shims themselves.
  local shim
  for shim in $(pgrep -f -- "containerd-shim-runc-v2 -namespace k8s.io .*-address $CTRD_SOCK" || true); do
    pkill -KILL -P "$shim" 2>/dev/null || true
    kill -KILL "$shim" 2>/dev/null || true
    log "killed leftover shim $shim"
  done
  # Leftover mounts of pods (shm, volumes) under the state directory, deepest first.
  awk -v s="$STATE/" 'index($2, s) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -f "$STATE/env"
}
if [ "$MODE" = stop ]; then stop_all; exit 0; fi

# ---- certificates, service-account keys, the admin token (once per state directory)
if [ ! -s "$PKI/apiserver.crt" ]; then
  log "making a CA, the apiserver's certificate and the service-account key pair (openssl)"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=phase-compose-kube-ca -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
  cat >"$PKI/apiserver.ext" <<EXT
subjectAltName = IP:10.0.0.1, IP:127.0.0.1, IP:$HOST_IP, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
EXT
  openssl req -newkey rsa:2048 -nodes -subj /CN=kube-apiserver -keyout "$PKI/apiserver.key" -out "$PKI/apiserver.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/apiserver.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 3650 -extfile "$PKI/apiserver.ext" -out "$PKI/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  printf '%s,admin,admin,system:masters\n' "$(openssl rand -hex 24)" >"$PKI/tokens.csv"
  chmod 600 "$PKI"/*.key "$PKI/tokens.csv"
fi
TOKEN=$(cut -d, -f1 "$PKI/tokens.csv")
kubeconfig() { # <file> <server>; 0600 (a subshell: the umask must not reach containerd's snapshots)
  ( umask 077; cat >"$1" ) <<KC
apiVersion: v1
kind: Config
clusters: [{name: pc, cluster: {server: "$2", certificate-authority: "$PKI/ca.crt"}}]
users: [{name: admin, user: {token: "$TOKEN"}}]
contexts: [{name: pc, context: {cluster: pc, user: admin}}]
current-context: pc
KC
}
kubeconfig "$KUBECONFIG_FILE" https://127.0.0.1:6443
kubeconfig "$STATE/node.kubeconfig" "https://$HOST_IP:6443"

# ---- the node's network namespace (made first: the apiserver advertises the host side of its veth)
if [ ! -e "/run/netns/$NETNS" ]; then
  log "making network namespace $NETNS with a veth pair ($HOST_IP <-> $NODE_IP)"
  ip netns add "$NETNS"
  ip link add pck-host type veth peer name pck-node
  ip link set pck-node netns "$NETNS"
  ip addr add "$HOST_IP/30" dev pck-host
  ip link set pck-host up
  in_node ip link set lo up
  in_node ip addr add "$NODE_IP/30" dev pck-node
  in_node ip link set pck-node up
  in_node ip route add default via "$HOST_IP"
fi

# ---- etcd + kube-apiserver
mkdir -p "$STATE/etcd"
start etcd "$KCACHE/debs/usr/bin/etcd" --name pc --data-dir "$STATE/etcd" \
  --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
  --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
  --initial-cluster pc=http://127.0.0.1:23800
start kube-apiserver "$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:23790 \
  --bind-address=0.0.0.0 --secure-port=6443 --advertise-address="$HOST_IP" \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" --client-ca-file="$PKI/ca.crt" \
  --token-auth-file="$PKI/tokens.csv" --authorization-mode=Node,RBAC \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-cluster-ip-range="$SERVICE_CIDR" --allow-privileged=true \
  --kubelet-preferred-address-types=InternalIP --insecure-port=0 --feature-gates=TTLAfterFinished=true
wait_for "kube-apiserver" 60 kc get --raw /readyz
log "API server ready: $(kc version --short 2>/dev/null | tr '\n' ' ')"

if [ "$MODE" = api ]; then
  printf 'PHASE_COMPOSE_KUBE=%s\nPHASE_COMPOSE_KUBECTL=%s\n' "$KUBECONFIG_FILE" "$KUBECTL" | tee "$STATE/env"
  exit 0
fi

# ---------------------------------------------------------------- 3. the node
start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$KUBECONFIG_FILE" \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --leader-elect=false --bind-address=127.0.0.1 --secure-port=10257 --port=0 \
  --feature-gates=TTLAfterFinished=true --controllers='*,ttl-after-finished'
start kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$KUBECONFIG_FILE" --leader-elect=false \
  --bind-address=127.0.0.1 --secure-port=10259 --port=0

# A private containerd: its own socket, root and state; the Docker Engine's containerd is not touched.
mkdir -p "$STATE/containerd" "$STATE/cni/net.d"
cat >"$STATE/containerd/config.toml" <<TOML
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
[grpc]
  address = "$CTRD_SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/library/phase-compose-kube-pause:1"
  # The VM lacks CAP_SYS_RESOURCE: without this every sandbox fails (can't get final child's PID from pipe: EOF).
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$KCACHE/debs/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
TOML
cat >"$STATE/cni/net.d/10-pcnet.conflist" <<CNI
{"cniVersion": "0.4.0", "name": "pcnet", "plugins": [
  {"type": "bridge", "bridge": "pccni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
CNI
in_node sysctl -qw net.ipv4.ip_forward=1
in_node sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || modprobe br_netfilter 2>/dev/null || true
start containerd nsenter --net="/run/netns/$NETNS" containerd --config "$STATE/containerd/config.toml"
wait_for containerd 30 ctr -a "$CTRD_SOCK" version
CTR=(ctr -a "$CTRD_SOCK" -n k8s.io)

# The pause image, from Debian's busybox-static (no registry); the fixture images from the Docker Engine.
if ! "${CTR[@]}" images ls -q | grep -qx docker.io/library/phase-compose-kube-pause:1; then
  log "building the pause image from busybox-static"
  work=$(mktemp -d /tmp/phase-compose-kube-pause.XXXXXX)
  mkdir -p "$work/root/bin"; cp "$KCACHE/debs/bin/busybox" "$work/root/bin/busybox"
  tar -C "$work/root" -c . | docker import -c 'ENTRYPOINT ["/bin/busybox", "sleep", "2147483647"]' - phase-compose-kube-pause:1 >/dev/null
  docker save phase-compose-kube-pause:1 | "${CTR[@]}" images import - >/dev/null
  rm -rf "$work"
fi
for img in ${PHASE_COMPOSE_KUBE_IMAGES:-phase-compose-fixture-app:latest phase-compose-fixture-postgres:latest phase-compose-fixture-redis:latest}; do
  id=$(docker image inspect -f '{{.Id}}' "$img" 2>/dev/null) || { log "image $img not in the Docker Engine: skipped (run scripts/testbed.sh first)"; continue; }
  ref="docker.io/library/${img}"
  # The node has it when its manifest's config is the Engine's image (an image's ID is its config's digest;
  # `ctr images ls` shows the manifest's digest, which never equals it).
  digest=$("${CTR[@]}" images ls "name==$ref" 2>/dev/null | awk 'NR==2 {print $3}')
  have=$([ -n "$digest" ] && "${CTR[@]}" content get "$digest" 2>/dev/null | grep -o '"config":{[^}]*}' | grep -o 'sha256:[0-9a-f]\{64\}' || true)
  if [ "$have" = "$id" ]; then
    log "$img already in the node's containerd"
  else
    log "importing $img into the node's containerd"
    docker save "$img" | "${CTR[@]}" images import - >/dev/null
  fi
done

# The kubelet: cgroupfs driver, its cgroupRoot made in every v1 hierarchy first.
for h in /sys/fs/cgroup/*/; do [ -d "$h" ] && [ "$(basename "$h")" != unified ] && mkdir -p "$h/pckube" 2>/dev/null || true; done
mkdir -p "$STATE/kubelet"
cat >"$STATE/kubelet.yaml" <<KCFG
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupRoot: /pckube
clusterDNS: [$NODE_IP]
clusterDomain: cluster.local
failSwapOn: false
readOnlyPort: 0
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
KCFG
start kubelet nsenter --net="/run/netns/$NETNS" "$BIN/kubelet" --config="$STATE/kubelet.yaml" \
  --kubeconfig="$STATE/node.kubeconfig" --container-runtime=remote --container-runtime-endpoint="unix://$CTRD_SOCK" \
  --hostname-override="$NODE" --node-ip="$NODE_IP" --root-dir="$STATE/kubelet" --cert-dir="$STATE/kubelet/pki" --v=1
cat >"$STATE/kube-proxy.yaml" <<KP
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$STATE/node.kubeconfig"}
hostnameOverride: $NODE
mode: iptables
clusterCIDR: $POD_CIDR
conntrack: {maxPerCore: 0}
KP
start kube-proxy nsenter --net="/run/netns/$NETNS" "$BIN/kube-proxy" --config="$STATE/kube-proxy.yaml"

# No CoreDNS: dnsmasq (Debian's dnsmasq-base, unpacked) answers for <service>.<namespace>.svc.cluster.local
# from a hosts directory that a small loop keeps in step with the Services. An ExternalName Service
# (CoreDNS: a CNAME to its externalName) is answered with the address its target has here, a flattened
# CNAME, so only targets that are Services of this cluster resolve (the test bed is offline; dnsmasq's
# own --cname cannot be reloaded while it runs).
mkdir -p "$STATE/dns"
start dnsmasq nsenter --net="/run/netns/$NETNS" "$KCACHE/debs/usr/sbin/dnsmasq" --conf-file=/dev/null --keep-in-foreground --no-resolv --no-hosts \
  --listen-address="$NODE_IP" --bind-interfaces --hostsdir="$STATE/dns" --user=root --pid-file="$STATE/dnsmasq.pid" \
  --server=/cluster.local/ --local-ttl=1 --log-facility=-
# Written only when the loop is not running: a shell reads its script while it runs.
alive svc-dns || cat >"$STATE/svc-dns.sh" <<'LOOP'
#!/bin/sh
# Keeps $2/services (hosts format) in step with the cluster's Services; ExternalName ones get their target's address.
while :; do
  "$1" --kubeconfig "$3" get svc -A -o 'jsonpath={range .items[*]}{.spec.type}|{.spec.clusterIP}|{.spec.externalName}|{.metadata.name}.{.metadata.namespace}.svc.cluster.local{"\n"}{end}' >"$2/.services.tmp" 2>/dev/null \
    && awk -F'|' '$1 == "ExternalName" { ext[$4] = $3; next }
                  $2 != "" && $2 != "None" { ip[$4] = $2; print $2, $4 }
                  END { for (n in ext) { t = ext[n]; sub(/[.]$/, "", t); if (t in ip) print ip[t], n } }' "$2/.services.tmp" >"$2/.services.new" \
    && mv -f "$2/.services.new" "$2/services"
  sleep 1
done
LOOP
start svc-dns sh "$STATE/svc-dns.sh" "$KUBECTL" "$STATE/dns" "$KUBECONFIG_FILE"

wait_for "node $NODE registered" 90 kc get node "$NODE"
kc taint node "$NODE" node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
wait_for "node $NODE Ready" 120 sh -c "'$KUBECTL' --kubeconfig '$KUBECONFIG_FILE' get node $NODE -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
kc taint node "$NODE" node.kubernetes.io/not-ready:NoSchedule- >/dev/null 2>&1 || true
log "node $NODE Ready"
printf 'PHASE_COMPOSE_KUBE=%s\nPHASE_COMPOSE_KUBECTL=%s\nPHASE_COMPOSE_KUBE_NODE=1\nPHASE_COMPOSE_KUBE_NETNS=%s\nPHASE_COMPOSE_KUBE_CTRD=%s\n' "$KUBECONFIG_FILE" "$KUBECTL" "$NETNS" "$CTRD_SOCK" | tee "$STATE/env"
