#!/bin/sh
# Creates (or updates: PUT …/config) the demo's connectors from config-examples/connectors,
# pointed at the compose network's hosts. Run by the "connectors" service of compose.yaml.
set -eu
REST=${REST:-http://worker-1:8083}
for f in /opt/tributary/config-examples/connectors/demo-es-sink.json /opt/tributary/config-examples/connectors/demo-mqtt-source.json; do
  name=$(jq -r .name "$f")
  jq -c '.config
    | if has("mqtt.server.uri") then .["mqtt.server.uri"] = "tcp://mosquitto:1883" else . end
    | if has("connection.url") then .["connection.url"] = "http://elasticsearch:9200" else . end' "$f" >/tmp/body.json
  i=0
  until code=$(curl -sS -o /tmp/answer.json -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
      --data @/tmp/body.json "$REST/connectors/$name/config") && { [ "$code" = 200 ] || [ "$code" = 201 ]; }; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then echo "PUT $name failed: HTTP ${code:-?} $(cat /tmp/answer.json 2>/dev/null)" >&2; exit 1; fi
    sleep 2
  done
  echo "connector $name: HTTP $code"
done
curl -fsS "$REST/connectors?expand=status" | jq -c '.[] | .status | {name, state: .connector.state, tasks: [.tasks[].state]}'
