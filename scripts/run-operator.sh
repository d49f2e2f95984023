#!/usr/bin/env bash
# `make run`: runs the operator against the current kube context. With no context configured
# ($KUBECONFIG unset and no ~/.kube/config), it first starts the embedded local control plane
# (test/harness/dev-cluster.ts) and stops it again when the operator exits.
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's own Node 24 and tools, also when called outside make.
export PATH="$PWD/node_modules/.bin:$PATH"

# Serve probes and metrics on loopback unless told otherwise: this is a workstation, not a pod.
probe=(--probe-address="${PROBE_ADDRESS:-127.0.0.1:8081}")
if [[ -n ${KUBECONFIG:-} || -f $HOME/.kube/config ]]; then
  exec node --import=tsx src/main.ts "${probe[@]}" "$@"
fi

echo "run-operator: no kube context configured; starting the local control plane (make dev-cluster)" >&2
bash test/controlplane/install.sh >&2
ready_file=$(mktemp -u "${TMPDIR:-/tmp}/zkop-dev-cluster.XXXXXX.json")
# node itself (tsx as a loader) so that signals reach the dev cluster directly.
node --import=tsx test/harness/dev-cluster.ts --ready-file "$ready_file" --stop-when-pid-exits $$ &
cluster_pid=$!
# Ctrl-C signals the whole process group, the dev cluster included: then only wait for it, since
# a second signal would cut its clean-up short. Otherwise (the operator exited), stop it.
interrupted=0
trap 'interrupted=1' INT TERM
stop_cluster() {
  ((interrupted)) || kill -TERM "$cluster_pid" 2>/dev/null
  wait "$cluster_pid" 2>/dev/null || true
}
trap stop_cluster EXIT
until [[ -s $ready_file ]]; do
  kill -0 "$cluster_pid" 2>/dev/null || { echo "run-operator: the local control plane failed to start" >&2; exit 1; }
  sleep 1
done
state=$(node -e 'const d = require(process.argv[1]); console.log(d.state === "ready" ? d.controlPlane.kubeconfigPath : "failed: " + d.error)' "$ready_file")
[[ $state == failed:* ]] && { echo "run-operator: local control plane $state" >&2; exit 1; }
export KUBECONFIG=$state
echo "run-operator: export KUBECONFIG=$KUBECONFIG   (in another shell, to use kubectl against it)" >&2
node --import=tsx src/main.ts "${probe[@]}" "$@"
