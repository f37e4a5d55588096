package worker

import (
	"context"
	"log/slog"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/connect"
)

// Exported wrappers for the distributed herder (worker/distributed), which
// lives in its own package but shares the standalone herder's helpers.

// KafkaConfigMap merges base and extra into a librdkafka config; a nil
// extra value removes the key.
func KafkaConfigMap(base map[string]string, extra map[string]any) *kafka.ConfigMap {
	return configMap(base, extra)
}

// DrainKafkaLogs forwards a client's log channel to log until it closes.
func DrainKafkaLogs(ch chan kafka.LogEvent, log *slog.Logger) { drainLogs(ch, log) }

// KafkaClusterID asks the brokers for the cluster id.
func KafkaClusterID(ctx context.Context, admin *kafka.AdminClient) (string, error) {
	return clusterID(ctx, admin)
}

// SinkOffsets reads a sink connector's consumer group offsets.
func SinkOffsets(ctx context.Context, admin *kafka.AdminClient, connector string) (ConnectorOffsets, error) {
	return sinkOffsets(ctx, admin, connector)
}

// AlterSinkOffsets writes offsets into a sink connector's idle group.
func AlterSinkOffsets(ctx context.Context, admin *kafka.AdminClient, connector string, offs []ConnectorOffset) error {
	return alterSinkOffsets(ctx, admin, connector, offs)
}

// ResetSinkOffsets deletes a sink connector's consumer group.
func ResetSinkOffsets(ctx context.Context, admin *kafka.AdminClient, connector string) error {
	return resetSinkOffsets(ctx, admin, connector)
}

// ValidateSourceOffsets checks a PATCH /offsets body for a source connector.
func ValidateSourceOffsets(offs []ConnectorOffset) error { return validateSourceOffsets(offs) }

// KindOf returns a stored config's plugin kind ("" when unresolvable).
func KindOf(reg *connect.Registry, raw map[string]string) connect.Kind { return kindOf(reg, raw) }

// Trace renders an error for a status trace.
func Trace(err error) string { return trace(err) }

// RestoreHidden keeps stored secrets where a client sent back "[hidden]".
func RestoreHidden(old, updated map[string]string) map[string]string {
	return restoreHidden(old, updated)
}
