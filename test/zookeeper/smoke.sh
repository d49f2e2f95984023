#!/usr/bin/env bash
# Smoke-test a ZooKeeper dist built by install.sh: start one member through
# bin/zkServer.sh start-foreground, in quorum mode as the operator runs it
# (standaloneEnabled=false, reconfigEnabled=true), on 127.0.0.1 and free
# non-default ports, then read `srvr` on the client port, the AdminServer's
# /commands/mntr, the Prometheus /metrics endpoint and `zkCli.sh ls`; stop it
# afterwards.
#   usage: smoke.sh <dist dir> [expected version]
set -euo pipefail

dist=${1:?usage: smoke.sh <dist dir> [expected version]}
want=${2:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/zk-smoke.XXXXXX")
pid=
cleanup() {
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../lib/free-port.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/free-port.sh"
free_port client 20000; free_port peer 20000; free_port election 20000; free_port admin 20000; free_port metrics 20000

mkdir -p "$work/conf" "$work/data" "$work/logs"
echo 1 >"$work/data/myid"
cat >"$work/conf/zoo.cfg" <<CFG
tickTime=2000
initLimit=5
syncLimit=2
dataDir=$work/data
standaloneEnabled=false
reconfigEnabled=true
4lw.commands.whitelist=*
admin.enableServer=true
admin.serverAddress=127.0.0.1
admin.serverPort=$admin
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpHost=127.0.0.1
metricsProvider.httpPort=$metrics
server.1=127.0.0.1:$peer:$election:participant;127.0.0.1:$client
CFG

ZOOCFGDIR=$work/conf ZOO_LOG_DIR=$work/logs ZK_SERVER_HEAP=256 \
	"$dist/bin/zkServer.sh" start-foreground >"$work/server.log" 2>&1 &
pid=$!

four_letter() { # <cmd>: send a four-letter word to the client port
	exec 3<>"/dev/tcp/127.0.0.1/$client" || return 1
	printf '%s' "$1" >&3
	cat <&3
	exec 3<&-
}

srvr=
for _ in {1..300}; do # up to 30 s; the JVM alone needs ~1 s
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "zookeeper exited early; log:" >&2
		cat "$work/server.log" >&2
		exit 1
	fi
	srvr=$(four_letter srvr 2>/dev/null || true)
	[[ $srvr == *"Mode: leader"* ]] && break
	sleep 0.1
done
if [[ $srvr != *"Mode: leader"* ]]; then
	echo "no leader after 30 s; srvr: ${srvr:-<none>}; log:" >&2
	cat "$work/server.log" >&2
	exit 1
fi
echo "$srvr" | sed 's/^/  srvr: /'
if [[ -n $want && $srvr != *"Zookeeper version: $want-"* ]]; then
	echo "expected ZooKeeper $want" >&2
	exit 1
fi

mntr=$(curl -fsS "http://127.0.0.1:$admin/commands/mntr")
grep -q '"server_state" *: *"leader"' <<<"$mntr" || { echo "unexpected mntr: $mntr" >&2; exit 1; }
echo "  /commands/mntr: server_state leader, $(grep -c '"' <<<"$mntr") lines"

prom=$(curl -fsS "http://127.0.0.1:$metrics/metrics")
grep -q '^znode_count' <<<"$prom" || { echo "no znode_count in /metrics" >&2; exit 1; }
echo "  /metrics: $(grep -c '^[a-z]' <<<"$prom") samples, $(grep '^znode_count' <<<"$prom")"

cli=$("$dist/bin/zkCli.sh" -server "127.0.0.1:$client" ls /zookeeper 2>&1 | tail -1)
[[ $cli == *config*quota* ]] || { echo "zkCli.sh ls /zookeeper: $cli" >&2; exit 1; }
echo "  zkCli.sh ls /zookeeper: $cli"

# Everything must listen on loopback only (Java reports IPv4 sockets as ::ffff:).
wild=$(ss -Hltnp | grep "pid=$pid," | awk '{print $4}' | grep -vE '^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):' || true)
if [[ -n $wild ]]; then
	echo "listening beyond 127.0.0.1: $wild" >&2
	exit 1
fi
echo "  listeners: $(ss -Hltnp | grep "pid=$pid," | awk '{print $4}' | tr '\n' ' ')"
