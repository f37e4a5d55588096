#!/usr/bin/env bash
# Syntax check of docker/ (no Docker engine needed; CI runs it):
#   - `docker compose config` when the compose plugin is installed (it needs no engine);
#   - otherwise, and always: compose.yaml parsed with PyYAML and checked for the demo's
#     structure (services, build/image, depends_on targets and conditions, bind-mount
#     sources that exist, port syntax); a structural lint of docker/Dockerfile (known
#     instructions, FROM first, unique stage names, COPY --from of an earlier stage,
#     COPY sources that exist, exec-form JSON arrays); the Grafana provisioning YAML and
#     dashboard JSON parse; shell scripts pass `bash -n` / `sh -n`.
# Exit status 0 = all good; every problem is printed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
fail=0

if docker compose version >/dev/null 2>&1; then
  if docker compose -f docker/compose.yaml config --quiet; then
    echo "check-docker: docker compose config: ok"
  else
    echo "check-docker: docker compose config failed" >&2
    fail=1
  fi
else
  echo "check-docker: no 'docker compose' plugin here; structural checks only"
fi

for s in docker/setup-connectors.sh; do
  sh -n "$s" || { echo "check-docker: $s: syntax error" >&2; fail=1; }
done
bash -n scripts/demo.sh || { echo "check-docker: scripts/demo.sh: syntax error" >&2; fail=1; }

PY=${PYTHON:-python3}
if ! "$PY" -c 'import yaml' 2>/dev/null; then
  echo "check-docker: PyYAML is missing for $PY (pip install pyyaml)" >&2
  exit 1
fi

"$PY" - <<'PYEOF' || fail=1
import json, os, re, sys
import yaml

problems = []
def bad(msg): problems.append(msg)

# ---- compose.yaml -----------------------------------------------------------
path = "docker/compose.yaml"
try:
    c = yaml.safe_load(open(path))
except yaml.YAMLError as e:
    print(f"check-docker: {path}: invalid YAML: {e}", file=sys.stderr); sys.exit(1)
services = c.get("services") or {}
want = {"kafka", "mosquitto", "elasticsearch", "grafana", "worker-1", "worker-2", "simulator"}
for s in sorted(want - services.keys()):
    bad(f"{path}: service {s!r} missing")
known_keys = {"image", "build", "hostname", "environment", "ports", "volumes", "depends_on", "healthcheck",
              "command", "entrypoint", "restart", "user", "working_dir", "networks", "labels", "expose",
              "container_name", "env_file", "deploy", "ulimits", "mem_limit", "profiles"}
images = {}
for name, s in services.items():
    if not isinstance(s, dict):
        bad(f"{path}: service {name}: not a mapping"); continue
    for k in s:
        if k not in known_keys:
            bad(f"{path}: service {name}: unknown key {k!r}")
    if "image" not in s and "build" not in s:
        bad(f"{path}: service {name}: needs image or build")
    b = s.get("build")
    if b:
        ctx = os.path.normpath(os.path.join("docker", b.get("context", ".") if isinstance(b, dict) else b))
        df = os.path.join(ctx, b.get("dockerfile", "Dockerfile")) if isinstance(b, dict) else os.path.join(ctx, "Dockerfile")
        if not os.path.isdir(ctx): bad(f"{path}: service {name}: build context {ctx} missing")
        if not os.path.isfile(df): bad(f"{path}: service {name}: Dockerfile {df} missing")
        images[s.get("image", name)] = name
    deps = s.get("depends_on") or {}
    if isinstance(deps, list):
        deps = {d: {} for d in deps}
    for d, cond in deps.items():
        if d not in services:
            bad(f"{path}: service {name}: depends_on unknown service {d!r}")
        cnd = (cond or {}).get("condition", "service_started")
        if cnd not in ("service_started", "service_healthy", "service_completed_successfully"):
            bad(f"{path}: service {name}: unknown condition {cnd!r}")
        if cnd == "service_healthy" and d in services and "healthcheck" not in services[d] \
                and not (services[d].get("build") or services[d].get("image") in images):
            bad(f"{path}: service {name}: waits for {d} healthy, but {d} has no healthcheck")
    for v in s.get("volumes") or []:
        src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
        if src.startswith((".", "/")):
            p = os.path.normpath(os.path.join("docker", src))
            if not os.path.exists(p): bad(f"{path}: service {name}: volume source {p} missing")
        elif src and src not in (c.get("volumes") or {}):
            bad(f"{path}: service {name}: named volume {src!r} not declared")
    for p in s.get("ports") or []:
        if not re.fullmatch(r"(\d+(\.\d+){3}:)?\d+(-\d+)?(:\d+(-\d+)?)?(/(tcp|udp))?", str(p)):
            bad(f"{path}: service {name}: bad port {p!r}")
    hc = s.get("healthcheck")
    if hc and not (isinstance(hc.get("test"), list) and hc["test"][0] in ("CMD", "CMD-SHELL", "NONE")):
        bad(f"{path}: service {name}: healthcheck test must be [CMD|CMD-SHELL, …]")
    for key in ("command", "entrypoint"):
        v = s.get(key)
        if v is not None and not isinstance(v, (str, list)):
            bad(f"{path}: service {name}: {key} must be a string or list")
