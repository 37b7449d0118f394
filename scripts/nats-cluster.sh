#!/bin/sh
# Start a three-node NATS cluster with JetStream on loopback, by hand (what the tests'
# tests/bus/natsd.py NatsCluster starts): the same users and permissions as the tests (core may
# publish the log and its heartbeat, edge may only read), stores under DIR (default
# ./nats-cluster). Ctrl-C stops all three. Then, for example:
#   redcolor serve --db core.db --nats-publish "$URLS" --nats-replicas 3 --signing-key core.key \
#     --nats-user core --nats-password-file DIR/core.pw
#   redcolor serve --db edge1.db --port 8081 --nats-follow "$URLS" --verify-key core.key.pub \
#     --nats-user edge --nats-password-file DIR/edge.pw
# Usage: scripts/nats-cluster.sh [DIR] [FIRST_CLIENT_PORT (4301)] [FIRST_ROUTE_PORT (6301)]
set -eu
dir=${1:-nats-cluster}
client=${2:-4301}
route=${3:-6301}
here=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
python=${PYTHON:-python3}
PYTHONPATH="$here" "$python" - "$dir" "$client" "$route" <<'PY'
import json
import sys
from pathlib import Path

from tests.bus.natsd import USERS, permissions

root, client, route = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
perms = permissions()
users = [{"user": n, "password": pw, "permissions": perms[n]} for n, pw in USERS.items()]
for name in ("core", "edge"):
    (root / f"{name}.pw").write_text(USERS[name])
for i in range(3):
    node = root / f"n{i}"
    node.mkdir(exist_ok=True)
    config = {
        "server_name": f"n{i}",
        "listen": f"127.0.0.1:{client + i}",
        "jetstream": {"store_dir": str(node / "js")},
        "authorization": {"users": users},
        "cluster": {
            "name": "redcolor",
            "listen": f"127.0.0.1:{route + i}",
            "routes": [f"nats-route://127.0.0.1:{route + j}" for j in range(3) if j != i],
        },
    }
    (node / "nats.conf").write_text(json.dumps(config))
PY
pids=""
for i in 0 1 2; do
    nats-server -c "$dir/n$i/nats.conf" 2>>"$dir/n$i/nats.log" &
    pids="$pids $!"
done
trap 'kill $pids 2>/dev/null; wait' INT TERM EXIT
echo "URLS=nats://127.0.0.1:$client,nats://127.0.0.1:$((client + 1)),nats://127.0.0.1:$((client + 2))"
echo "passwords in $dir/core.pw and $dir/edge.pw; logs in $dir/n*/nats.log; Ctrl-C stops"
wait
