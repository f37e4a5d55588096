package worker

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/connect"
)

// Sink offsets live in the connector's consumer group; REST shows them in
// Kafka Connect's shape.
const (
	sinkPartitionTopic = "kafka_topic"
	sinkPartitionPart  = "kafka_partition"
	sinkOffsetKey      = "kafka_offset"
)

// SinkGroup is the consumer group of a sink connector.
func SinkGroup(connector string) string { return "connect-" + connector }

func sinkOffsets(ctx context.Context, admin *kafka.AdminClient, connector string) (ConnectorOffsets, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: SinkGroup(connector)}})
	if err != nil {
		return ConnectorOffsets{}, fmt.Errorf("reading offsets of group %s: %w", SinkGroup(connector), err)
	}
	out := ConnectorOffsets{Offsets: []ConnectorOffset{}}
	for _, g := range res.ConsumerGroupsTopicPartitions {
		for _, tp := range g.Partitions {
			if tp.Error != nil || tp.Offset < 0 {
				continue
			}
			out.Offsets = append(out.Offsets, ConnectorOffset{
				Partition: map[string]any{sinkPartitionTopic: *tp.Topic, sinkPartitionPart: tp.Partition},
				Offset:    map[string]any{sinkOffsetKey: int64(tp.Offset)},
			})
		}
	}
	sort.Slice(out.Offsets, func(i, j int) bool {
		a, b := out.Offsets[i].Partition, out.Offsets[j].Partition
		if a[sinkPartitionTopic] != b[sinkPartitionTopic] {
			return a[sinkPartitionTopic].(string) < b[sinkPartitionTopic].(string)
		}
		return a[sinkPartitionPart].(int32) < b[sinkPartitionPart].(int32)
	})
	return out, nil
}

// alterSinkOffsets writes offsets into the (idle) consumer group; a null
// offset resets the partition to its earliest offset, which is where
// the connector's consumer (auto.offset.reset=earliest) would start anyway.
func alterSinkOffsets(ctx context.Context, admin *kafka.AdminClient, connector string, offs []ConnectorOffset) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var tps []kafka.TopicPartition
	reset := map[kafka.TopicPartition]kafka.OffsetSpec{}
	for _, o := range offs {
		topic, part, err := parseSinkPartition(o.Partition)
		if err != nil {
			return err
		}
		tp := kafka.TopicPartition{Topic: &topic, Partition: part}
		if o.Offset == nil {
			reset[tp] = kafka.EarliestOffsetSpec
			continue
		}
		off, err := parseSinkOffset(o.Offset)
		if err != nil {
			return err
		}
		tp.Offset = kafka.Offset(off)
		tps = append(tps, tp)
	}
	if len(reset) > 0 {
		res, err := admin.ListOffsets(ctx, reset)
		if err != nil {
			return fmt.Errorf("listing earliest offsets: %w", err)
		}
		for tp, info := range res.ResultInfos {
			if info.Error.Code() != kafka.ErrNoError {
				return fmt.Errorf("listing earliest offset of %s-%d: %w", *tp.Topic, tp.Partition, info.Error)
			}
			tp.Offset = info.Offset
			tps = append(tps, tp)
		}
	}
	if len(tps) == 0 {
		return nil
	}
	res, err := admin.AlterConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: SinkGroup(connector), Partitions: tps}})
	if err != nil {
		return fmt.Errorf("altering offsets of group %s: %w", SinkGroup(connector), err)
	}
	for _, g := range res.ConsumerGroupsTopicPartitions {
		for _, tp := range g.Partitions {
			if tp.Error != nil {
				return fmt.Errorf("altering offset of %s-%d: %w", *tp.Topic, tp.Partition, tp.Error)
			}
		}
	}
	return nil
}

func resetSinkOffsets(ctx context.Context, admin *kafka.AdminClient, connector string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := admin.DeleteConsumerGroups(ctx, []string{SinkGroup(connector)})
	if err != nil {
		return fmt.Errorf("deleting group %s: %w", SinkGroup(connector), err)
	}
	for _, r := range res.ConsumerGroupResults {
		if r.Error.Code() != kafka.ErrNoError && r.Error.Code() != kafka.ErrGroupIDNotFound {
			return fmt.Errorf("deleting group %s: %w", SinkGroup(connector), r.Error)
		}
	}
	return nil
}

func parseSinkPartition(p map[string]any) (string, int32, error) {
	topic, ok := p[sinkPartitionTopic].(string)
	if !ok || topic == "" {
		return "", 0, BadRequest("sink connector offsets need a partition with a string %q", sinkPartitionTopic)
	}
	n, ok := wholeNumber(p[sinkPartitionPart])
	if !ok || n < 0 || n > math.MaxInt32 {
		return "", 0, BadRequest("sink connector offsets need a partition with a non-negative integer %q", sinkPartitionPart)
	}
	return topic, int32(n), nil
}

func parseSinkOffset(o map[string]any) (int64, error) {
	n, ok := wholeNumber(o[sinkOffsetKey])
	if !ok || n < 0 {
		return 0, BadRequest("sink connector offsets need an offset with a non-negative integer %q", sinkOffsetKey)
	}
	return n, nil
}

func wholeNumber(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n != math.Trunc(n) {
			return 0, false
		}
		return int64(n), true
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case int:
		return int64(n), true
	}
	return 0, false
}

// validateSourceOffsets checks a PATCH body for a source connector.
func validateSourceOffsets(offs []ConnectorOffset) error {
	for _, o := range offs {
		if o.Partition == nil {
			return BadRequest("every offset entry needs a non-null partition")
		}
	}
	return nil
}

// kindOf reads a stored config's plugin kind.
func kindOf(reg *connect.Registry, raw map[string]string) connect.Kind {
	p, err := reg.Lookup(raw[ConnectorClassConfig], connect.KindSource, connect.KindSink)
	if err != nil {
		return ""
	}
	return p.Kind
}
