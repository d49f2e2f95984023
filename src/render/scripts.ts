/**
 * The scripts each member runs: `start.sh` (identity checks, a writable config copy, then
 * ZooKeeper in the foreground) and `probe.sh` (liveness and readiness from ZooKeeper's own
 * answers). Both follow docs/design/pod-contract.md: every path comes from the environment,
 * so the same text runs in the official image and in the test kubelet's directories.
 */
import { OBSERVER_ID_BASE, RESERVED_SASL_USER } from '../api/constants.js';
import type { ResolvedSpec } from '../api/defaults.js';
import { LOOPBACK_CLIENT_ADDRESS, servesSecureClientPort, type TlsPhase, usesCertificates } from '../api/tls-phases.js';
import { TRUSTED_CLIENT_CAS_KEY } from '../api/tls-schema.js';
import { type ClusterRef, type MemberKind, objectNames } from './names.js';
import { memberKeyStoreKey, TRUST_BUNDLE_KEY } from './tls-secrets.js';

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
 * The start script's TLS part: the member's key store and the CA bundle copied out of the Secret
 * volume into files ZooKeeper reads, and kept current. ZooKeeper reloads a store when its file is
 * replaced by a rename in the directory it watches; a Secret volume swaps its `..data` link
 * instead, which ZooKeeper 3.8 does not notice. So ZooKeeper reads these copies, and a loop in
 * the background replaces them, by rename, when the Secret changed. A function, not a constant:
 * `tls-secrets.ts` reaches this module through `cluster.ts`, so its names exist only once loaded.
 */
const tlsFiles = (
  trustedClientCAs: boolean,
): string => `# TLS: ZooKeeper reads copies of the Secret volumes' files, replaced by a rename when a Secret
# changes (ZooKeeper 3.8 does not notice the volume's own ..data swap). Members trust the cluster
# CA for each other, and for clients also the CAs of spec.tls.trustedClientCAs.
tls_source=\${ZK_TLS_SOURCE:-/tls}
tls_dir=$conf_dir/tls
key_store=$tls_dir/keystore.pem
trust_store=$tls_dir/truststore.pem
client_trust_store=$tls_dir/client-truststore.pem
# Writes the files after $1, joined, over $1 by a rename unless unchanged; fails while one is missing or empty.
install_tls_file() {
  local target=$1 source
  shift
  for source in "$@"; do [[ -s $source ]] || return 1; done
  (umask 077 && cat "$@" >"$target.new") || {
    rm -f "$target.new"
    return 1
  }
  if cmp -s "$target.new" "$target"; then rm -f "$target.new"; else mv -f "$target.new" "$target"; fi
}
install_tls_files() {
  install_tls_file "$key_store" "$tls_source/${memberKeyStoreKey('$pod_name')}" &&
    install_tls_file "$trust_store" "$tls_source/${TRUST_BUNDLE_KEY}" &&
    install_tls_file "$client_trust_store" "$tls_source/${TRUST_BUNDLE_KEY}"${trustedClientCAs ? ` "\${ZK_CLIENT_CAS_SOURCE:-/client-cas}/${TRUSTED_CLIENT_CAS_KEY}"` : ''}
}
mkdir -p "$tls_dir"
# The operator issues a new member's certificate as its pod appears; the volume shows it a little later.
for ((waited = 0; ; waited += 2)); do
  install_tls_files && break
  ((waited < 300)) ||
    fail "no key store for $pod_name in $tls_source after 300 s: the operator issues it into the cluster's -tls Secret; check the cluster's Events"
  sleep 2
done
# Checked every ZK_TLS_CHECK_SECONDS (10); its output would only repeat ZooKeeper's own reload logs.
(while sleep "\${ZK_TLS_CHECK_SECONDS:-10}"; do install_tls_files || true; done) </dev/null >/dev/null 2>&1 &

`;

/** Where the start script writes the members' JAAS file, in the writable config directory. */
export const JAAS_FILE_NAME = 'jaas.conf';

/**
 * The start script's SASL part: one JAAS option `user_<name>="<password>"` per key of the users'
 * Secret volume, in ZooKeeper's `Server` section. ZooKeeper reads it only at start, so the
 * operator rolls the members when the Secret changes. Each password is written as a JAAS quoted
 * string (backslash, quote and line breaks escaped); what JAAS cannot hold is refused with the
 * user's name, never the password: a NUL byte, an empty password, and `${`, which JAAS expands as
 * a system property. The user `super` is refused: the super user is the operator's alone.
 */
