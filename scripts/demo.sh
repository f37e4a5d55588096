#!/usr/bin/env bash
# The connected-cars demo, end to end, on this machine (run by `make demo`):
#   simulator → Mosquitto → MQTT source + AnomalyScore → Kafka → Elasticsearch sink
#   → Elasticsearch (daily car-sensors-YYYY.MM.DD indices) → Grafana (if you run one).
#
#   scripts/demo.sh [--cars N] [--rate MSG_PER_S] [--duration 10m] [--standalone]
#   scripts/demo.sh check      run the Grafana dashboard's queries against car-sensors-*
#   scripts/demo.sh stop       stop what a previous run left (by its pid files)
#
# Environment (flags win): CARS (default 100), RATE (msg/s, default 200),
# DURATION (Go duration, 0 = until Ctrl-C; default 0), FAILURE_RATE (0.05),
# DEMO_MODE (distributed|standalone; default distributed when the binary has it),
# GRAFANA_URL (printed when it answers; default http://127.0.0.1:3000),
# TRIBUTARY_DEMO_DIR (logs and pid files; default ${XDG_CACHE_HOME:-~/.cache}/tributary/demo).
#
# It installs and starts the services (scripts/services.sh up), builds bin/tributary,
# starts two distributed workers (REST 8083 and 8084; one standalone worker on 8083
# when `tributary distributed` is missing), creates the connectors over REST with PUT
# (so re-running updates them), runs the simulator with a live progress line and prints
# where to look every 15 s. Ctrl-C stops the simulator and the workers it started, and
# the services only if this run started them — each by its pid.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

CARS=${CARS:-100}
RATE=${RATE:-200}
DURATION=${DURATION:-0}
FAILURE_RATE=${FAILURE_RATE:-0.05}
MODE=${DEMO_MODE:-}
GRAFANA_URL=${GRAFANA_URL:-http://127.0.0.1:3000}
CACHE=${TRIBUTARY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary}
DIR=${TRIBUTARY_DEMO_DIR:-$CACHE/demo}
BIN=$ROOT/bin/tributary
ES=http://127.0.0.1:9200
MQTT=tcp://127.0.0.1:1883
SOURCE_JSON=config-examples/connectors/demo-mqtt-source.json
SINK_JSON=config-examples/connectors/demo-es-sink.json
INDEX_PATTERN='car-sensors-*'
# Indices written by the demo are car-sensors-YYYY.MM.DD; the e2e test's own
# indices (car-sensors-e2e-…) are left out of the counts.
INDEX_QUERY="car-sensors-2*"

say() { printf '\033[1mdemo:\033[0m %s\n' "$*" >&2; }
die() { printf 'demo: ERROR: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

CMD=run
while [[ $# -gt 0 ]]; do
  case $1 in
    --cars) CARS=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --failure-rate) FAILURE_RATE=$2; shift 2 ;;
    --standalone) MODE=standalone; shift ;;
    --distributed) MODE=distributed; shift ;;
    check|stop|run) CMD=$1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ $CARS =~ ^[0-9]+$ && $CARS -ge 1 ]] || die "--cars must be a positive integer, not '$CARS'"
[[ $RATE =~ ^[0-9]+([.][0-9]+)?$ ]] || die "--rate must be a number, not '$RATE'"

mkdir -p "$DIR"

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

