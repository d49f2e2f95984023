#!/usr/bin/env bash
# Stand-in for the official image's `zkServer.sh start-foreground [cfg]`
# (apache-zookeeper-<v>-bin/bin/zkServer.sh + zkEnv.sh), for the local test
# kubelet. install.sh copies it into $ZKOP_CACHE_DIR/zookeeper-<v>/bin/; the
# jars next to it come from Maven Central (test/zookeeper/pom.xml), since the
# release tarball is not reachable from these machines.
#
# Honoured like upstream: ZOOCFGDIR (default <dist>/conf), ZOO_LOG_DIR (default
# "."), ZK_SERVER_HEAP (MiB; unset means the JVM default), JVMFLAGS,
# SERVER_JVMFLAGS, JAVA_HOME, and `--config <dir>` before the command.
# The config argument is relative to ZOOCFGDIR unless it contains a slash.
# Only foreground mode exists: the kubelet owns the process (no pid files).
set -euo pipefail

dist=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if [[ ${1:-} == --config ]]; then
	ZOOCFGDIR=${2:?--config needs a directory}
	shift 2
fi
ZOOCFGDIR=${ZOOCFGDIR:-$dist/conf}

cmd=${1:-}
cfg=${2:-}
if [[ -z $cfg ]]; then
	cfg=$ZOOCFGDIR/zoo.cfg
elif [[ $cfg != */* ]]; then
	cfg=$ZOOCFGDIR/$cfg
fi

java=${JAVA_HOME:+$JAVA_HOME/bin/}java
# $ZOOCFGDIR first, as upstream, so a logback.xml rendered next to zoo.cfg
# wins; <dist>/conf holds our default logback.xml (INFO to the console), without
# which logback would log at DEBUG.
args=(
	-Dzookeeper.log.dir="${ZOO_LOG_DIR:-.}"
	-Dzookeeper.log.file=zookeeper.log
	-XX:+HeapDumpOnOutOfMemoryError
	"-XX:OnOutOfMemoryError=kill -9 %p"
	${ZK_SERVER_HEAP:+-Xmx${ZK_SERVER_HEAP}m}
	# Word splitting is intended: these are space-separated JVM options, as upstream.
	${JVMFLAGS:-} ${SERVER_JVMFLAGS:-}
	-cp "$ZOOCFGDIR:$dist/conf:$dist/lib/*"
	org.apache.zookeeper.server.quorum.QuorumPeerMain
	"$cfg"
)

case $cmd in
start-foreground)
	exec "$java" "${args[@]}"
	;;
print-cmd)
	printf '%q ' "$java" "${args[@]}"
	echo
	;;
version)
	exec "$java" -cp "$dist/conf:$dist/lib/*" org.apache.zookeeper.version.VersionInfoMain
	;;
*)
	echo "usage: $0 [--config <dir>] {start-foreground|print-cmd|version} [cfg]" >&2
	echo "(only foreground mode is supported; the test kubelet supervises the process)" >&2
	exit 1
	;;
esac
