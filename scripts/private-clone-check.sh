#!/usr/bin/env bash
# A clone in a private directory — mode 700, as root's home or any `mktemp -d` is — must bring the
# local stack up: under root, Elasticsearch runs as the unprivileged `vigil` user, which cannot
# pass such a directory. Clones this checkout into `mktemp -d`, starts the stack there on ports of
# its own, checks each server answers, and stops it. Called by .ci/run after `npm test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d)"
[ "$(stat -c %a "$dir")" = 700 ] || { echo "mktemp -d is not private here" >&2; exit 1; }
export VIGIL_KAFKA_PORT=29092 VIGIL_KAFKA_CONTROLLER_PORT=29093 VIGIL_KAFKA_SECURE_PORT=29094 \
  VIGIL_KAFKA_CLUSTER_PORT=29500 VIGIL_INFLUX_PORT=28086 \
  VIGIL_INFLUX_RPC_PORT=28088 VIGIL_ES_PORT=29200 VIGIL_ES_TRANSPORT_PORT=29300
cleanup() {
  cd "$dir/clone" 2>/dev/null && npx tsx deploy/local/cli.ts down >/dev/null 2>&1 || true
  # Elasticsearch's files went to /var/lib/vigil/<sha1 of the state path> (elasticsearch.ts).
  hash="$(printf %s "$dir/clone/.vigil/elasticsearch" | sha1sum | cut -c1-12)"
  rm -rf "/var/lib/vigil/$hash"
  rm -rf "$dir"
}
trap cleanup EXIT
git clone -q "$root" "$dir/clone"
ln -s "$root/node_modules" "$dir/clone/node_modules"
cd "$dir/clone"
npx tsx deploy/local/cli.ts up
curl -fsS "http://127.0.0.1:$VIGIL_ES_PORT/_cluster/health" >/dev/null
curl -fsS -o /dev/null -w '' "http://127.0.0.1:$VIGIL_INFLUX_PORT/ping"
echo "private-clone check: the stack came up from a clone in $dir (mode 700)"
