# Sourced by the test and bench scripts: installs and starts the real services,
# exports their addresses, and on exit stops only the ones this run started.
svc="$(dirname "${BASH_SOURCE[0]}")/services.sh"
bash "$svc" install
_before=$(bash "$svc" status)
_started=()
for _s in kafka mqtt es; do
  grep -q "^$_s: running" <<<"$_before" || _started+=("$_s")
done
_stop_started() {
  if ((${#_started[@]})); then bash "$svc" down "${_started[@]}" || true; fi
}
trap _stop_started EXIT
bash "$svc" up
eval "$(bash "$svc" env)"
export TRIBUTARY_REQUIRE_SERVICES=1
