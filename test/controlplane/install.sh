#!/usr/bin/env bash
# Install the binaries the integration and e2e tests run for real, into a cache
# outside the repo (nothing here is committed):
#
#   $ZKOP_CACHE_DIR (default ~/.cache/zookeeper-operator)
#     k8s-v1.36.3/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubectl}
#     etcd-v3.6.14/bin/etcd
#     helm-v4.3.1/bin/helm
#     promtool-v0.316.0/bin/promtool   (checks and unit-tests the chart's alert rules)
#     cert-manager-v1.11.5/bin/cert-manager-controller, crds/crd-*.yaml   (tests of Certificates from a user's issuer)
#     zookeeper-3.9.4/{bin/zkServer.sh,bin/zkCli.sh,conf/logback.xml,lib/*.jar}
#     zookeeper-3.8.6/...
#     paths.env           KEY=absolute path, for the TypeScript harness and shells
#
# Versions live in test/controlplane/versions.env. There is no Docker on these
# machines and only package registries are reachable, so Kubernetes, etcd and
# helm are compiled from the Go module proxy (pinned by the helper modules under
# test/controlplane/go/, go.sum committed) and ZooKeeper's jars come from Maven
# Central (test/zookeeper/pom.xml).
#
# usage: test/controlplane/install.sh [k8s] [etcd] [helm] [promtool] [cert-manager] [zookeeper]   (default: all)
#
# A component is skipped when its marker file matches the current inputs and
# its binary reports the wanted version. Each component is built in a temporary
# directory next to its final place and renamed into place only after it has
# been verified, so an interrupted run never leaves something that looks
# complete. Measured on 2 cores: the first run takes 11-25 minutes (kube-apiserver
# and friends 6-17, helm 2-5, cert-manager 2.5, etcd 0.5-1, ZooKeeper < 1; GOCACHE
# ends at 4.2 GB, GOMODCACHE 1.4 GB, plus 1.1 GB and 1.6 GB for cert-manager's own
# module graph); later runs take a few seconds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache=${ZKOP_CACHE_DIR:-$HOME/.cache/zookeeper-operator}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

