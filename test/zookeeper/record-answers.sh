#!/usr/bin/env bash
# Records real ZooKeeper answers (4lw srvr, mntr, conf; AdminServer zabstate and mntr) as fixtures for the parser and health-model
# tests: a 3-member ensemble on loopback, a joining 4th member (a non-voting follower), and a
# member left without quorum. Usage: test/zookeeper/record-answers.sh VERSION OUT_DIR
# Needs the dists installed by test/controlplane/install.sh. Listens on 127.0.0.1 only.
set -euo pipefail
version=${1:?version, e.g. 3.9.4}
out=${2:?output directory}
cache=${ZKOP_CACHE_DIR:-$HOME/.cache/zookeeper-operator}
zk_server=$cache/zookeeper-$version/bin/zkServer.sh
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$out"

server_line() { echo "server.$1=127.0.0.1:2288$1:2388$1:participant;127.0.0.1:2218$1"; }

start_member() { # id, member ids of its initial config
  local id=$1 dir=$work/$1
  shift
  mkdir -p "$dir/data"
  echo "$id" >"$dir/data/myid"
  for member in "$@"; do server_line "$member"; done >"$dir/zoo.cfg.dynamic"
  cat >"$dir/zoo.cfg" <<CFG
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
standaloneEnabled=false
reconfigEnabled=true
4lw.commands.whitelist=*
admin.enableServer=false
dynamicConfigFile=$dir/zoo.cfg.dynamic
CFG
  ZOOCFGDIR=$dir ZOO_LOG_DIR=$dir ZK_SERVER_HEAP=256 "$zk_server" start-foreground "$dir/zoo.cfg" >"$dir/out.log" 2>&1 &
  pids[id]=$!
}

ask() { # id, word
  exec 3<>"/dev/tcp/127.0.0.1/2218$1"
  printf '%s' "$2" >&3
  cat <&3
  exec 3<&-
}

mode_of() { ask "$1" srvr 2>/dev/null | sed -n 's/^Mode: //p'; }

wait_for() { # description, command...
  local description=$1
  shift
  for _ in $(seq 1 120); do
    if "$@"; then return 0; fi
    sleep 0.5
  done
  echo "timed out waiting for $description" >&2
  exit 1
}

serving() { [[ -n $(mode_of "$1") ]]; }
for id in 1 2 3; do start_member "$id" 1 2 3; done
wait_for "a quorum of 3" bash -c "$(declare -f ask mode_of serving); serving 1 && serving 2 && serving 3"

for id in 1 2 3; do
  role=$(mode_of "$id")
  for word in srvr mntr conf; do ask "$id" "$word" >"$out/$role-$id-$word.txt"; done
done

start_member 4 1 2 3 4
wait_for "the joiner to sync" bash -c "$(declare -f ask mode_of serving); serving 4"
for word in srvr mntr conf; do ask 4 "$word" >"$out/joiner-4-$word.txt"; done
leader=$(for id in 1 2 3; do [[ $(mode_of "$id") == leader ]] && echo "$id"; done)
ask "$leader" mntr >"$out/leader-with-joiner-mntr.txt"

for id in 2 3 4; do kill "${pids[id]}"; done
survivor=1
wait_for "member 1 to lose quorum" bash -c "$(declare -f ask mode_of); [[ -z \$(mode_of 1) ]]"
for word in srvr mntr conf ruok; do ask "$survivor" "$word" >"$out/no-quorum-$word.txt"; done
ls "$out"