const digestUsersFiles =
  (): string => `# SASL DIGEST-MD5 users: the Secret's keys are user names, its values passwords. ZooKeeper reads
# them at start only; the file holds passwords, so only this user may read it.
users_source=\${ZK_DIGEST_USERS_SOURCE:-/digest-users}
jaas_file=$conf_dir/${JAAS_FILE_NAME}
# $1 as the inside of a JAAS quoted string: backslashes, quotes and line breaks escaped.
jaas_quoted() {
  local value=$1
  value=\${value//\\\\/\\\\\\\\}
  value=\${value//\\"/\\\\\\"}
  value=\${value//$'\\n'/\\\\n}
  value=\${value//$'\\r'/\\\\r}
  printf '%s' "$value"
}
[[ -d $users_source ]] ||
  fail "no SASL users at $users_source: the Secret spec.authentication.digestUsers names is mounted there"
rm -f "$jaas_file"
(umask 077 && : >"$jaas_file")
{
  echo 'Server {'
  echo '  org.apache.zookeeper.server.auth.DigestLoginModule required'
  for user_file in "$users_source"/*; do
    [[ -f $user_file ]] || continue
    user=\${user_file##*/}
    [[ $user =~ ^[A-Za-z0-9._-]+$ ]] ||
      fail "SASL user name '$user' is not valid: use letters, digits, '.', '_' and '-'"
    [[ $user != ${RESERVED_SASL_USER} ]] ||
      fail "the users' Secret holds a user '${RESERVED_SASL_USER}': the super user is the operator's alone; rename that key"
    [[ $(tr -d '\\000' <"$user_file" | wc -c) -eq $(wc -c <"$user_file") ]] ||
      fail "the password of SASL user '$user' contains a NUL byte, which a JAAS file cannot hold"
    # Every byte is the password, a trailing line break too: the x keeps $(...) from dropping it.
    password=$(cat "$user_file" && printf x)
    password=\${password%x}
    [[ -n $password ]] || fail "the password of SASL user '$user' is empty"
    [[ $password != *'\${'* ]] ||
      fail "the password of SASL user '$user' contains '\\\${', which JAAS would expand as a system property"
    printf '  user_%s="%s"\\n' "$user" "$(jaas_quoted "$password")"
  done
  echo '  ;'
  echo '};'
} >"$jaas_file"

`;

const JAAS_JVM_FLAG = `# Last, so that no earlier flag names another JAAS file.
export SERVER_JVMFLAGS="\${SERVER_JVMFLAGS:-} -Djava.security.auth.login.config=$jaas_file"
`;

const TLS_PATHS = `  echo "ssl.quorum.keyStore.location=$key_store"
  echo "ssl.quorum.trustStore.location=$trust_store"
  echo "ssl.keyStore.location=$key_store"
  echo "ssl.trustStore.location=$client_trust_store"
`;

/**
 * The client endpoint of the line a joining member adds for itself. Plaintext clusters listen on
 * every address; once clients may use TLS, where the other lines listen: the pod's loopback alone
 * when any member has moved there (`tls-phases.ts`).
 */
function joiningClientEndpoint(tls: TlsPhase, ports: ResolvedSpec['ports']): { set: string; value: string } {
  const everywhere = `0.0.0.0:${ports.client}`;
  if (!servesSecureClientPort(tls)) return { set: '', value: everywhere };
  return {
    set: `  client_endpoint=${everywhere}
  if grep -q ';${LOOPBACK_CLIENT_ADDRESS}:' "$conf_dir/zoo.cfg.dynamic"; then
    client_endpoint=${LOOPBACK_CLIENT_ADDRESS}:${ports.loopbackClient}
  fi
`,
    value: '$client_endpoint',
  };
}

/**
 * Start script. Rendered per cluster only to embed the member address suffix and ports, per kind
 * of member (an observer reads another server id from its pod name and joins as an observer), and
 * per TLS rung (`tls`): a member that serves TLS installs its key store first.
 */
