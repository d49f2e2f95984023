#!/usr/bin/env bash
# Regenerate test/controlplane/go/k8s/go.mod (and go.sum) for K8S_VERSION.
#
# Why a generator: k8s.io/kubernetes requires its staging modules at the fake
# version v0.0.0 and replaces them with ./staging/src/..., and a dependency's
# replace directives are ignored. The helper module therefore has to replace
# every staging module with its published v0.<minor>.<patch>. Each release can
# add staging modules (1.36 added cri-streaming and streaming), so the list is
# read from upstream's go.mod instead of being hard-coded.
#
# Run it only when bumping K8S_VERSION; commit the resulting go.mod and go.sum.
# install.sh does not run it: it builds from the committed files.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
mod_dir="$here/go/k8s"
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=mod"

mkdir -p "$mod_dir"
cd "$mod_dir"

upstream_mod=$(go list -m -f '{{.GoMod}}' "k8s.io/kubernetes@${K8S_VERSION}")
go_line=$(awk '$1 == "go" { print $2; exit }' "$upstream_mod")
godebug_default=$(awk '$1 == "godebug" && $2 ~ /^default=/ { print $2; exit }' "$upstream_mod")
# Block-form or single-line replaces: "<module> => ./staging/src/<module>".
mapfile -t staging < <(awk '$2 == "=>" && $3 ~ /^\.\/staging\/src\// { print $1 }
                            $1 == "replace" && $3 == "=>" && $4 ~ /^\.\/staging\/src\// { print $2 }' "$upstream_mod" | sort -u)
if ((${#staging[@]} == 0)); then
	echo "no staging replaces found in $upstream_mod" >&2
	exit 1
fi

rm -f go.mod go.sum
go mod init zookeeper-operator.local/testenv/k8s
go mod edit -go="$go_line"
# Only the main module's godebug lines set GODEBUG defaults; copy upstream's.
[[ -n $godebug_default ]] && go mod edit -godebug="$godebug_default"
for m in "${staging[@]}"; do
	go mod edit -replace="$m=$m@${K8S_STAGING_VERSION}"
done
go get "k8s.io/kubernetes@${K8S_VERSION}"
# The explicit @version matters: without it "go get -tool" resolves @latest and
# upgrades k8s.io/kubernetes.
go get -tool "k8s.io/kubernetes/cmd/kube-apiserver@${K8S_VERSION}" "k8s.io/kubernetes/cmd/kube-controller-manager@${K8S_VERSION}" \
	"k8s.io/kubernetes/cmd/kube-scheduler@${K8S_VERSION}" "k8s.io/kubernetes/cmd/kubectl@${K8S_VERSION}"
go mod tidy
echo "generated $mod_dir/go.mod: go $go_line, ${godebug_default:-no godebug}, ${#staging[@]} staging replaces"
