package distributed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// topicSpec is one internal topic and what it must look like.
type topicSpec struct {
	role        string // "config", "offset", "status": for messages
	name        string
	partitions  int
	replication int
	exactlyOne  bool // the config topic: its total order is the cluster's
}

// ensureTopics creates the internal topics when absent and checks existing
// ones: compacted (a deleting topic would lose connectors and offsets after
// retention.ms) and, for the config topic, exactly one partition.
func ensureTopics(ctx context.Context, admin *kafka.AdminClient, specs []topicSpec) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	md, err := admin.GetMetadata(nil, false, 10000)
	if err != nil {
		return fmt.Errorf("reading cluster metadata: %w", err)
	}
	var create []kafka.TopicSpecification
	for _, s := range specs {
		if t, ok := md.Topics[s.name]; ok && t.Error.Code() == kafka.ErrNoError && len(t.Partitions) > 0 {
			continue
		}
		rf := s.replication
		if rf > len(md.Brokers) { // a single dev broker cannot hold 3 replicas
			rf = len(md.Brokers)
		}
		if rf <= 0 {
			rf = -1 // the broker's default.replication.factor
		}
		create = append(create, kafka.TopicSpecification{Topic: s.name, NumPartitions: s.partitions, ReplicationFactor: rf,
			Config: map[string]string{"cleanup.policy": "compact"}})
	}
	if len(create) > 0 {
		res, err := admin.CreateTopics(ctx, create)
		if err != nil {
			return fmt.Errorf("creating internal topics: %w", err)
		}
		for _, r := range res {
			if c := r.Error.Code(); c != kafka.ErrNoError && c != kafka.ErrTopicAlreadyExists {
				return fmt.Errorf("creating internal topic %s: %w", r.Topic, r.Error)
			}
		}
	}
	return checkTopics(ctx, admin, specs)
}

func checkTopics(ctx context.Context, admin *kafka.AdminClient, specs []topicSpec) error {
	var res []kafka.ConfigResource
	for _, s := range specs {
		res = append(res, kafka.ConfigResource{Type: kafka.ResourceTopic, Name: s.name})
	}
	// A just-created topic may take a moment to show in metadata.
	var descs []kafka.ConfigResourceResult
	var err error
	for attempt := 0; ; attempt++ {
		descs, err = admin.DescribeConfigs(ctx, res)
		if err == nil {
			bad := false
			for _, d := range descs {
				bad = bad || d.Error.Code() == kafka.ErrUnknownTopicOrPart
			}
			if !bad {
				break
			}
		}
		if attempt == 20 || ctx.Err() != nil {
			if err == nil {
				err = fmt.Errorf("topics not visible yet")
			}
			return fmt.Errorf("describing internal topics: %w", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for i, d := range descs {
		s := specs[i]
		if d.Error.Code() != kafka.ErrNoError {
			return fmt.Errorf("describing %s topic %s: %w", s.role, s.name, d.Error)
		}
		if p := d.Config["cleanup.policy"].Value; !strings.Contains(p, "compact") {
			return fmt.Errorf("%s topic %s has cleanup.policy=%s; it must be compact or records expire and state is lost: "+
				"run kafka-configs --alter --entity-type topics --entity-name %s --add-config cleanup.policy=compact", s.role, s.name, p, s.name)
		}
	}
	for _, s := range specs {
		if !s.exactlyOne {
			continue
		}
		name := s.name
		md, err := admin.GetMetadata(&name, false, 10000)
		if err != nil {
			return fmt.Errorf("reading metadata of %s: %w", name, err)
		}
		if n := len(md.Topics[name].Partitions); n != 1 {
			return fmt.Errorf("%s topic %s has %d partitions; it must have exactly 1 so that every worker reads its records in one order: "+
				"point %s at a new topic", s.role, name, n, ConfigTopicConfig)
		}
	}
	return nil
}

// partitionCount returns a topic's number of partitions.
func partitionCount(admin *kafka.AdminClient, topic string) (int, error) {
	md, err := admin.GetMetadata(&topic, false, 10000)
	if err != nil {
		return 0, fmt.Errorf("reading metadata of %s: %w", topic, err)
	}
	t, ok := md.Topics[topic]
	if !ok || t.Error.Code() != kafka.ErrNoError {
		return 0, fmt.Errorf("topic %s not found", topic)
	}
	return len(t.Partitions), nil
}
