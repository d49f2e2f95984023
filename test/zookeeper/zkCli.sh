#!/usr/bin/env bash
# Stand-in for the release's bin/zkCli.sh: runs org.apache.zookeeper.ZooKeeperMain
# with the Maven-resolved jars next to it. Usage as upstream, e.g.
#   zkCli.sh -server 127.0.0.1:2181 config
# Commands can be piped on stdin (no terminal needed). Log output goes to the
# console at ZK_CLI_LOG_LEVEL (default WARN) so it does not drown the results.
set -euo pipefail

dist=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZOOCFGDIR=${ZOOCFGDIR:-$dist/conf}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java

# Word splitting of the *JVMFLAGS variables is intended (space-separated options).
# shellcheck disable=SC2086
exec "$java" \
	-Dzookeeper.log.dir="${ZOO_LOG_DIR:-.}" \
	-Dzookeeper.log.file=zookeeper-cli.log \
	-Dzookeeper.console.threshold="${ZK_CLI_LOG_LEVEL:-WARN}" \
	${ZK_CLIENT_HEAP:+-Xmx${ZK_CLIENT_HEAP}m} \
	${JVMFLAGS:-} ${CLIENT_JVMFLAGS:-} \
	-cp "$ZOOCFGDIR:$dist/conf:$dist/lib/*" \
	org.apache.zookeeper.ZooKeeperMain "$@"