export function renderStartScript(
  cluster: ClusterRef,
  spec: Pick<ResolvedSpec, 'ports' | 'clusterDomain'> & Partial<Pick<ResolvedSpec, 'digestUsers' | 'tls'>>,
  tls: TlsPhase,
  kind: MemberKind = 'voter',
): string {
  const memberSuffix = `${objectNames(cluster).headlessService}.${cluster.namespace}.svc.${spec.clusterDomain}`;
  const { quorum, election } = spec.ports;
  const identity = IDENTITY[kind];
  const certificates = usesCertificates(tls);
  const trustedClientCAs = spec.tls?.trustedClientCAs !== undefined;
  const joining = joiningClientEndpoint(tls, spec.ports);
  const digestUsers = spec.digestUsers !== undefined;
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

${certificates ? tlsFiles(trustedClientCAs) : ''}${digestUsers ? digestUsersFiles() : ''}# ZooKeeper rewrites its config files on reconfig, so it runs from a writable copy. The rendered
# files are read-only (ConfigMap volume), and cp would keep that mode: write fresh files instead.
rm -f "$conf_dir/zoo.cfg" "$conf_dir/zoo.cfg.dynamic" "$conf_dir/logback.xml"
{
  cat "$config_source/zoo.cfg"
  echo "dataDir=$data_dir"
  echo "dynamicConfigFile=$conf_dir/zoo.cfg.dynamic"
${certificates ? TLS_PATHS : ''}} >"$conf_dir/zoo.cfg"
cat "$config_source/zoo.cfg.dynamic" >"$conf_dir/zoo.cfg.dynamic"
# A member that is joining is not in the committed membership yet: it starts with the
# committed voters plus itself and syncs as a non-voting follower until the operator adds it.
if ! grep -q "^server\\.$myid=" "$conf_dir/zoo.cfg.dynamic"; then
${joining.set}  echo "server.$myid=$pod_name.${memberSuffix}:${quorum}:${election}:${identity.role};${joining.value}" >>"$conf_dir/zoo.cfg.dynamic"
fi
if [[ -f $config_source/logback.xml ]]; then
  cat "$config_source/logback.xml" >"$conf_dir/logback.xml"
fi

export ZOOCFGDIR=$conf_dir
# The operator's super user, so it can reconfigure membership with ACLs on.
if [[ -n \${ZK_SUPER_DIGEST:-} ]]; then
  export SERVER_JVMFLAGS="\${SERVER_JVMFLAGS:-} -Dzookeeper.DigestAuthenticationProvider.superDigest=\${ZK_SUPER_DIGEST}"
fi
${digestUsers ? JAAS_JVM_FLAG : ''}echo "zookeeper-start: starting server $myid ($pod_name)"
exec zkServer.sh start-foreground "$conf_dir/zoo.cfg"
`;
}

/** How the probe reaches the member: at its plaintext client port on loopback. */
const ASK_PLAINTEXT = `ask() {
  local reply=''
  exec 3<>"/dev/tcp/127.0.0.1/\${ZK_CLIENT_PORT:-2181}" || return 1
  printf '%s' "$1" >&3
  read -r -t 5 -d '' reply <&3
  exec 3<&-
  printf '%s' "$reply"
}`;

/**
 * Once members may serve clients over TLS only, their plaintext port moves by reconfig to
 * `ZK_LOOPBACK_CLIENT_PORT` (`tls-phases.ts`), without a restart: the probe asks there when the
 * client port no longer answers.
 */
const ASK_EITHER_PORT = `ask() {
  local reply='' port
  for port in "\${ZK_CLIENT_PORT:-2181}" \${ZK_LOOPBACK_CLIENT_PORT:-}; do
    exec 3<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || continue
    printf '%s' "$1" >&3
    read -r -t 5 -d '' reply <&3
    exec 3<&-
    printf '%s' "$reply"
    return 0
  done
  return 1
}`;

/**
 * Probe script. \`live\`: the process answers (4lw ruok). \`ready\`: srvr reports the member
 * serving as leader, follower or observer. ruok alone says nothing about quorum: it answers
 * imok on a member that has none. `tls`: a pod of a TLS client rung may find its plaintext port
 * moved to loopback.
 */
export const renderProbeScript = (tls: TlsPhase): string => `#!/usr/bin/env bash
# Liveness and readiness of a ZooKeeper member, from ZooKeeper's own answers. Rendered by zookeeper-operator.
#   probe.sh live    the server process answers: 4lw ruok replies imok
#   probe.sh ready   srvr reports Mode leader, follower or observer: it serves as part of a quorum
set -uo pipefail

${servesSecureClientPort(tls) ? ASK_EITHER_PORT : ASK_PLAINTEXT}

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