for name, s in services.items():
    img = s.get("image")
    if img and "build" not in s and ":" not in img:
        bad(f"{path}: service {name}: image {img!r} has no tag (pin one)")

# ---- Dockerfile ---------------------------------------------------------------
path = "docker/Dockerfile"
instr = {"FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
         "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"}
lines, cur = [], ""
for raw in open(path).read().split("\n"):
    s = raw.strip()
    if not cur and (not s or s.startswith("#")):
        continue
    if s.startswith("#") and cur:
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "; continue
    cur += s
    lines.append(cur); cur = ""
if cur: bad(f"{path}: file ends inside a line continuation")
stages, seen_from = [], False
for ln in lines:
    word, _, rest = ln.partition(" ")
    w = word.upper()
    if w not in instr:
        bad(f"{path}: unknown instruction {word!r}"); continue
    if not seen_from and w not in ("FROM", "ARG"):
        bad(f"{path}: {w} before the first FROM")
    if w == "FROM":
        seen_from = True
        m = re.fullmatch(r"(--platform=\S+\s+)?(\S+)(\s+AS\s+(\S+))?", rest.strip(), re.I)
        if not m: bad(f"{path}: bad FROM {rest!r}"); continue
        if m.group(4):
            if m.group(4) in stages: bad(f"{path}: stage {m.group(4)!r} defined twice")
            stages.append(m.group(4))
        else:
            stages.append(None)
    if w in ("COPY", "ADD"):
        args = rest.split()
        frm = [a.split("=", 1)[1] for a in args if a.startswith("--from=")]
        srcs = [a for a in args if not a.startswith("--")][:-1]
        if not srcs: bad(f"{path}: {w} without source and destination: {rest!r}")
        if frm:
            if frm[0] not in stages[:-1]: bad(f"{path}: COPY --from={frm[0]}: no earlier stage of that name")
        else:
            for src in srcs:
                if "$" in src or "*" in src: continue
                if not os.path.exists(src): bad(f"{path}: {w} source {src!r} missing in the build context")
    if w in ("CMD", "ENTRYPOINT") and rest.strip().startswith("["):
        try: json.loads(rest)
        except ValueError: bad(f"{path}: {w} exec form is not a JSON array: {rest!r}")
if not any(l.upper().startswith("USER ") for l in lines): bad(f"{path}: runtime runs as root (no USER)")
if len(stages) < 2: bad(f"{path}: expected a multi-stage build")

# ---- Grafana provisioning ----------------------------------------------------
for p in ("config-examples/grafana/provisioning/datasources/elasticsearch.yaml",
          "config-examples/grafana/provisioning/dashboards/tributary.yaml"):
    try:
        d = yaml.safe_load(open(p))
        if d.get("apiVersion") != 1: bad(f"{p}: apiVersion must be 1")
    except Exception as e:
        bad(f"{p}: {e}")
ds = yaml.safe_load(open("config-examples/grafana/provisioning/datasources/elasticsearch.yaml"))["datasources"][0]
dash = json.load(open("config-examples/grafana/dashboards/car-sensors.json"))
for panel in dash["panels"]:
    for t in panel.get("targets", []):
        if t.get("datasource", {}).get("uid") != ds["uid"]:
            bad(f"dashboard panel {panel['title']!r}: datasource uid is not {ds['uid']!r}")

for p in problems:
    print("check-docker: " + p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"check-docker: compose.yaml ({len(services)} services), Dockerfile ({len(stages)} stages), Grafana provisioning: ok")
PYEOF

exit $fail
