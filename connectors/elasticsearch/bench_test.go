package elasticsearch

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/olivere/elastic/v7"

	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/internal/testenv"
)

const benchDocs = 20000

func benchEnv(b *testing.B) (*elastic.Client, string, string) {
	u := testenv.Elasticsearch(b)
	c, err := elastic.NewClient(elastic.SetURL(u), elastic.SetSniff(false), elastic.SetHealthcheck(false))
	if err != nil {
		b.Fatal(err)
	}
	prefix := "tribbench-" + randomSuffix()
	b.Cleanup(func() { _, _ = c.DeleteIndex(prefix + "*").Do(context.Background()) })
	return c, u, prefix
}

func benchRecords(topic string, round int) []*connect.Record {
	recs := make([]*connect.Record, benchDocs)
	for i := range recs {
		off := int64(round*benchDocs + i)
		recs[i] = &connect.Record{Topic: topic, Partition: int32(i % 4), Offset: off, Timestamp: day,
			Key: fmt.Sprintf("car-%d", off), Value: map[string]any{
				"car_id": fmt.Sprintf("car-%d", off%1000), "timestamp": day, "speed": 50.5, "coolant_temp": 90.1,
				"battery_voltage": 12.6, "tire_pressure11": 32.0, "accelerometer11_value": 0.4, "anomaly_score": 0.02, "is_anomaly": false,
				"failure_occurred": "false"}}
	}
	return recs
}

// BenchmarkSinkPutPreCommit measures documents/s through Put and PreCommit
// (defaults: batch.size 2000, 5 in flight) into the real Elasticsearch.
func BenchmarkSinkPutPreCommit(b *testing.B) {
	_, u, prefix := benchEnv(b)
	cfg, err := ConfigDef.Parse(map[string]string{cfgURL: u, cfgReadTimeout: "30000"})
	if err != nil {
		b.Fatal(err)
	}
	task := &Task{}
	if err := task.Start(context.Background(), cfg, &fakeContext{paused: map[connect.TopicPartition]bool{}}); err != nil {
		b.Fatal(err)
	}
	defer task.Stop()
	ctx := context.Background()
	b.ResetTimer()
	for round := range b.N {
		b.StopTimer()
		recs := benchRecords(prefix+"-sink", round)
		current := consumed(recs)
		b.StartTimer()
		for i := 0; i < len(recs); i += 500 {
			if err := task.Put(ctx, recs[i:i+500]); err != nil {
				b.Fatal(err)
			}
		}
		for {
			got, err := task.PreCommit(ctx, current)
			if err != nil {
				b.Fatal(err)
			}
			if equalOffsets(got, current) {
				break
			}
		}
	}
	b.ReportMetric(float64(b.N*benchDocs)/b.Elapsed().Seconds(), "docs/s")
}

// BenchmarkRawBulkLimit sends the same documents as pre-built bulk requests
// with the same batch size and concurrency: the ceiling for the sink.
func BenchmarkRawBulkLimit(b *testing.B) {
	c, _, prefix := benchEnv(b)
	s := mustSettings(b, map[string]string{cfgURL: "http://x"})
	ctx := context.Background()
	b.ResetTimer()
	for round := range b.N {
		b.StopTimer()
		var batches [][]elastic.BulkableRequest
		var cur []elastic.BulkableRequest
		for _, r := range benchRecords(prefix+"-raw", round) {
			o, err := s.toOp(r)
			if err != nil {
				b.Fatal(err)
			}
			req := bulkRequest(o)
			_, _ = req.Source() // pre-serialize: only the sending is measured
			cur = append(cur, req)
			if len(cur) == s.batchSize {
				batches = append(batches, cur)
				cur = nil
			}
		}
		if len(cur) > 0 {
			batches = append(batches, cur)
		}
		b.StartTimer()
		work := make(chan []elastic.BulkableRequest)
		var wg sync.WaitGroup
		for range s.maxInFlight {
			wg.Go(func() {
				for reqs := range work {
					resp, err := c.Bulk().Add(reqs...).Do(ctx)
					if err != nil || resp.Errors {
						b.Error("bulk failed", err)
					}
				}
			})
		}
		for _, batch := range batches {
			work <- batch
		}
		close(work)
		wg.Wait()
	}
	b.ReportMetric(float64(b.N*benchDocs)/b.Elapsed().Seconds(), "docs/s")
}

func equalOffsets(a, b map[connect.TopicPartition]int64) bool {
	for tp, off := range b {
		if a[tp] != off {
			return false
		}
	}
	return true
}