all_components=(k8s etcd helm promtool cert-manager zookeeper)
if (($# == 0)); then
	components=("${all_components[@]}")
else
	components=("$@")
	for c in "${components[@]}"; do
		[[ " ${all_components[*]} " == *" $c "* ]] || {
			echo "unknown component '$c' (expected: ${all_components[*]})" >&2
			exit 2
		}
	done
fi
want() { [[ " ${components[*]} " == *" $1 "* ]]; }

log() { printf '[install %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() {
	printf '[install] ERROR: %s\n' "$*" >&2
	exit 1
}

# One installer at a time per cache (parallel CI jobs on one machine would
# otherwise build the same thing twice and race on the rename).
exec 9>"$cache/.install.lock"
if ! flock -n 9; then
	log "another install.sh holds $cache/.install.lock; waiting"
	flock 9
fi
# Leftovers of interrupted runs; safe to remove while holding the lock.
rm -rf "$cache"/.build-* "$cache"/.old-*

build_dirs=()
cleanup() { ((${#build_dirs[@]} == 0)) || rm -rf "${build_dirs[@]}"; }
trap cleanup EXIT
# Turn INT/TERM into a normal exit so the EXIT trap removes the build dirs too
# (anything left behind has no marker and is removed by the next run anyway).
trap 'exit 130' INT
trap 'exit 143' TERM

# new_build_dir <variable> <name>: sets <variable> to an empty directory on the
# cache's filesystem, so the final rename is atomic. (Not $(...): the subshell
# would lose the build_dirs entry that the EXIT trap cleans up.)
new_build_dir() {
	local d
	d=$(mktemp -d "$cache/.build-$2.XXXXXX")
	build_dirs+=("$d")
	printf -v "$1" '%s' "$d"
}

# move_into_place <build dir> <final dir>: replace the final directory by the
# verified build. rename(2) of a directory is atomic; the stale copy, if any,
# is first moved aside (a window of a few microseconds without the component,
# never a half-written one).
move_into_place() {
	local src=$1 dst=$2 old
	chmod 0755 "$src" # mktemp -d creates 0700; the tests may run as another user
	if [[ -e $dst ]]; then
		old=$(mktemp -d "$cache/.old-$(basename "$dst").XXXXXX")
		mv "$dst" "$old/"
		mv "$src" "$dst"
		rm -rf "$old"
	else
		mv "$src" "$dst"
	fi
}

# is_complete <dir> <fingerprint> <verify function>
is_complete() {
	[[ -f $1/.complete && $(<"$1/.complete") == "$2" ]] && "$3" "$1" >/dev/null 2>&1
}

fingerprint() { # <text> <files...>: what a component's result depends on
	{
		printf '%s\n' "$1"
		shift
		cat "$@"
	} | sha256sum | cut -d' ' -f1
}

# ---------------------------------------------------------------- prerequisites

apt_install() { # <packages...>: only used when a tool is missing
	local sudo=
	((EUID == 0)) || sudo=sudo
	command -v apt-get >/dev/null || die "missing $*; install them (no apt-get here)"
	log "apt-get install $*"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

need_go=false
{ want k8s || want etcd || want helm || want promtool || want cert-manager; } && need_go=true
if $need_go; then
	command -v go >/dev/null || die "go not found; Go >= 1.26 is needed (reference toolchain go1.26.8)"
	# GOTOOLCHAIN=local: a module that needs a newer Go then fails loudly instead
	# of silently downloading a toolchain. CGO_ENABLED=0: static binaries, as
	# upstream links the control plane. GOPROXY/GOSUMDB are the machine's own.
	export GOTOOLCHAIN=local CGO_ENABLED=0
	log "$(go version)"
	log "go env GOPROXY GOSUMDB GOFLAGS GOTOOLCHAIN: $(go env GOPROXY GOSUMDB GOFLAGS GOTOOLCHAIN | paste -sd' ')"
	gomodcache=$(go env GOMODCACHE)
	gocache=$(go env GOCACHE)
	go_version=$(go env GOVERSION)
fi
if want zookeeper; then
	missing=()
	command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
	command -v mvn >/dev/null || missing+=(maven)
	command -v curl >/dev/null || missing+=(curl)
	command -v ss >/dev/null || missing+=(iproute2)
	((${#missing[@]} == 0)) || apt_install "${missing[@]}"
	log "$(java -version 2>&1 | head -1); $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g')"
fi

# Free disk (measured cold): GOCACHE 4.2 GB, GOMODCACHE 1.4 GB, binaries 0.37 GB, and
# for cert-manager alone GOCACHE 1.1 GB, GOMODCACHE 1.6 GB, 61 MB in the cache;
# the ZooKeeper jars are 33 MB plus ~50 MB in the Maven repository.
check_disk() { # <dir> <GiB>
	local d=$1 need=$2 avail
	while [[ ! -d $d ]]; do d=$(dirname "$d"); done
	avail=$(df -Pk "$d" | awk 'NR == 2 { print int($4 / 1048576) }')
	log "free disk at $d: ${avail} GiB (want >= ${need} GiB)"
	((avail >= need)) || die "not enough free disk at $d: ${avail} GiB < ${need} GiB"
}
check_disk "$cache" 2
if $need_go; then
	check_disk "$gocache" 6
	check_disk "$gomodcache" 3
fi

declare -A took=()
built_go=() # Go components (re)built by this run; see the smoke test at the end
timed() { # <label> <command...>
	local label=$1 start=$SECONDS
	shift
	"$@"
	took[$label]=$((SECONDS - start))
}

# ------------------------------------------------------------------- Kubernetes

k8s_dir=$cache/k8s-$K8S_VERSION
k8s_minor=${K8S_VERSION#v}
k8s_minor=${k8s_minor#*.}
k8s_minor=${k8s_minor%%.*}
# Mandatory: without them /version reports v0.0.0-master+$Format:%H$, which
# breaks helm's kubeVersion checks and the apiserver's emulation-version logic.
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
	k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$BUILD_DATE"
done

verify_k8s() {
	local out
	out=$("$1/bin/kube-apiserver" --version) && [[ $out == "Kubernetes $K8S_VERSION" ]] || return 1
	out=$("$1/bin/kube-controller-manager" --version) && [[ $out == "Kubernetes $K8S_VERSION" ]] || return 1
	out=$("$1/bin/kube-scheduler" --version) && [[ $out == "Kubernetes $K8S_VERSION" ]] || return 1
	out=$("$1/bin/kubectl" version --client 2>/dev/null) && [[ $out == *"Client Version: $K8S_VERSION"* ]] || return 1
	echo "kube-apiserver/kube-controller-manager/kube-scheduler/kubectl report $K8S_VERSION"
}

install_k8s() {
	local mod=$here/go/k8s fp tmp
	fp=$(fingerprint "$go_version $k8s_ldflags" "$mod/go.mod" "$mod/go.sum")
	if is_complete "$k8s_dir" "$fp" verify_k8s; then
		log "k8s $K8S_VERSION: up to date in $k8s_dir"
		return
	fi
	new_build_dir tmp "k8s-$K8S_VERSION"
	mkdir -p "$tmp/bin"
	log "k8s $K8S_VERSION: building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (cold: 6-17 min on 2 cores)"
	# One invocation so that the shared packages compile once. The real
	# kube-scheduler places pods on the process kubelet's nodes. -buildvcs=false:
	# the helper module sits in our git checkout, whose state must not end up in
	# the binaries.
	(cd "$mod" && go build -buildvcs=false -trimpath -ldflags "$k8s_ldflags" -o "$tmp/bin/" \
		k8s.io/kubernetes/cmd/kube-apiserver \
		k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler \
		k8s.io/kubernetes/cmd/kubectl)
	verify_k8s "$tmp" || die "k8s: built binaries do not report $K8S_VERSION: $("$tmp/bin/kube-apiserver" --version 2>&1)"
	echo "$fp" >"$tmp/.complete"
	move_into_place "$tmp" "$k8s_dir"
	log "k8s $K8S_VERSION: installed in $k8s_dir"
	built_go+=(k8s)
}

# ------------------------------------------------------------------------- etcd

etcd_dir=$cache/etcd-$ETCD_VERSION
etcd_ldflags="-s -w"

verify_etcd() {
	local out
	out=$("$1/bin/etcd" --version) && [[ $out == *"etcd Version: ${ETCD_VERSION#v}"* ]] || return 1
	echo "etcd reports ${ETCD_VERSION#v}"
}

install_etcd() {
	local mod=$here/go/etcd fp tmp
	fp=$(fingerprint "$go_version $etcd_ldflags" "$mod/go.mod" "$mod/go.sum")
	if is_complete "$etcd_dir" "$fp" verify_etcd; then
		log "etcd $ETCD_VERSION: up to date in $etcd_dir"
		return
	fi
	new_build_dir tmp "etcd-$ETCD_VERSION"
	mkdir -p "$tmp/bin"
	log "etcd $ETCD_VERSION: building"
	# A separate module from k8s so that MVS does not move grpc/otel/bbolt
	# between the two graphs. `go install ...@v3.6.14` is refused (etcd's
	# go.mod has replace directives). The version string is a constant in
	# go.etcd.io/etcd/api/v3/version, so no -X is needed.
	(cd "$mod" && go build -buildvcs=false -trimpath -ldflags "$etcd_ldflags" -o "$tmp/bin/etcd" go.etcd.io/etcd/server/v3)
	verify_etcd "$tmp" || die "etcd: built binary does not report $ETCD_VERSION: $("$tmp/bin/etcd" --version 2>&1)"
	echo "$fp" >"$tmp/.complete"
	move_into_place "$tmp" "$etcd_dir"
	log "etcd $ETCD_VERSION: installed in $etcd_dir"
	built_go+=(etcd)
}

# ------------------------------------------------------------------------- helm

helm_dir=$cache/helm-$HELM_VERSION
# Without -X, `helm version` says "v4.3". Helm's default kube version for
# template/lint comes from client-go's build info, which a module build keeps.
helm_ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean"

verify_helm() {
	local out
	out=$("$1/bin/helm" version --template '{{.Version}}') && [[ $out == "$HELM_VERSION" ]] || return 1
	echo "helm reports $HELM_VERSION"
}

# install_go_command <name> <version> <dir> <ldflags> <package> <verify> [<binary> [<add files> <recipe>]]:
# builds one command of the helper module go/<name> into <dir>/bin/<binary> (default: the
# package's last element), unless the cached copy has the same fingerprint and passes <verify>.
# <add files> <build dir> <module dir>, if given, puts further files into the build before it is
# verified; <recipe> is what those files depend on besides the module (it goes into the
# fingerprint). Sets go_command_built=1 when it built.
install_go_command() {
	local name=$1 version=$2 dir=$3 ldflags=$4 package=$5 verify=$6 binary=${7:-${5##*/}} add_files=${8:-} recipe=${9:-}
	local mod=$here/go/$name fp tmp
	go_command_built=0
	# Without a recipe the text is what it was before recipes existed, so caches stay valid.
	fp=$(fingerprint "$go_version $ldflags${recipe:+ $recipe}" "$mod/go.mod" "$mod/go.sum")
	if is_complete "$dir" "$fp" "$verify"; then
		log "$name $version: up to date in $dir"
		return
	fi
	new_build_dir tmp "$name-$version"
	mkdir -p "$tmp/bin"
	log "$name $version: building"
	(cd "$mod" && go build -buildvcs=false -trimpath -ldflags "$ldflags" -o "$tmp/bin/$binary" "$package")
	if [[ -n $add_files ]]; then "$add_files" "$tmp" "$mod"; fi
	"$verify" "$tmp" || die "$name: the built $binary does not report $version (or its files are incomplete)"
	echo "$fp" >"$tmp/.complete"
	move_into_place "$tmp" "$dir"
	log "$name $version: installed in $dir"
	go_command_built=1
}

install_helm() {
	install_go_command helm "$HELM_VERSION" "$helm_dir" "$helm_ldflags" helm.sh/helm/v4/cmd/helm verify_helm
	if ((go_command_built)); then built_go+=(helm); fi
}

# --------------------------------------------------------------------- promtool

promtool_dir=$cache/promtool-$PROMETHEUS_VERSION
promtool_ldflags="-s -w -X github.com/prometheus/common/version.Version=$PROMETHEUS_VERSION"

verify_promtool() {
	local out
	out=$("$1/bin/promtool" --version 2>&1) && [[ $out == *"version $PROMETHEUS_VERSION"* ]] || return 1
	echo "promtool reports $PROMETHEUS_VERSION"
}

install_promtool() {
	install_go_command promtool "$PROMETHEUS_VERSION" "$promtool_dir" "$promtool_ldflags" \
		github.com/prometheus/prometheus/cmd/promtool verify_promtool
}

# ----------------------------------------------------------------- cert-manager

# The controller alone (no webhook, no cainjector): tests of the Certificates the operator asks
# a user's Issuer or ClusterIssuer for run it against the test control plane
# (test/support/cert-manager.ts). Why v1.11.5: see versions.env.
cert_manager_dir=$cache/cert-manager-$CERT_MANAGER_VERSION
# Without -X the controller calls itself "canary" (in its start-up log line and User-Agent).
cert_manager_ldflags="-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CERT_MANAGER_VERSION"
# The CRDs a namespaced controller with the issuers, certificates-* and certificaterequests-*
# controllers watches. The module's deploy/crds/ are the sources of cert-manager's Helm chart:
# their labels are template expressions, which are no valid label values. The edit gives them
# the values cert-manager's own static manifest (cert-manager.crds.yaml) has.
cert_manager_crds=(certificates certificaterequests issuers clusterissuers)
cert_manager_crd_edit="s/'{{ template \"cert-manager.name\" . }}'/cert-manager/
s/'{{ .Release.Name }}'/cert-manager/
s/# Generated labels {{- include \"labels\" . | nindent 4 }}/app.kubernetes.io\/version: \"$CERT_MANAGER_VERSION\"/"

verify_cert_manager() {
	local out crd
	for crd in "${cert_manager_crds[@]}"; do
		grep -q "^  name: $crd.cert-manager.io\$" "$1/crds/crd-$crd.yaml" || return 1
		! grep -q '{{' "$1/crds/crd-$crd.yaml" || return 1
	done
	# It logs its version first thing, then fails on the kubeconfig path (which cannot exist).
	out=$(timeout 30 "$1/bin/cert-manager-controller" --v=2 --kubeconfig=/dev/null/kubeconfig --leader-elect=false \
		--metrics-listen-address=127.0.0.1:0 2>&1) || true
	[[ $out == *'"version"="'"$CERT_MANAGER_VERSION"'"'* ]] || return 1
	echo "cert-manager-controller reports $CERT_MANAGER_VERSION; CRDs: ${cert_manager_crds[*]}"
}

add_cert_manager_crds() { # <build dir> <module dir>: the CRDs, from the module cache
	local source crd
	source=$(cd "$2" && go mod download github.com/cert-manager/cert-manager &&
		go list -m -f '{{.Dir}}' github.com/cert-manager/cert-manager)
	[[ -d $source/deploy/crds ]] || die "cert-manager: no deploy/crds in the module ($source)"
	mkdir -p "$1/crds"
	for crd in "${cert_manager_crds[@]}"; do
		sed "$cert_manager_crd_edit" "$source/deploy/crds/crd-$crd.yaml" >"$1/crds/crd-$crd.yaml"
	done
	chmod 0644 "$1"/crds/*.yaml
}

install_cert_manager() {
	install_go_command cert-manager "$CERT_MANAGER_VERSION" "$cert_manager_dir" "$cert_manager_ldflags" \
		github.com/cert-manager/cert-manager/cmd/controller verify_cert_manager cert-manager-controller \
		add_cert_manager_crds "${cert_manager_crds[*]} $cert_manager_crd_edit"
}

# -------------------------------------------------------------------- ZooKeeper

zk_src=$repo/test/zookeeper
IFS=, read -r -a zk_versions <<<"$ZOOKEEPER_VERSIONS"

zk_prometheus_version() { # <zk version>: see ZOOKEEPER_PROMETHEUS_METRICS_* in versions.env
	local var=ZOOKEEPER_PROMETHEUS_METRICS_${1//./_}
	echo "${!var:-$1}"
}

verify_zookeeper() { # <dist>: jars present and the server jar is the wanted version
	local v
	v=$(<"$1/VERSION") || return 1
	[[ -x $1/bin/zkServer.sh && -f $1/lib/zookeeper-$v.jar && -f $1/lib/zookeeper-jute-$v.jar ]] || return 1
	echo "zookeeper-$v.jar present"
}

install_zookeeper() { # <version>
	local v=$1 dir=$cache/zookeeper-$1 pv fp tmp
	pv=$(zk_prometheus_version "$v")
	fp=$(fingerprint "$v $pv" "$zk_src/pom.xml" "$zk_src/zkServer.sh" "$zk_src/zkCli.sh" "$zk_src/logback.xml")
	if is_complete "$dir" "$fp" verify_zookeeper; then
		log "zookeeper $v: up to date in $dir"
		return
	fi
	new_build_dir tmp "zookeeper-$v"
	mkdir -p "$tmp/bin" "$tmp/conf" "$tmp/lib"
	log "zookeeper $v: resolving jars from Maven Central (zookeeper-prometheus-metrics $pv)"
	# copy-dependencies fills lib/ like the release tarball's lib/; the versions
	# of the third-party jars come from the release's own parent pom (a BOM
	# import in pom.xml). The line (3.8/3.9) selects the jline artifact.
	# (Maven 3.8 prints colour resets even in batch mode; the sed drops them.)
	mvn -B -q --no-transfer-progress -f "$zk_src/pom.xml" \
		-Dzookeeper.version="$v" -Dzookeeper.line="${v%.*}" -Dzookeeper.prometheus.version="$pv" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib" |
		sed 's/\x1b\[[0-9;]*m//g'
	install -m 0755 "$zk_src/zkServer.sh" "$zk_src/zkCli.sh" "$tmp/bin/"
	install -m 0644 "$zk_src/logback.xml" "$tmp/conf/"
	echo "$v" >"$tmp/VERSION"
	verify_zookeeper "$tmp" >/dev/null || die "zookeeper $v: lib/ lacks zookeeper-$v.jar"
	# Start a real member from the temporary dist before calling it complete.
	log "zookeeper $v: smoke test (srvr, /commands/mntr, /metrics, zkCli)"
	"$zk_src/smoke.sh" "$tmp" "$v"
	echo "$fp" >"$tmp/.complete"
	move_into_place "$tmp" "$dir"
	log "zookeeper $v: installed in $dir"
}

# ------------------------------------------------------------------------- main

total_start=$SECONDS
if want k8s; then timed "k8s $K8S_VERSION" install_k8s; fi
if want etcd; then timed "etcd $ETCD_VERSION" install_etcd; fi
if want helm; then timed "helm $HELM_VERSION" install_helm; fi
if want promtool; then timed "promtool $PROMETHEUS_VERSION" install_promtool; fi
if want cert-manager; then timed "cert-manager $CERT_MANAGER_VERSION" install_cert_manager; fi
if want zookeeper; then
	for v in "${zk_versions[@]}"; do
		timed "zookeeper $v" install_zookeeper "$v"
	done
fi

# paths.env: every installed component's paths, as KEY=absolute path lines
# (no quoting, no spaces expected). Written atomically; components that are
# not complete are left out.
paths_tmp=$(mktemp "$cache/.build-paths.XXXXXX")
build_dirs+=("$paths_tmp")
{
	echo "# Generated by test/controlplane/install.sh; do not edit."
	echo "ZKOP_CACHE_DIR=$cache"
	if [[ -f $k8s_dir/.complete ]]; then
		echo "KUBE_APISERVER=$k8s_dir/bin/kube-apiserver"
		echo "KUBE_CONTROLLER_MANAGER=$k8s_dir/bin/kube-controller-manager"
		echo "KUBE_SCHEDULER=$k8s_dir/bin/kube-scheduler"
		echo "KUBECTL=$k8s_dir/bin/kubectl"
	fi
	if [[ -f $etcd_dir/.complete ]]; then echo "ETCD=$etcd_dir/bin/etcd"; fi
	if [[ -f $helm_dir/.complete ]]; then echo "HELM=$helm_dir/bin/helm"; fi
	if [[ -f $promtool_dir/.complete ]]; then echo "PROMTOOL=$promtool_dir/bin/promtool"; fi
	if [[ -f $cert_manager_dir/.complete ]]; then
		echo "CERT_MANAGER_CONTROLLER=$cert_manager_dir/bin/cert-manager-controller"
		echo "CERT_MANAGER_CRDS=$cert_manager_dir/crds"
	fi
	for v in "${zk_versions[@]}"; do
		if [[ -f $cache/zookeeper-$v/.complete ]]; then
			echo "ZOOKEEPER_HOME_${v//./_}=$cache/zookeeper-$v"
			if [[ $v == "$ZOOKEEPER_DEFAULT_VERSION" ]]; then echo "ZOOKEEPER_HOME=$cache/zookeeper-$v"; fi
		fi
	done
} >"$paths_tmp"
chmod 0644 "$paths_tmp"
mv "$paths_tmp" "$cache/paths.env"
log "wrote $cache/paths.env:"
sed -n '2,$p' "$cache/paths.env" | sed 's/^/    /'

# Start etcd, kube-apiserver and kube-controller-manager once and drive them
# with kubectl and helm (~10 s) whenever one of them was rebuilt.
# ZKOP_SMOKE=1 forces the check, ZKOP_SMOKE=0 skips it.
smoke=${ZKOP_SMOKE:-auto}
if [[ $smoke == auto ]]; then
	smoke=0
	if ((${#built_go[@]} > 0)) && [[ -f $k8s_dir/.complete && -f $etcd_dir/.complete ]]; then smoke=1; fi
fi
if [[ $smoke == 1 ]]; then
	log "control plane smoke test (rebuilt: ${built_go[*]:-none})"
	timed "control plane smoke" env ZKOP_CACHE_DIR="$cache" "$here/smoke.sh"
fi

log "timings (seconds):"
for label in "${!took[@]}"; do
	printf '    %-22s %5d\n' "$label" "${took[$label]}"
done | sort
printf '    %-22s %5d\n' total $((SECONDS - total_start))
if [[ ${ZKOP_INSTALL_DU:-1} == 1 ]]; then
	log "disk usage:"
	m2=$(sed -n 's/.*-Dmaven\.repo\.local=\([^ ]*\).*/\1/p' <<<"${MAVEN_OPTS:-}")
	# A report only: a directory this run never needed (no Go build, a fresh HOME) is no error.
	du -sh "$cache" ${gomodcache:+"$gomodcache"} ${gocache:+"$gocache"} "${m2:-$HOME/.m2/repository}" 2>/dev/null | sed 's/^/    /' || true
fi