# stop_pidfile FILE — SIGTERM the process in FILE, SIGKILL after 20 s.
stop_pidfile() {
  local f=$1 pid
  [[ -f $f ]] || return 0
  pid=$(cat "$f")
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do alive "$pid" || break; sleep 0.1; done
    alive "$pid" && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop_all() {
  stop_pidfile "$DIR/simulator.pid"
  for f in "$DIR"/worker-*.pid; do [[ -e $f ]] && stop_pidfile "$f"; done
  if [[ -f $DIR/services-started ]]; then
    local svcs
    svcs=$(cat "$DIR/services-started")
    if [[ -n $svcs ]]; then
      say "stopping the services this demo started: $svcs"
      # shellcheck disable=SC2086
      bash scripts/services.sh down $svcs || true
    fi
    rm -f "$DIR/services-started"
  fi
}

es_count() { # es_count [lucene query] — documents in the demo's indices
  local q=${1:-} url="$ES/$INDEX_QUERY/_count"
  [[ -n $q ]] && url="$url?q=$q"
  curl -fsS "$url" 2>/dev/null | sed -n 's/.*"count":\([0-9]*\).*/\1/p' || true
}

if [[ $CMD == stop ]]; then
  stop_all
  say "stopped"
  exit 0
fi

if [[ $CMD == check ]]; then
  eval "$(bash scripts/services.sh env)"
  say "running the Grafana dashboard's queries against $INDEX_QUERY"
  TRIBUTARY_DASHBOARD_INDEX=$INDEX_QUERY go test -count=1 -run TestDashboardQueriesOnLiveData -v ./test/e2e/ 2>&1 | grep -E 'dashboard query|^(ok|FAIL|---)' 
  exit "${PIPESTATUS[0]}"
fi

# A previous run killed with -9 may have left workers behind: stop them first.
for f in "$DIR"/worker-*.pid "$DIR/simulator.pid"; do [[ -e $f ]] && stop_pidfile "$f"; done

# --- services ---------------------------------------------------------------
# A service counts as started by this run only if nothing answered on its port
# before `up` (others may be using a running one: never stop those).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
declare -A PORT=([kafka]=9092 [mqtt]=1883 [es]=9200)
down_before=()
for svc in kafka mqtt es; do
  port_open "${PORT[$svc]}" || down_before+=("$svc")
done
: >"$DIR/services-started"
trap 'echo; say "stopping…"; stop_all; exit 130' INT TERM
say "services (installs on first use; this can take a few minutes)…"
bash scripts/services.sh up
started=()
for svc in "${down_before[@]}"; do
  port_open "${PORT[$svc]}" && started+=("$svc")
done
echo "${started[*]:-}" >"$DIR/services-started"
[[ ${#started[@]} -gt 0 ]] && say "started ${started[*]}: Ctrl-C stops them again"
eval "$(bash scripts/services.sh env)"
export ONNXRUNTIME_SHARED_LIBRARY_PATH

# --- binary -----------------------------------------------------------------
say "building bin/tributary…"
make -s build >/dev/null

# The usage lists the commands this build has (it exits 2: capture it first,
# pipefail would turn a pipe into a failure).
commands=$("$BIN" 2>&1 || true)
has_distributed=false
grep -qE '^ +distributed ' <<<"$commands" && has_distributed=true
if [[ -z $MODE ]]; then
  if $has_distributed; then MODE=distributed; else MODE=standalone; fi
fi
if [[ $MODE == distributed ]] && ! $has_distributed; then
  die "this build has no 'distributed' command; use --standalone"
fi

# The demo's topic with 4 partitions (keyed by car_id, so each car stays in
# order); ignore "already exists".
bash scripts/services.sh kafka-tool org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 \
  --create --if-not-exists --topic sensor-data --partitions 4 --replication-factor 1 >/dev/null 2>&1 || true

# --- workers ----------------------------------------------------------------
start_worker() { # start_worker N PROPERTIES
  local n=$1 props=$2 port
  port=$(sed -n 's#^listeners=http://[^:]*:\([0-9]*\).*#\1#p' "$props")
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
    die "port $port is in use by another process (another worker?); stop it or run 'scripts/demo.sh stop'"
  fi
  TRIBUTARY_LOG_LEVEL=${TRIBUTARY_LOG_LEVEL:-INFO} "$BIN" "$MODE" "$props" >"$DIR/worker-$n.log" 2>&1 &
  echo $! >"$DIR/worker-$n.pid"
  say "worker $n ($MODE) pid $! on http://127.0.0.1:$port — log $DIR/worker-$n.log"
}
REST=()
if [[ $MODE == distributed ]]; then
  start_worker 1 config-examples/worker-distributed-demo-1.properties
  start_worker 2 config-examples/worker-distributed-demo-2.properties
  REST=(http://127.0.0.1:8083 http://127.0.0.1:8084)
else
  start_worker 1 config-examples/worker-standalone-demo.properties
  REST=(http://127.0.0.1:8083)
fi
for url in "${REST[@]}"; do
  for i in $(seq 1 600); do
    curl -fsS -o /dev/null "$url/health" 2>/dev/null && break
    for f in "$DIR"/worker-*.pid; do
      alive "$(cat "$f")" || { tail -n 30 "${f%.pid}.log" >&2; stop_all; die "a worker exited during start"; }
    done
    [[ $i == 600 ]] && { stop_all; die "$url/health did not answer within 60 s"; }
    sleep 0.1
  done
done
say "REST ready: ${REST[*]}"

# --- connectors (PUT …/config: creates or updates, so re-running is fine) -----
put_connector() { # put_connector FILE — on any worker; followers forward to the leader
  local file=$1 name body code
  name=$(jq -r .name "$file")
  body=$(jq -c --arg mqtt "$MQTT" --arg es "$ES" --arg root "$ROOT" '.config
    | if has("mqtt.server.uri") then .["mqtt.server.uri"] = $mqtt else . end
    | if has("connection.url") then .["connection.url"] = $es else . end
    | if has("transforms.score.model.path") then .["transforms.score.model.path"] = ($root + "/" + .["transforms.score.model.path"]) else . end
    | if has("index.template.file") then .["index.template.file"] = ($root + "/" + .["index.template.file"]) else . end' "$file")
  for i in $(seq 1 60); do
    code=$(curl -sS -o "$DIR/put-$name.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
      --data "$body" "${REST[0]}/connectors/$name/config" || echo 000)
    case $code in
      200|201) say "connector $name: $([[ $code == 201 ]] && echo created || echo updated)"; return 0 ;;
      409|500|503|000) sleep 1 ;; # rebalance in progress / leader not known yet
      *) cat "$DIR/put-$name.json" >&2; echo >&2; stop_all; die "PUT $name: HTTP $code" ;;
    esac
  done
  cat "$DIR/put-$name.json" >&2; stop_all; die "PUT $name: still $code after 60 attempts"
}
put_connector "$SINK_JSON"
put_connector "$SOURCE_JSON"
SOURCE=$(jq -r .name "$SOURCE_JSON")
SINK=$(jq -r .name "$SINK_JSON")
BASE_DOCS=$(es_count); BASE_DOCS=${BASE_DOCS:-0}
BASE_ANOM=$(es_count 'is_anomaly:true'); BASE_ANOM=${BASE_ANOM:-0}

connector_state() { # connector_state NAME → "RUNNING 2/2" (connector state, running tasks/total)
  curl -fsS "${REST[0]}/connectors/$1/status" 2>/dev/null |
    jq -r '"\(.connector.state) \([.tasks[] | select(.state == "RUNNING")] | length)/\(.tasks | length)"' 2>/dev/null || echo "?"
}
for name in "$SINK" "$SOURCE"; do
  for i in $(seq 1 120); do
    st=$(connector_state "$name")
    # Data flows once every task runs; the connector's own state is shown as is.
    [[ $st =~ ^[A-Z]+\ ([0-9]+)/([0-9]+)$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" && ${BASH_REMATCH[2]} != 0 ]] && break
    if curl -fsS "${REST[0]}/connectors/$name/status" 2>/dev/null | grep -q '"FAILED"'; then
      curl -fsS "${REST[0]}/connectors/$name/status" | jq . >&2; stop_all; die "connector $name failed"
    fi
    [[ $i == 120 ]] && { stop_all; die "connector $name not running after 60 s: $st"; }
    sleep 0.5
  done
  say "connector $name: $st tasks running"
  [[ $st == RUNNING* ]] || say "warning: connector $name reports state ${st%% *} although its tasks run"
done

# --- simulator ----------------------------------------------------------------
"$BIN" simulate --broker "$MQTT" --topic-prefix vehicles/sensor/data --cars "$CARS" --rate "$RATE" \
  --duration "$DURATION" --failure-rate "$FAILURE_RATE" --seed "$(date +%s)" --qos 1 --progress \
  2> >(tee "$DIR/simulator.log" >&2) &
SIM=$!
echo $SIM >"$DIR/simulator.pid"

grafana=""
if curl -fsS -o /dev/null "$GRAFANA_URL/api/health" 2>/dev/null; then
  grafana="$GRAFANA_URL/d/tributary-connected-cars"
fi
cat >&2 <<EOF

  Simulating $CARS cars at $RATE msg/s$( [[ $DURATION != 0 ]] && echo " for $DURATION" ). Ctrl-C stops the demo.
  Where to look:
    connectors   curl -s ${REST[0]}/connectors?expand=status | jq
    readings     curl -s '$ES/$INDEX_QUERY/_count'
    anomalies    curl -s '$ES/$INDEX_QUERY/_search?q=is_anomaly:true&sort=timestamp:desc&size=5' | jq '.hits.hits[]._source'
    metrics      curl -s ${REST[0]}/metrics | grep ^kafka_connect_
    dashboard    ${grafana:-no Grafana at $GRAFANA_URL: provision one from config-examples/grafana (see README) or use docker/compose.yaml}
    queries      scripts/demo.sh check   (runs the dashboard's queries against the data)

EOF

report() {
  local docs anomalies
  docs=$(es_count)
  anomalies=$(es_count 'is_anomaly:true')
  printf '\r\033[K' >&2
  local sent
  sent=$(tr '\r' '\n' <"$DIR/simulator.log" 2>/dev/null | sed -n 's/.*sent \([0-9]*\).*/\1/p' | tail -n 1)
  say "$(date +%T) sent ${sent:-0} | source $(connector_state "$SOURCE"), sink $(connector_state "$SINK") | Elasticsearch: $(( ${docs:-0} - BASE_DOCS )) readings, $(( ${anomalies:-0} - BASE_ANOM )) anomalies (is_anomaly:true) this run; ${docs:-?} / ${anomalies:-?} in all | status ${REST[0]}/connectors/$SOURCE/status"
}

while alive $SIM; do
  for _ in $(seq 1 15); do alive $SIM || break; sleep 1; done
  report
done
wait $SIM || true
rm -f "$DIR/simulator.pid"
say "simulator finished; waiting 10 s for the last readings to be indexed…"
sleep 10
report
say "workers keep running: Ctrl-C to stop everything, or leave this running and open the dashboard."
while true; do sleep 30; report; done
