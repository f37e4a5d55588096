#!/usr/bin/env bash
# Real services for Tributary's tests and demo: Kafka (KRaft), Elasticsearch 7.17,
# Mosquitto and the ONNX Runtime shared library. Installed into a cache outside the
# checkout, started on loopback, stopped only by the pid files written here.
#
#   scripts/services.sh install              install everything (fast no-op when done)
#   scripts/services.sh up [kafka|mqtt|es]…  install if needed, start what is not answering
#   scripts/services.sh down [svc…]          stop what these scripts started (SIGTERM, then SIGKILL)
#   scripts/services.sh restart <svc>…       down, then up
#   scripts/services.sh status               one line per service
#   scripts/services.sh env                  export lines for eval
#   scripts/services.sh kafka-tool <class> [args…]
#                                            run a Kafka CLI class from the broker's jars
#
# Environment:
#   TRIBUTARY_CACHE     cache dir (default ${XDG_CACHE_HOME:-$HOME/.cache}/tributary)
#   TRIBUTARY_RUN_DIR   runtime state: data, logs, pid files (default $TRIBUTARY_CACHE/run)
#   TRIBUTARY_ES_DIR    Elasticsearch install+data when run as root (default /var/lib/tributary-es)
#   TRIBUTARY_SERVICE_TIMEOUT  seconds to wait for a service to become ready (default 180)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF_DIR=$SCRIPT_DIR/conf
KAFKA_POM=$SCRIPT_DIR/kafka/pom.xml

CACHE=${TRIBUTARY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tributary}
RUN=${TRIBUTARY_RUN_DIR:-$CACHE/run}
LOGS=$RUN/logs
TIMEOUT=${TRIBUTARY_SERVICE_TIMEOUT:-180}

KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM")
ES_VERSION=7.17.29
ORT_VERSION=1.24.3
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1

KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
MQTT_PORT=1883
ES_PORT=9200

KAFKA_LIBS=$CACHE/kafka/libs
ORT_DIR=$CACHE/onnxruntime
ORT_LIB=$ORT_DIR/libonnxruntime.so

# Elasticsearch refuses to run as root. As root it runs as a dedicated system user,
# and its install and data live outside $CACHE, whose parents (/root) that user
# cannot traverse. Otherwise it runs as the invoking user from the cache.
ES_USER=tributary-es
if [[ $EUID -eq 0 ]]; then
  ES_BASE=${TRIBUTARY_ES_DIR:-/var/lib/tributary-es}
  ES_VAR=$ES_BASE/run
else
  ES_BASE=$CACHE/elasticsearch
  ES_VAR=$RUN/elasticsearch
fi
ES_HOME=$ES_BASE/elasticsearch-$ES_VERSION

ALL_SERVICES=(kafka es mqtt)

say() { printf 'services: %s\n' "$*" >&2; }
die() { printf 'services: ERROR: %s\n' "$*" >&2; exit 1; }

# run_logged LOGFILE CMD… — run quietly; on failure print the log tail and fail.
run_logged() {
  local log=$1; shift
  if ! "$@" >"$log" 2>&1; then
    tail -n 30 "$log" >&2 || true
    die "failed: $* (log: $log)"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port_of() {
  case $1 in
    kafka) echo $KAFKA_PORT ;; mqtt) echo $MQTT_PORT ;; es) echo $ES_PORT ;;
  esac
}

log_of() {
  case $1 in
    kafka) echo "$LOGS/kafka/server.log" ;;
    mqtt) echo "$LOGS/mosquitto.log" ;;
    es) echo "$ES_VAR/logs/tributary-test.log" ;;
  esac
}

