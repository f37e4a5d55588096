package connect

// AnyPartition as a source record's Partition lets Kafka's partitioner pick
// the partition from the key. A source task that does not care must set it:
// the zero value 0 means partition 0.
const AnyPartition int32 = -1
