#!/usr/bin/env bash
# `make run`: runs the operator against the current kube context. With no context configured
# ($KUBECONFIG unset and no ~/.kube/config), it first starts the embedded local control plane
# (test/harness/dev-cluster.ts) and stops it again when the operator exits, on Ctrl-C and on
# SIGTERM, waiting until the dev cluster has removed everything of its own.
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
operator_pid=
# Ctrl-C signals the whole process group, so the dev cluster and the operator get SIGINT
# themselves. A SIGTERM may be for this script alone (make passes SIGTERM on to its child only),
# so it is passed on; a dev cluster that got it already takes the repeat as the same request.
signalled=0
trap 'signalled=130' INT
trap 'signalled=143; kill -TERM $operator_pid "$cluster_pid" 2>/dev/null || true' TERM
stop_cluster() {
  ((signalled)) || kill -TERM "$cluster_pid" 2>/dev/null || true
  # `wait` returns early when a trapped signal arrives (a second Ctrl-C, which makes the dev
  # cluster stop at once): wait on, so that make hands the terminal back only when it is gone.
  while kill -0 "$cluster_pid" 2>/dev/null; do wait "$cluster_pid" 2>/dev/null || true; done
  rm -f "$ready_file"
}
trap stop_cluster EXIT
until [[ -s $ready_file ]]; do
  ((signalled)) && exit "$signalled"
  kill -0 "$cluster_pid" 2>/dev/null || { echo "run-operator: the local control plane failed to start" >&2; exit 1; }
  sleep 0.5
done
state=$(node -e 'const d = require(process.argv[1]); console.log(d.state === "ready" ? d.controlPlane.kubeconfigPath : "failed: " + d.error)' "$ready_file")
[[ $state == failed:* ]] && { echo "run-operator: local control plane $state" >&2; exit 1; }
export KUBECONFIG=$state
echo "run-operator: export KUBECONFIG=$KUBECONFIG   (in another shell, to use kubectl against it)" >&2
# In the background, so that a SIGTERM is handled (and passed on) while the operator runs; node
# restores the SIGINT that bash ignores for background jobs, so Ctrl-C still reaches it.
node --import=tsx src/main.ts "${probe[@]}" "$@" &
operator_pid=$!
while kill -0 "$operator_pid" 2>/dev/null; do wait "$operator_pid" 2>/dev/null || true; done
operator_status=0
wait "$operator_pid" || operator_status=$?
exit $((signalled ? signalled : operator_status))
