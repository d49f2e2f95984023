#!/usr/bin/env bash
# Smoke-test the installed control plane: etcd, kube-apiserver,
# kube-controller-manager and kube-scheduler on 127.0.0.1 and free ports, then
# kubectl and helm against it. It proves the binaries run together (static linking, version
# ldflags, flags of this release); the real harness is test/harness/ (TypeScript).
#   usage: test/controlplane/smoke.sh      (reads $ZKOP_CACHE_DIR/paths.env)
# Flags follow /work/shared/notes/test-control-plane.md sections 4 and 5.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${ZKOP_CACHE_DIR:-$HOME/.cache/zookeeper-operator}
# shellcheck disable=SC1091
source "$cache/paths.env"
: "${ETCD:?etcd not installed}" "${KUBE_APISERVER:?k8s not installed}"

work=$(mktemp -d "${TMPDIR:-/tmp}/cp-smoke.XXXXXX")
pids=()
cleanup() {
	local status=$? pid
	if ((status != 0)); then
		for f in "$work"/*.log; do
			[[ -f $f ]] || continue
			echo "---- tail of $(basename "$f")" >&2
			tail -20 "$f" >&2
		done
	fi
	# Reverse start order: scheduler, KCM, apiserver, etcd.
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[i]}
		kill "$pid" 2>/dev/null || continue
		for _ in {1..100}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
log() { printf '[smoke %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# shellcheck source=../lib/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/free-port.sh"
wait_for() { # <seconds> <description> <command...>
	local deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || { echo "timed out after ${deadline}s waiting for $what" >&2; return 1; }
		sleep 0.2
	done
}

# -- certificates (one CA for serving and client certs; fine for tests)
pki=$work/pki
mkdir -p "$pki"
(
	cd "$pki"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-keyout ca.key -out ca.crt -subj /CN=smoke-ca \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,digitalSignature
	sign() { # <name> <subject> <extensions>
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2"
		printf '%s\n' "$3" >"$1.ext"
		openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out "$1.crt" -extfile "$1.ext"
	}
	sign apiserver /CN=kube-apiserver "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,IP:10.0.0.1,DNS:kubernetes.default.svc"
	sign admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth"
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out sa.key
	openssl pkey -in sa.key -pubout -out sa.pub
) >"$work/openssl.log" 2>&1

free_port etcd_port 30000
free_port etcd_peer 30000
free_port api_port 30000
free_port scheduler_port 30000

b64() { base64 -w0 <"$1"; }
cat >"$work/admin.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: smoke
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: smoke
  context: {cluster: smoke, user: admin}
current-context: smoke
EOF
export KUBECONFIG=$work/admin.kubeconfig
# kubectl's and helm's discovery cache stays in the work dir, not in ~/.kube/cache.
export KUBECACHEDIR=$work/kube-cache

# -- etcd
start=$SECONDS
"$ETCD" --name=smoke --data-dir="$work/etcd" \
	--listen-client-urls="http://127.0.0.1:$etcd_port" --advertise-client-urls="http://127.0.0.1:$etcd_port" \
	--listen-peer-urls="http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls="http://127.0.0.1:$etcd_peer" \
	--initial-cluster="smoke=http://127.0.0.1:$etcd_peer" \
	--unsafe-no-fsync=true --quota-backend-bytes=1073741824 --log-level=warn >"$work/etcd.log" 2>&1 &
pids+=($!)
wait_for 30 "etcd /health" bash -c "curl -fsS http://127.0.0.1:$etcd_port/health | grep -q '\"health\":\"true\"'"
log "etcd ready after $((SECONDS - start))s: $(curl -fsS "http://127.0.0.1:$etcd_port/version")"

# -- kube-apiserver
start=$SECONDS
"$KUBE_APISERVER" --etcd-servers="http://127.0.0.1:$etcd_port" \
	--bind-address=127.0.0.1 --secure-port="$api_port" --advertise-address=127.0.0.1 \
	--endpoint-reconciler-type=none \
	--tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" --client-ca-file="$pki/ca.crt" \
	--service-account-issuer=https://kubernetes.default.svc.cluster.local \
	--service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
	--service-cluster-ip-range=10.0.0.0/24 --authorization-mode=RBAC --allow-privileged=true \
	--disable-admission-plugins=ServiceAccount --cert-dir="$work/apiserver-certs" --profiling=false --v=1 \
	>"$work/kube-apiserver.log" 2>&1 &
pids+=($!)
# 120 s: a busy 2-core machine can need 30-60 s.
wait_for 120 "kube-apiserver /readyz" curl -fsS --cacert "$pki/ca.crt" "https://127.0.0.1:$api_port/readyz"
version=$(curl -fsS --cacert "$pki/ca.crt" "https://127.0.0.1:$api_port/version")
grep -q "\"gitVersion\": \"$K8S_VERSION\"" <<<"$version" || { echo "unexpected /version: $version" >&2; exit 1; }
log "kube-apiserver ready after $((SECONDS - start))s; /version gitVersion $K8S_VERSION"

# -- kube-controller-manager
start=$SECONDS
"$KUBE_CONTROLLER_MANAGER" --kubeconfig="$KUBECONFIG" --leader-elect=false \
	--bind-address=127.0.0.1 --secure-port=0 \
	--service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
	--controllers='*,-endpoints-controller,-endpointslice-controller,-endpointslice-mirroring-controller' \
	--v=1 >"$work/kube-controller-manager.log" 2>&1 &
pids+=($!)
# root-ca-cert-publisher writes kube-root-ca.crt into every namespace.
wait_for 60 "kube-controller-manager (kube-root-ca.crt in default)" "$KUBECTL" get configmap kube-root-ca.crt -n default
log "kube-controller-manager working after $((SECONDS - start))s (published kube-root-ca.crt)"

# -- kube-scheduler (its self-signed serving cert is made in memory, hence -k;
# /readyz includes sched-handler-sync, i.e. its informers have synced)
start=$SECONDS
"${KUBE_SCHEDULER:?kube-scheduler not installed}" --kubeconfig="$KUBECONFIG" --leader-elect=false \
	--bind-address=127.0.0.1 --secure-port="$scheduler_port" --v=1 >"$work/kube-scheduler.log" 2>&1 &
pids+=($!)
wait_for 60 "kube-scheduler /readyz" curl -fsSk "https://127.0.0.1:$scheduler_port/readyz"
log "kube-scheduler ready after $((SECONDS - start))s"

# -- kubectl and helm against it
"$KUBECTL" create namespace smoke >/dev/null
"$KUBECTL" -n smoke create deployment smoke --image=example.invalid/none --replicas=1 >/dev/null
wait_for 60 "a ReplicaSet's Pod (deployment and replicaset controllers)" \
	bash -c "[[ -n \$('$KUBECTL' -n smoke get pods -o name) ]]"
log "kubectl: $("$KUBECTL" version 2>/dev/null | paste -sd' '); deployment -> pod $("$KUBECTL" -n smoke get pods -o name)"
# No nodes here: the scheduler proves it works by saying so.
wait_for 60 "the scheduler's FailedScheduling event" \
	bash -c "[[ -n \$('$KUBECTL' -n smoke get events --field-selector reason=FailedScheduling -o name) ]]"
log "kube-scheduler: $("$KUBECTL" -n smoke get events --field-selector reason=FailedScheduling -o jsonpath='{.items[0].message}')"
if [[ -n ${HELM:-} ]]; then
	"$HELM" list -A >/dev/null
	log "helm $("$HELM" version --template '{{.Version}}'): list -A against the apiserver OK"
fi
# Everything must listen on loopback only.
listeners=$(ss -Hltnp | grep -E "pid=($(IFS='|'; echo "${pids[*]}"))," | awk '{print $4}' | sort -u | paste -sd' ')
if grep -qvE '^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):' < <(tr ' ' '\n' <<<"$listeners"); then
	echo "listening beyond 127.0.0.1: $listeners" >&2
	exit 1
fi
log "listeners: $listeners"
log "control plane smoke test passed"