# alive PID — running and not a zombie.
alive() {
  local pid=$1 state
  [[ -r /proc/$pid/stat ]] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# start_time PID — the process' start time in clock ticks since boot (field 22 of
# /proc/PID/stat). It survives exec, so it identifies the process we launched even
# while a launcher script is still running, and it rules out a recycled pid.
start_time() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# record_pid SVC PID — $RUN/SVC.pid holds only the pid (for `kill $(cat …)`);
# $RUN/SVC.pid.start holds its start time.
record_pid() {
  echo "$2" >"$RUN/$1.pid"
  start_time "$2" >"$RUN/$1.pid.start"
}

forget_pid() { rm -f "$RUN/$1.pid" "$RUN/$1.pid.start"; }

# ours SVC — prints the pid of the service process these scripts started, if alive.
ours() {
  local svc=$1 pidfile=$RUN/$1.pid pid
  [[ -f $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  alive "$pid" || return 1
  [[ -f $pidfile.start && $(<"$pidfile.start") == "$(start_time "$pid")" ]] || return 1
  echo "$pid"
}

lock() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock -w 600 9 || die "could not lock $CACHE/.lock"
}

java_home() { dirname "$(dirname "$(readlink -f "$(command -v java)")")"; }

# ---------------------------------------------------------------- install

install_kafka() {
  local marker=$CACHE/kafka/.installed want
  want=$(sha256sum "$KAFKA_POM" | cut -c1-64)
  if [[ -f $marker && $(<"$marker") == "$want" ]] && [[ -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found"
  say "kafka: fetching kafka_2.13 $KAFKA_VERSION and dependencies (maven)"
  mkdir -p "$CACHE/kafka" "$LOGS"
  rm -rf "$KAFKA_LIBS.tmp"
  run_logged "$LOGS/install-kafka.log" mvn -B -q -f "$KAFKA_POM" "$DEP_PLUGIN:copy-dependencies" \
    -DoutputDirectory="$KAFKA_LIBS.tmp" -DincludeScope=runtime
  local cls
  for cls in kafka/Kafka.class kafka/tools/StorageTool.class \
      org/apache/kafka/tools/ConsoleProducer.class \
      org/apache/kafka/tools/consumer/ConsoleConsumer.class \
      org/apache/kafka/tools/BrokerApiVersionsCommand.class; do
    local found=
    for jar in "$KAFKA_LIBS.tmp"/kafka*.jar; do
      if unzip -Z1 "$jar" "$cls" >/dev/null 2>&1; then found=1; break; fi
    done
    [[ -n $found ]] || die "kafka: class $cls not found in the fetched jars"
  done
  rm -rf "$KAFKA_LIBS"
  mv "$KAFKA_LIBS.tmp" "$KAFKA_LIBS"
  echo "$want" >"$marker"
  say "kafka: installed $(ls "$KAFKA_LIBS" | wc -l) jars in $KAFKA_LIBS"
}

ensure_es_user() {
  [[ $EUID -eq 0 ]] || return 0
  if ! id -u "$ES_USER" >/dev/null 2>&1; then
    say "es: creating system user $ES_USER"
    useradd --system --user-group --no-create-home --home-dir "$ES_BASE" \
      --shell /usr/sbin/nologin "$ES_USER"
  fi
}

# as_es CMD… — run as the Elasticsearch user (exec, no extra process).
as_es() {
  if [[ $EUID -eq 0 ]]; then
    setpriv --reuid="$ES_USER" --regid="$ES_USER" --init-groups -- "$@"
  else
    "$@"
  fi
}

install_es() {
  ensure_es_user
  if [[ ! -f $ES_HOME/.installed ]]; then
    command -v unzip >/dev/null || die "unzip not found"
    local zip=$CACHE/downloads/elasticsearch-$ES_VERSION.zip
    mkdir -p "$CACHE/downloads" "$LOGS"
    if [[ ! -f $zip ]]; then
      say "es: fetching elasticsearch integ-test-zip $ES_VERSION (maven)"
      run_logged "$LOGS/install-es.log" mvn -B -q "$DEP_PLUGIN:copy" \
        -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$ES_VERSION:zip" \
        -DoutputDirectory="$CACHE/downloads"
    fi
    say "es: unpacking into $ES_HOME"
    mkdir -p "$ES_BASE"
    rm -rf "$ES_BASE/unpack.tmp" "$ES_HOME"
    unzip -q "$zip" -d "$ES_BASE/unpack.tmp"
    mv "$ES_BASE/unpack.tmp/elasticsearch-$ES_VERSION" "$ES_HOME"
    rm -rf "$ES_BASE/unpack.tmp"
    touch "$ES_HOME/.installed"
  fi
  # The distribution stays owned by root but readable; data, logs, tmp and config
  # (ES writes its keystore there) belong to the ES user.
  mkdir -p "$ES_VAR"/{data,logs,tmp,config}
  if [[ $EUID -eq 0 ]]; then
    chmod 755 "$ES_BASE"
    chown -R "$ES_USER:$ES_USER" "$ES_VAR"
    if ! as_es test -r "$ES_HOME/lib/elasticsearch-$ES_VERSION.jar" -a -w "$ES_VAR/data" -a -x "$(java_home)/bin/java"; then
      die "es: user $ES_USER cannot read $ES_HOME or write $ES_VAR (check the parent dirs' permissions)"
    fi
  fi
}

install_mosquitto() {
  command -v mosquitto >/dev/null && command -v mosquitto_pub >/dev/null && return 0
  [[ $EUID -eq 0 ]] || die "mosquitto is not installed; run: apt-get install -y mosquitto mosquitto-clients"
  local pidf=/run/mosquitto/mosquitto.pid had_pid=
  [[ -f $pidf ]] && had_pid=1
  say "mqtt: installing mosquitto (apt)"
  mkdir -p "$LOGS"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q mosquitto mosquitto-clients >"$LOGS/install-mosquitto.log" 2>&1; then
    run_logged "$LOGS/apt-update.log" apt-get update -q
    run_logged "$LOGS/install-mosquitto.log" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q mosquitto mosquitto-clients
  fi
  # If the package just started a system broker, it would hold port 1883: stop
  # exactly that process (by its pid file), nothing else.
  if [[ -z $had_pid && -f $pidf ]]; then
    local pid; pid=$(<"$pidf")
    if [[ $pid =~ ^[0-9]+$ ]] && alive "$pid"; then
      say "mqtt: stopping the system mosquitto the package started (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do alive "$pid" || break; sleep 0.1; done
    fi
  fi
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    systemctl disable --now mosquitto >/dev/null 2>&1 || true
  fi
}

install_onnxruntime() {
  local marker=$ORT_DIR/.installed-$ORT_VERSION
  [[ -f $marker && -e $ORT_LIB ]] && return 0
  command -v npm >/dev/null || die "npm not found"
  say "onnxruntime: fetching onnxruntime-node@$ORT_VERSION (npm) for libonnxruntime.so"
  mkdir -p "$ORT_DIR" "$LOGS"
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && run_logged "$LOGS/install-onnxruntime.log" npm pack --silent "onnxruntime-node@$ORT_VERSION")
  local member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1
  tar -xzf "$tmp/onnxruntime-node-$ORT_VERSION.tgz" -C "$tmp" "$member" \
    || die "onnxruntime: $member not in the npm tarball"
  install -m 0755 "$tmp/$member" "$ORT_DIR/libonnxruntime.so.$ORT_VERSION"
  rm -rf "$tmp"
  ln -sfn "libonnxruntime.so.$ORT_VERSION" "$ORT_DIR/libonnxruntime.so.1"
  ln -sfn "libonnxruntime.so.$ORT_VERSION" "$ORT_LIB"
  # Check that it loads and is the expected version (OrtGetApiBase()->GetVersionString()).
  local got
  got=$(python3 - "$ORT_LIB" <<'PY'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
lib.OrtGetApiBase.restype = ctypes.POINTER(ctypes.c_void_p * 2)
base = lib.OrtGetApiBase().contents
print(ctypes.CFUNCTYPE(ctypes.c_char_p)(base[1])().decode())
PY
  ) || die "onnxruntime: $ORT_LIB does not load"
  [[ $got == "$ORT_VERSION" ]] || die "onnxruntime: library reports version $got, want $ORT_VERSION"
  touch "$marker"
  say "onnxruntime: $ORT_LIB ($got)"
}

cmd_install() {
  install_kafka
  install_es
  install_mosquitto
  install_onnxruntime
}

# ---------------------------------------------------------------- start

render() { # render TEMPLATE OUT KEY=VALUE…
  local tpl=$1 out=$2; shift 2
  local content; content=$(<"$tpl")
  local kv
  for kv in "$@"; do content=${content//@${kv%%=*}@/${kv#*=}}; done
  printf '%s\n' "$content" >"$out"
}

# Offsets of the service logs at start time: readiness looks only at new lines.
declare -A LOG_OFFSET=()
declare -A LAUNCHED=()

start_kafka() {
  local dir=$RUN/kafka
  mkdir -p "$dir/data" "$LOGS/kafka"
  render "$CONF_DIR/kafka-server.properties" "$dir/server.properties" "DATA_DIR=$dir/data"
  local cp="$KAFKA_LIBS/*"
  if [[ ! -f $dir/data/meta.properties ]]; then
    local cid
    if [[ -f $dir/cluster.id ]]; then
      cid=$(<"$dir/cluster.id")
    else
      cid=$(python3 -c 'import base64,uuid;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
      echo "$cid" >"$dir/cluster.id"
    fi
    say "kafka: formatting storage (cluster id $cid)"
    run_logged "$LOGS/kafka/format.log" java -Dlog4j2.configurationFile="$CONF_DIR/kafka-tools-log4j2.properties" \
      -cp "$cp" kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" --standalone
  fi
  local log; log=$(log_of kafka)
  LOG_OFFSET[kafka]=$(stat -c %s "$log" 2>/dev/null || echo 0)
  setsid nohup java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    -Dkafka.logs.dir="$LOGS/kafka" \
    -Dlog4j2.configurationFile="$CONF_DIR/kafka-log4j2.properties" \
    -cp "$cp" kafka.Kafka "$dir/server.properties" \
    </dev/null >"$LOGS/kafka/kafka.out" 2>&1 9>&- &
  record_pid kafka $!
}

start_mqtt() {
  local dir=$RUN/mosquitto
  mkdir -p "$dir/data" "$LOGS"
  render "$CONF_DIR/mosquitto.conf" "$dir/mosquitto.conf" \
    "PERSIST_DIR=$dir/data/" "LOG_FILE=$LOGS/mosquitto.log" "USER=$(id -un)"
  LOG_OFFSET[mqtt]=$(stat -c %s "$LOGS/mosquitto.log" 2>/dev/null || echo 0)
  setsid nohup mosquitto -c "$dir/mosquitto.conf" \
    </dev/null >"$LOGS/mosquitto.out" 2>&1 9>&- &
  record_pid mqtt $!
}

start_es() {
  local conf=$ES_VAR/config
  mkdir -p "$conf" "$LOGS"
  # Config dir: the distribution's files once (the keystore ES creates stays),
  # elasticsearch.yml and jvm.options rewritten at every start. jvm.options' relative
  # paths (logs/, data) would point into the read-only distribution.
  local f
  for f in "$ES_HOME"/config/*; do
    [[ -e $conf/$(basename "$f") ]] || cp -r "$f" "$conf/"
  done
  render "$CONF_DIR/elasticsearch.yml" "$conf/elasticsearch.yml" \
    "DATA_DIR=$ES_VAR/data" "LOGS_DIR=$ES_VAR/logs"
  sed -e "s#file=logs/gc.log#file=$ES_VAR/logs/gc.log#" \
      -e "s#-Xloggc:logs/gc.log#-Xloggc:$ES_VAR/logs/gc.log#" \
      -e "s#HeapDumpPath=data#HeapDumpPath=$ES_VAR/tmp#" \
      -e "s#ErrorFile=logs/#ErrorFile=$ES_VAR/logs/#" \
      "$ES_HOME/config/jvm.options" >"$conf/jvm.options"
  [[ $EUID -eq 0 ]] && chown -R "$ES_USER:$ES_USER" "$ES_VAR"
  ln -sfn "$ES_VAR/logs" "$LOGS/elasticsearch"
  LOG_OFFSET[es]=$(stat -c %s "$(log_of es)" 2>/dev/null || echo 0)
  local jh; jh=$(java_home)
  # setsid, setpriv, env and bin/elasticsearch all exec: $! is the JVM's pid.
  if [[ $EUID -eq 0 ]]; then
    setsid nohup setpriv --reuid="$ES_USER" --regid="$ES_USER" --init-groups -- \
      env HOME="$ES_BASE" ES_JAVA_HOME="$jh" JAVA_HOME="$jh" ES_PATH_CONF="$conf" ES_TMPDIR="$ES_VAR/tmp" \
      ES_JAVA_OPTS="-Xms512m -Xmx512m" "$ES_HOME/bin/elasticsearch" \
      </dev/null >"$LOGS/elasticsearch.out" 2>&1 9>&- &
  else
    setsid nohup env ES_JAVA_HOME="$jh" JAVA_HOME="$jh" ES_PATH_CONF="$conf" ES_TMPDIR="$ES_VAR/tmp" \
      ES_JAVA_OPTS="-Xms512m -Xmx512m" "$ES_HOME/bin/elasticsearch" \
      </dev/null >"$LOGS/elasticsearch.out" 2>&1 9>&- &
  fi
  record_pid es $!
}

es_ready() {
  local body
  body=$(curl -s -m 5 "http://127.0.0.1:$ES_PORT/_cluster/health?wait_for_status=yellow&timeout=4s") || return 1
  [[ $body == *'"status":"green"'* || $body == *'"status":"yellow"'* ]]
}

kafka_ready() {
  port_open $KAFKA_PORT || return 1
  # When we just started it, also wait for the broker to finish its startup.
  [[ -n ${LOG_OFFSET[kafka]:-} ]] || return 0
  tail -c +"$((LOG_OFFSET[kafka] + 1))" "$(log_of kafka)" 2>/dev/null | grep -q 'Kafka Server started'
}

ready() {
  case $1 in
    kafka) kafka_ready ;;
    mqtt) port_open $MQTT_PORT ;;
    es) es_ready ;;
  esac
}

fail_start() {
  local svc=$1 why=$2 log out
  log=$(log_of "$svc")
  case $svc in
    kafka) out=$LOGS/kafka/kafka.out ;; mqtt) out=$LOGS/mosquitto.out ;; es) out=$LOGS/elasticsearch.out ;;
  esac
  {
    echo "---- tail of $log"; tail -n 40 "$log" 2>/dev/null || true
    echo "---- tail of $out"; tail -n 20 "$out" 2>/dev/null || true
  } >&2
  die "$svc: $why"
}

# wait_ready SVC… — poll all given services together until each is ready; fail on
# the first that exits or times out. Services not started by this run (reused)
# are only checked for readiness.
wait_ready() {
  local pending=("$@") next svc pid t0 now
  while ((${#pending[@]})); do
    next=()
    for svc in "${pending[@]}"; do
      pid=
      [[ -n ${LAUNCHED[$svc]:-} ]] && pid=$(<"$RUN/$svc.pid")
      t0=${LAUNCHED[$svc]:-$WAIT_T0}
      if ready "$svc"; then
        [[ $svc == es ]] && es_defaults
        [[ -n $pid ]] && say "$svc: ready on 127.0.0.1:$(port_of "$svc") (pid $pid, $((SECONDS - t0))s)"
        continue
      fi
      if [[ -n $pid ]] && ! alive "$pid"; then
        forget_pid "$svc"
        fail_start "$svc" "process $pid exited during startup"
      fi
      if ((SECONDS - t0 >= TIMEOUT)); then
        fail_start "$svc" "not ready after ${TIMEOUT}s (pid ${pid:-?} left running; 'down $svc' stops it)"
      fi
      next+=("$svc")
    done
    pending=("${next[@]}")
    ((${#pending[@]})) && sleep 0.5
  done
  return 0
}

# A single node cannot place replicas: without this every new index is yellow.
# Lowest-order legacy template, so any template a test installs takes precedence.
es_defaults() {
  curl -sf -m 10 -XPUT "http://127.0.0.1:$ES_PORT/_template/tributary-single-node" \
    -H 'Content-Type: application/json' \
    -d '{"index_patterns":["*"],"order":-1000,"settings":{"index.number_of_replicas":0}}' >/dev/null \
    || say "es: warning: could not install the zero-replica index template"
}

check_svcs() {
  local s
  for s in "$@"; do
    case $s in kafka|mqtt|es) ;; *) die "unknown service '$s' (kafka, mqtt, es)" ;; esac
  done
}

cmd_up() {
  (($#)) || set -- "${ALL_SERVICES[@]}"
  check_svcs "$@"
  local svc pid
  for svc in "$@"; do
    case $svc in kafka) install_kafka ;; es) install_es ;; mqtt) install_mosquitto ;; esac
  done
  install_onnxruntime
  mkdir -p "$RUN" "$LOGS"
  for svc in "$@"; do
    if pid=$(ours "$svc"); then
      say "$svc: already running (pid $pid)"
      continue
    fi
    forget_pid "$svc"
    if port_open "$(port_of "$svc")"; then
      say "$svc: 127.0.0.1:$(port_of "$svc") already answers (not started by these scripts), reusing it"
      continue
    fi
    [[ $svc == kafka ]] && port_open $KAFKA_CONTROLLER_PORT && \
      die "kafka: controller port $KAFKA_CONTROLLER_PORT is taken by another process"
    say "$svc: starting"
    LAUNCHED[$svc]=$SECONDS
    "start_$svc"
  done
  WAIT_T0=$SECONDS
  wait_ready "$@"
}

# ---------------------------------------------------------------- stop

stop_bound() { case $1 in kafka) echo 60 ;; es) echo 60 ;; mqtt) echo 30 ;; esac; }

cmd_down() {
  (($#)) || set -- "${ALL_SERVICES[@]}"
  check_svcs "$@"
  local svc pid t0 bound
  for svc in "$@"; do
    if ! pid=$(ours "$svc"); then
      if [[ -f $RUN/$svc.pid ]]; then
        say "$svc: not running (stale pid file removed)"
        forget_pid "$svc"
      elif port_open "$(port_of "$svc")"; then
        say "$svc: not started by these scripts, left alone"
      else
        say "$svc: not running"
      fi
      continue
    fi
    bound=$(stop_bound "$svc")
    t0=$SECONDS
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && ((SECONDS - t0 < bound)); do sleep 0.2; done
    if alive "$pid"; then
      say "$svc: still running after ${bound}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while alive "$pid"; do sleep 0.1; done
    fi
    # The port can linger for a moment after the process is gone.
    while port_open "$(port_of "$svc")" && ((SECONDS - t0 < bound + 10)); do sleep 0.2; done
    forget_pid "$svc"
    say "$svc: stopped (pid $pid, $((SECONDS - t0))s)"
  done
}

cmd_restart() {
  (($#)) || die "restart needs a service name (kafka, mqtt, es)"
  check_svcs "$@"
  cmd_down "$@"
  cmd_up "$@"
}

# ---------------------------------------------------------------- info

cmd_status() {
  local svc pid port
  for svc in "${ALL_SERVICES[@]}"; do
    port=$(port_of "$svc")
    if pid=$(ours "$svc"); then
      if port_open "$port"; then
        echo "$svc: running (pid $pid, 127.0.0.1:$port)"
      else
        echo "$svc: starting (pid $pid, 127.0.0.1:$port not answering yet)"
      fi
    elif port_open "$port"; then
      echo "$svc: running (not started by these scripts, 127.0.0.1:$port)"
    else
      echo "$svc: stopped"
    fi
  done
  if [[ -e $ORT_LIB ]]; then echo "onnxruntime: $ORT_LIB"; else echo "onnxruntime: not installed"; fi
}

cmd_env() {
  cat <<EOF
export TRIBUTARY_CACHE='$CACHE'
export TRIBUTARY_RUN_DIR='$RUN'
export TRIBUTARY_KAFKA=127.0.0.1:$KAFKA_PORT
export TRIBUTARY_MQTT=tcp://127.0.0.1:$MQTT_PORT
export TRIBUTARY_ES=http://127.0.0.1:$ES_PORT
export ONNXRUNTIME_SHARED_LIBRARY_PATH='$ORT_LIB'
EOF
}

cmd_kafka_tool() {
  (($#)) || die "usage: kafka-tool <main class> [args…], e.g. org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:$KAFKA_PORT --list"
  install_kafka
  exec java -Dlog4j2.configurationFile="$CONF_DIR/kafka-tools-log4j2.properties" -cp "$KAFKA_LIBS/*" "$@"
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  local cmd=${1:-}; (($#)) && shift
  case $cmd in
    install) lock; cmd_install ;;
    up) lock; cmd_up "$@" ;;
    down) lock; cmd_down "$@" ;;
    restart) lock; cmd_restart "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    kafka-tool) cmd_kafka_tool "$@" ;;
    -h|--help|help) usage ;;
    *) usage ;;
  esac
}

main "$@"
