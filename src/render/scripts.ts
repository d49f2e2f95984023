/**
 * The scripts each member runs: `start.sh` (identity checks, a writable config copy, then
 * ZooKeeper in the foreground) and `probe.sh` (liveness and readiness from ZooKeeper's own
 * answers). Both follow docs/design/pod-contract.md: every path comes from the environment,
 * so the same text runs in the official image and in the test kubelet's directories.
 */
import { OBSERVER_ID_BASE } from '../api/constants.js';
import type { ResolvedSpec } from '../api/defaults.js';
import { type ClusterRef, type MemberKind, objectNames } from './names.js';

/** How a member reads its server id from its pod name, and its role in a line it adds itself (`names.ts` has the mapping). */
const IDENTITY: Record<MemberKind, { comment: string; check: string; offset: number; role: string }> = {
  voter: {
    comment: "# Server id = pod ordinal + 1: the identity the operator's server.N lines use.",
    check: `[[ $pod_name =~ -([0-9]+)$ ]] || fail "cannot read a member ordinal from pod name '$pod_name' (expected <cluster>-<ordinal>)"`,
    offset: 1,
    role: 'participant',
  },
  observer: {
    comment: `# An observer: server id = ${OBSERVER_ID_BASE} + pod ordinal + 1, apart from the voters' ids.`,
    check: `[[ $pod_name =~ -observer-([0-9]+)$ ]] || fail "cannot read an observer ordinal from pod name '$pod_name' (expected <cluster>-observer-<ordinal>)"`,
    offset: OBSERVER_ID_BASE + 1,
    role: 'observer',
  },
};

/**
 * Start script. Rendered per cluster only to embed the member address suffix and ports, and per
 * kind of member: an observer reads another server id from its pod name and joins as an observer.
 */
export function renderStartScript(
  cluster: ClusterRef,
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'>,
  kind: MemberKind = 'voter',
): string {
  const memberSuffix = `${objectNames(cluster).headlessService}.${cluster.namespace}.svc.${spec.clusterDomain}`;
  const { quorum, election, client } = spec.ports;
  const identity = IDENTITY[kind];
  return `#!/usr/bin/env bash
# Starts one ZooKeeper member of ${cluster.namespace}/${cluster.name}. Rendered by zookeeper-operator.
set -euo pipefail

config_source=\${ZK_CONFIG_SOURCE:-/config}
conf_dir=\${ZOOCFGDIR:-/conf}
data_dir=\${ZK_DATA_DIR:-/data}
pod_name=\${ZK_POD_NAME:-$(hostname)}

fail() {
  echo "zookeeper-start: $*" >&2
  exit 1
}

${identity.comment}
${identity.check}
myid=$((10#\${BASH_REMATCH[1]} + ${identity.offset}))

mkdir -p "$data_dir" "$conf_dir"
bootstrapping=false
[[ $(cat "$config_source/bootstrap" 2>/dev/null || true) == true ]] && bootstrapping=true
if [[ -f $data_dir/myid ]]; then
  recorded=$(tr -d '[:space:]' <"$data_dir/myid")
  # A volume that belongs to another member must never vote as this one.
  [[ $recorded == "$myid" ]] ||
    fail "data directory $data_dir belongs to server $recorded, but pod $pod_name is server $myid; refusing to start. Attach the volume of server $myid, or delete this member's PersistentVolumeClaim so it re-syncs from the ensemble."
else
  # With zookeeper.db.autocreate=false an empty member syncs from the leader before it may vote.
  # Only the members of a brand-new ensemble may vote on an empty database.
  if $bootstrapping; then
    touch "$data_dir/initialize"
  fi
  echo "$myid" >"$data_dir/myid"
fi
# ZooKeeper removes the marker as it starts. One left by a first start that never got that far
# must not outlive the bootstrap: once the ensemble exists, this member syncs before it votes.
if [[ -f $data_dir/initialize ]] && ! $bootstrapping; then
  echo "zookeeper-start: removing the initialize marker of an interrupted first start; the ensemble exists, so server $myid syncs from the leader"
  rm -f "$data_dir/initialize"
fi

# ZooKeeper rewrites its config files on reconfig, so it runs from a writable copy. The rendered
# files are read-only (ConfigMap volume), and cp would keep that mode: write fresh files instead.
rm -f "$conf_dir/zoo.cfg" "$conf_dir/zoo.cfg.dynamic" "$conf_dir/logback.xml"
{
  cat "$config_source/zoo.cfg"
  echo "dataDir=$data_dir"
  echo "dynamicConfigFile=$conf_dir/zoo.cfg.dynamic"
} >"$conf_dir/zoo.cfg"
cat "$config_source/zoo.cfg.dynamic" >"$conf_dir/zoo.cfg.dynamic"
# A member that is joining is not in the committed membership yet: it starts with the
# committed voters plus itself and syncs as a non-voting follower until the operator adds it.
if ! grep -q "^server\\.$myid=" "$conf_dir/zoo.cfg.dynamic"; then
  echo "server.$myid=$pod_name.${memberSuffix}:${quorum}:${election}:${identity.role};0.0.0.0:${client}" >>"$conf_dir/zoo.cfg.dynamic"
fi
if [[ -f $config_source/logback.xml ]]; then
  cat "$config_source/logback.xml" >"$conf_dir/logback.xml"
fi

export ZOOCFGDIR=$conf_dir
# The operator's super user, so it can reconfigure membership with ACLs on.
if [[ -n \${ZK_SUPER_DIGEST:-} ]]; then
  export SERVER_JVMFLAGS="\${SERVER_JVMFLAGS:-} -Dzookeeper.DigestAuthenticationProvider.superDigest=\${ZK_SUPER_DIGEST}"
fi
echo "zookeeper-start: starting server $myid ($pod_name)"
exec zkServer.sh start-foreground "$conf_dir/zoo.cfg"
`;
}

/**
 * Probe script. \`live\`: the process answers (4lw ruok). \`ready\`: srvr reports the member
 * serving as leader, follower or observer. ruok alone says nothing about quorum: it answers
 * imok on a member that has none.
 */
export const PROBE_SCRIPT = `#!/usr/bin/env bash
# Liveness and readiness of a ZooKeeper member, from ZooKeeper's own answers. Rendered by zookeeper-operator.
#   probe.sh live    the server process answers: 4lw ruok replies imok
#   probe.sh ready   srvr reports Mode leader, follower or observer: it serves as part of a quorum
set -uo pipefail

ask() {
  local reply=''
  exec 3<>"/dev/tcp/127.0.0.1/\${ZK_CLIENT_PORT:-2181}" || return 1
  printf '%s' "$1" >&3
  read -r -t 5 -d '' reply <&3
  exec 3<&-
  printf '%s' "$reply"
}

case "\${1:-}" in
  live)
    [[ $(ask ruok) == imok ]]
    ;;
  ready)
    [[ $(ask srvr) =~ (^|$'\\n')Mode:\\ (leader|follower|observer) ]]
    ;;
  *)
    echo "usage: probe.sh live|ready" >&2
    exit 2
    ;;
esac
`;

/** Logging to stdout only, so the container runtime keeps the logs. */
export const LOGBACK_XML = `<configuration>
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} [myid:%X{myid}] %-5p [%t:%C{1}@%L] - %m%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="CONSOLE" />
  </root>
</configuration>
`;
