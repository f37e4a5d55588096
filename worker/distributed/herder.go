package distributed

import (
	"context"
	"crypto/tls"
	"fmt"
	"github.com/tributary-io/tributary/configprovider"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/connect"
	"github.com/tributary-io/tributary/worker"
)

// rebalanceMsg is Kafka Connect's answer while the cluster has no usable leader.
const rebalanceMsg = "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"

func conflictRebalance() error {
	return &worker.Error{Code: http.StatusConflict, Message: rebalanceMsg}
}

// Options wire a Herder.
type Options struct {
	Config   *Config
	Registry *connect.Registry
	// WorkerID is the advertised host:port; statuses name the worker by it
	// and it must be unique in the cluster.
	WorkerID string
	// URL is the advertised base URL other workers forward writes to.
	URL string
	Log *slog.Logger
	// Sign, when set, signs requests forwarded to the leader.
	Sign func(*http.Request) error
	// TrustForwarded, when set, says whether a request marked as forwarded
	// really came from a worker (a valid signature); others are refused.
	TrustForwarded func(*http.Request) bool
	// ClientTLS is used to reach other workers over https.
	ClientTLS *tls.Config
}

// Herder is the distributed herder: it implements rest.Herder.
type Herder struct {
	// Last state this worker reported for what it owns, to re-assert.
	lastConn map[string]worker.StateInfo
	lastTask map[worker.ConnectorTaskID]worker.StateInfo

	sign           func(*http.Request) error
	trustForwarded func(*http.Request) bool
	transport      *http.Transport

	cfg      *Config
	reg      *connect.Registry
	id, url  string
	clientID string // group member client.id: URL plus a per-process nonce
	log      *slog.Logger

	w          *worker.Worker
	admin      *kafka.AdminClient
	producer   *kafka.Producer
	configLog  *kafkaLog
	statusLog  *kafkaLog
	offsets    *KafkaOffsetStore
	statuses   *statusView
	group      *kafka.Consumer
	deliveries chan kafka.Event
	epoch      atomic.Int64 // applied assignment epoch: the generation of our statuses

	mu           sync.Mutex
	v            *view
	catchingUp   bool
	restarts     []restartReq
	needTasks    map[string]bool
	owned        map[string]bool // connectors whose status this worker writes
	ownedTasks   map[worker.ConnectorTaskID]bool
	clusterID    string
	member       bool // in the group, per the coordinator
	leaderClient string
	leaderURL    string
	started      bool

	writeMu    sync.Mutex // serialises the leader's check-then-write operations
	wake       chan struct{}
	leaderWake chan struct{}
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	drained    chan struct{}

	// owned by the reconcile goroutine
	runConns map[string]*runConn
	runTasks map[worker.ConnectorTaskID]*runTask
	waiting  map[worker.ConnectorTaskID]time.Time
	// owned by the monitor goroutine
	missingSince map[string]time.Time
}

type runConn struct {
	raw    map[string]string
	target worker.TargetState
	failed bool
}

type runTask struct {
	cfg    map[string]string
	target worker.TargetState
}

// New builds the herder and its worker; Start connects.
func New(opts Options) (*Herder, error) {
	cfg := opts.Config
	h := &Herder{cfg: cfg, reg: opts.Registry, id: opts.WorkerID, url: opts.URL, log: opts.Log,
		clientID: opts.URL + "#" + strconv.FormatInt(time.Now().UnixNano(), 36),
		v:        newView(), catchingUp: true, needTasks: map[string]bool{}, owned: map[string]bool{},
		ownedTasks: map[worker.ConnectorTaskID]bool{}, lastConn: map[string]worker.StateInfo{},
		lastTask: map[worker.ConnectorTaskID]worker.StateInfo{}, wake: make(chan struct{}, 1), leaderWake: make(chan struct{}, 1),
		deliveries: make(chan kafka.Event, 1024), drained: make(chan struct{}),
		runConns: map[string]*runConn{}, runTasks: map[worker.ConnectorTaskID]*runTask{},
		waiting: map[worker.ConnectorTaskID]time.Time{}, missingSince: map[string]time.Time{}}
	h.offsets = newOffsetStore(30 * time.Second)
	h.w = worker.NewWorker(opts.WorkerID, cfg.Config, opts.Registry, h.offsets, h, opts.Log)
	resolver, err := configprovider.New(cfg.Props)
	if err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	h.w.SetConfigResolver(resolver)
	h.sign, h.trustForwarded = opts.Sign, opts.TrustForwarded
	h.transport = forwardTransport.Clone()
	h.transport.TLSClientConfig = opts.ClientTLS
	h.statuses = newStatusView(h.w.Metrics)
	h.admin, err = kafka.NewAdminClient(worker.KafkaConfigMap(cfg.ClientConfig("admin", nil),
		map[string]any{"go.logs.channel.enable": nil, "log_level": 2}))
	if err != nil {
		return nil, fmt.Errorf("creating kafka admin client: %w", err)
	}
	h.producer, err = kafka.NewProducer(worker.KafkaConfigMap(cfg.ClientConfig("producer", nil), map[string]any{
		"client.id":          "tributary-herder-" + opts.WorkerID,
		"acks":               "all",
		"enable.idempotence": true,
		"linger.ms":          0,
		// Java's partitioner, so records land where Kafka Connect puts them.
		"partitioner": "murmur2_random",
	}))
	if err != nil {
		h.admin.Close()
		return nil, fmt.Errorf("creating herder producer: %w", err)
	}
	go worker.DrainKafkaLogs(h.producer.Logs(), opts.Log.With("client", "herder-producer"))
	return h, nil
}

// Worker returns the herder's worker.
func (h *Herder) Worker() *worker.Worker { return h.w }

// Start creates or checks the internal topics, reads them, joins the group
// and starts the herder's loops. It returns once the state is read; the
// worker then becomes healthy when the group has admitted it.
func (h *Herder) Start(ctx context.Context) error {
	id, err := worker.KafkaClusterID(ctx, h.admin)
	if err != nil {
		return err
	}
	specs := []topicSpec{
		{role: "config", name: h.cfg.configTopic(), partitions: 1, replication: h.cfg.Dist.Int(ConfigReplicationConfig), exactlyOne: true},
		{role: "offset", name: h.cfg.offsetTopic(), partitions: h.cfg.Dist.Int(OffsetPartitionsConfig), replication: h.cfg.Dist.Int(OffsetReplicationConfig)},
		{role: "status", name: h.cfg.statusTopic(), partitions: h.cfg.Dist.Int(StatusPartitionsConfig), replication: h.cfg.Dist.Int(StatusReplicationConfig)},
	}
	if err := ensureTopics(ctx, h.admin, specs); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go h.drainDeliveries() // ends in Stop, after the producer closed
	logs := []struct {
		dst   **kafkaLog
		topic string
		apply func(k, v []byte)
	}{
		{&h.configLog, h.cfg.configTopic(), h.applyConfig},
		{&h.statusLog, h.cfg.statusTopic(), func(k, v []byte) { h.statuses.apply(k, v); h.kick(h.wake) }},
		{&h.offsets.log, h.cfg.offsetTopic(), h.offsets.apply},
	}
	for i, l := range logs {
		n, err := partitionCount(h.admin, l.topic)
		if err != nil {
			return err
		}
		kl, err := newKafkaLog(h.cfg.Config, l.topic, n, h.producer, fmt.Sprintf("tributary-%s-reader-%d-%s", []string{"config", "status", "offset"}[i], time.Now().UnixNano(), h.id), l.apply, h.log)
		if err != nil {
			return err
		}
		*l.dst = kl
		h.wg.Add(1)
		go func() { defer h.wg.Done(); kl.run(runCtx) }()
	}
	for _, l := range []*kafkaLog{h.configLog, h.statusLog, h.offsets.log} {
		if err := l.readToEnd(ctx); err != nil {
			return fmt.Errorf("reading internal topics: %w", err)
		}
	}
	h.mu.Lock()
	h.catchingUp, h.clusterID, h.started = false, id, true
	h.mu.Unlock()

	h.group, err = kafka.NewConsumer(worker.KafkaConfigMap(h.cfg.ClientConfig("consumer", nil), map[string]any{
		"group.id":                      h.cfg.groupID(),
		"client.id":                     h.clientID,
		"session.timeout.ms":            int(h.cfg.sessionTimeout().Milliseconds()),
		"heartbeat.interval.ms":         int(h.cfg.heartbeat().Milliseconds()),
		"max.poll.interval.ms":          int(h.cfg.Dist.Duration(RebalanceTimeoutConfig).Milliseconds()),
		"partition.assignment.strategy": "cooperative-sticky",
		"enable.auto.commit":            false,
		"auto.offset.reset":             "latest",
	}))
	if err != nil {
		return fmt.Errorf("creating group member: %w", err)
	}
	go worker.DrainKafkaLogs(h.group.Logs(), h.log.With("client", "group-member"))
	if err := h.group.Subscribe(h.cfg.configTopic(), h.onRebalance); err != nil {
		return fmt.Errorf("joining group %s: %w", h.cfg.groupID(), err)
	}
	h.wg.Add(3)
	go func() { defer h.wg.Done(); h.pollGroup(runCtx) }()
	go func() { defer h.wg.Done(); h.monitor(runCtx) }()
	go func() { defer h.wg.Done(); h.reconcileLoop(runCtx) }()
	return nil
}

// Stop stops every task and connector, leaves the group and closes the
// Kafka clients; bounded by the tasks' graceful timeout plus a few seconds.
func (h *Herder) Stop() {
	if h.cancel != nil {
		h.cancel()
	}
	// Loops end first so nothing restarts what Stop stops.
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(h.cfg.GracefulTimeout() + 15*time.Second):
		h.log.Error("herder loops did not end in time")
	}
	h.w.Stop()
	if h.group != nil {
		_ = h.group.Close() // leaves the group: the others rebalance at once
	}
	for _, l := range []*kafkaLog{h.configLog, h.statusLog, h.offsets.log} {
		if l != nil {
			l.close()
		}
	}
	h.producer.Flush(5000)
	h.producer.Close()
	close(h.drained)
	h.admin.Close()
}

// drainDeliveries reports failed asynchronous (status) writes.
func (h *Herder) drainDeliveries() {
	for {
		select {
		case ev := <-h.deliveries:
			if m, ok := ev.(*kafka.Message); ok && m.TopicPartition.Error != nil {
				h.log.Warn("status write failed", "key", string(m.Key), "error", m.TopicPartition.Error)
			}
		case <-h.drained:
			return
		}
	}
}

func (h *Herder) kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// applyConfig is the config reader's callback.
func (h *Herder) applyConfig(key, value []byte) {
	h.mu.Lock()
	r, changed := h.v.applyConfig(string(key), value)
	if r != nil && !h.catchingUp {
		h.restarts = append(h.restarts, *r) // old requests were served before
	}
	h.mu.Unlock()
	if changed || r != nil {
		h.kick(h.wake)
		h.kick(h.leaderWake)
	}
}

// --- status listener: the worker reports states, we write them ---

func (h *Herder) ConnectorState(name string, s worker.StateInfo) {
	h.mu.Lock()
	ok := h.owned[name]
	if ok {
		h.lastConn[name] = s
	}
	h.mu.Unlock()
	if ok {
		h.writeStatus(statusConnPrefix+name, s)
	}
}

func (h *Herder) TaskState(id worker.ConnectorTaskID, s worker.StateInfo) {
	h.mu.Lock()
	ok := h.ownedTasks[id]
	if ok {
		h.lastTask[id] = s
	}
	h.mu.Unlock()
	if ok {
		h.writeStatus(taskKey(statusTaskPrefix, id), s)
	}
}

func (h *Herder) writeStatus(key string, s worker.StateInfo) {
	h.statusLog.writeAsync(statusRecord(key, statusValue{State: s.State, Trace: s.Trace, WorkerID: s.WorkerID,
		Generation: h.epoch.Load()}), h.deliveries)
}

func (h *Herder) TopicUsed(connector, topic string) {
	if _, ok := h.statuses.topicKeys(connector)[topic]; ok {
		return
	}
	var v topicValue
	v.Topic.Name, v.Topic.Connector, v.Topic.Discover = topic, connector, time.Now().UnixMilli()
	h.statusLog.writeAsync(statusRecord(statusTopicPrefix+topic+"-connector-"+connector, v), h.deliveries)
}

// --- reconcile: make this worker run exactly its share ---

func (h *Herder) reconcileLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second) // re-checks tasks waiting for a handoff
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-tick.C:
		}
		h.reconcile(ctx)
	}
}

func (h *Herder) requestTaskConfigs(name string) {
	h.mu.Lock()
	h.needTasks[name] = true
	h.mu.Unlock()
	h.kick(h.wake)
}

type connSpec struct {
	raw    map[string]string
	target worker.TargetState
}

type taskSpec struct {
	cfg    map[string]string
	target worker.TargetState
}

func (h *Herder) reconcile(ctx context.Context) {
	h.mu.Lock()
	desiredConns := map[string]connSpec{}
	desiredTasks := map[worker.ConnectorTaskID]taskSpec{}
	var epoch int64
	if a := h.v.assignment; a != nil && h.member {
		epoch = a.Epoch
		mine := a.Assignments[h.id]
		for _, c := range mine.Connectors {
			if raw, ok := h.v.configs[c]; ok {
				desiredConns[c] = connSpec{raw: raw, target: h.v.target(c)}
			}
		}
		for _, id := range mine.Tasks {
			if h.v.taskExists(id) {
				desiredTasks[id] = taskSpec{cfg: h.v.taskConfigs[id.Connector][id.Task], target: h.v.target(id.Connector)}
			}
		}
	}
	restarts := h.restarts
	h.restarts = nil
	needTasks := h.needTasks
	h.needTasks = map[string]bool{}
	exists := func(id worker.ConnectorTaskID) bool { return h.v.taskExists(id) }
	h.mu.Unlock()
	rebalance := epoch > h.epoch.Load()
	if rebalance {
		h.epoch.Store(epoch)
		h.w.Metrics.Rebalancing.Set(1)
		start := time.Now()
		defer func() {
			h.w.Metrics.Rebalancing.Set(0)
			h.w.Metrics.Rebalances.Inc()
			h.w.Metrics.RebalanceTime.Observe(time.Since(start).Seconds())
			h.w.Metrics.Epoch.Set(float64(epoch))
			if base, _, known := h.leader(); known {
				h.w.Metrics.Leader.Reset()
				h.w.Metrics.Leader.WithLabelValues(base).Set(1)
			}
		}()
	}

	// Stop what is no longer ours (or changed), all at once.
	var stop, released []worker.ConnectorTaskID
	for id, rt := range h.runTasks {
		d, ok := desiredTasks[id]
		if ok && maps.Equal(d.cfg, rt.cfg) {
			continue
		}
		stop = append(stop, id)
		h.mu.Lock()
		delete(h.ownedTasks, id)
		if !ok && exists(id) {
			released = append(released, id)
		}
		h.mu.Unlock()
	}
	if len(stop) > 0 {
		h.w.StopTasks(stop)
		for _, id := range stop {
			delete(h.runTasks, id)
		}
		// Tell the next owner it may start them (see startTasks).
		for _, id := range released {
			h.writeStatus(taskKey(statusTaskPrefix, id), worker.StateInfo{State: worker.StateUnassigned, WorkerID: h.id})
		}
		h.log.Info("stopped tasks", "count", len(stop), "released", len(released))
	}
	for name, rc := range h.runConns {
		d, ok := desiredConns[name]
		if ok && maps.Equal(d.raw, rc.raw) && (d.target == worker.TargetStopped) == (rc.target == worker.TargetStopped) {
			continue
		}
		h.mu.Lock()
		delete(h.owned, name)
		_, still := h.v.configs[name]
		h.mu.Unlock()
		h.w.StopConnector(name)
		delete(h.runConns, name)
		if !ok && still {
			h.writeStatus(statusConnPrefix+name, worker.StateInfo{State: worker.StateUnassigned, WorkerID: h.id})
		}
	}

	// Start connectors that are ours; follow target changes of the others.
	for _, name := range slices.Sorted(maps.Keys(desiredConns)) {
		d := desiredConns[name]
		if rc, ok := h.runConns[name]; ok {
			if rc.target != d.target {
				rc.target = d.target
				if !rc.failed {
					st := worker.StateRunning
					if d.target == worker.TargetPaused {
						st = worker.StatePaused
					}
					h.ConnectorState(name, worker.StateInfo{State: st, WorkerID: h.id})
				}
			}
			continue
		}
		h.startConnector(name, d, needTasks)
	}
	h.serveRestarts(restarts, desiredConns, needTasks)
	h.publishTaskConfigs(ctx, needTasks)
	h.startTasks(desiredTasks)
	h.reassertStatuses()
}

// reassertStatuses writes again the last state of work this worker still
// runs whose status reads UNASSIGNED: the leader marks work of a member it
// briefly missed as lost, and when the work comes back here it is never
// restarted, so nothing else would correct the status.
func (h *Herder) reassertStatuses() {
	type fix struct {
		key string
		st  worker.StateInfo
	}
	var fixes []fix
	// runConns and runTasks belong to the reconcile goroutine (the caller).
	for name := range h.runConns {
		if st, ok := h.statuses.connector(name); ok && st.State == worker.StateUnassigned {
			h.mu.Lock()
			last, known := h.lastConn[name]
			mine := h.owned[name]
			h.mu.Unlock()
			if mine && known && last.State != worker.StateUnassigned {
				fixes = append(fixes, fix{statusConnPrefix + name, last})
			}
		}
	}
	for id := range h.runTasks {
		if st, ok := h.statuses.task(id); ok && st.State == worker.StateUnassigned {
			h.mu.Lock()
			last, known := h.lastTask[id]
			mine := h.ownedTasks[id]
			h.mu.Unlock()
			if mine && known && last.State != worker.StateUnassigned {
				fixes = append(fixes, fix{taskKey(statusTaskPrefix, id), last})
			}
		}
	}
	for _, f := range fixes {
		h.writeStatus(f.key, f.st)
	}
}

func (h *Herder) startConnector(name string, d connSpec, needTasks map[string]bool) {
	h.mu.Lock()
	h.owned[name] = true
	h.mu.Unlock()
	err := h.w.StartConnector(name, d.raw, d.target, func() { h.requestTaskConfigs(name) })
	if err != nil {
		h.log.Warn("connector failed to start", "connector", name, "error", err)
	}
	h.runConns[name] = &runConn{raw: d.raw, target: d.target, failed: err != nil}
	if err == nil && d.target != worker.TargetStopped {
		needTasks[name] = true
	}
}

func (h *Herder) serveRestarts(reqs []restartReq, desired map[string]connSpec, needTasks map[string]bool) {
	failed := func(v statusValue, ok bool) bool { return ok && v.State == worker.StateFailed }
	for _, r := range reqs {
		if r.task >= 0 {
			id := worker.ConnectorTaskID{Connector: r.connector, Task: r.task}
			if rt := h.runTasks[id]; rt != nil {
				h.restartTask(id, rt)
			}
			continue
		}
		if rc := h.runConns[r.connector]; rc != nil && (!r.onlyFailed || failed(h.statuses.connector(r.connector))) {
			h.ConnectorState(r.connector, worker.StateInfo{State: worker.StateRestarting, WorkerID: h.id})
			delete(h.runConns, r.connector)
			h.startConnector(r.connector, desired[r.connector], needTasks)
		}
		if !r.includeTasks {
			continue
		}
		for id, rt := range h.runTasks {
			if id.Connector == r.connector && (!r.onlyFailed || failed(h.statuses.task(id))) {
				h.TaskState(id, worker.StateInfo{State: worker.StateRestarting, WorkerID: h.id})
				h.restartTask(id, rt)
			}
		}
	}
}

func (h *Herder) restartTask(id worker.ConnectorTaskID, rt *runTask) {
	if err := h.w.StartTask(id, rt.cfg, rt.target); err != nil {
		h.log.Warn("task failed to restart", "connector", id.Connector, "task", id.Task, "error", err)
	}
}

// publishTaskConfigs asks connectors running here for their task configs
// and writes them when they changed: task-<c>-<n> records, then the
// commit-<c> that makes them take effect together.
func (h *Herder) publishTaskConfigs(ctx context.Context, names map[string]bool) {
	for _, name := range slices.Sorted(maps.Keys(names)) {
		rc := h.runConns[name]
		if rc == nil || rc.failed || rc.target == worker.TargetStopped {
			continue
		}
		tcs, err := h.w.TaskConfigs(name, rc.raw)
		if err != nil {
			h.ConnectorState(name, worker.StateInfo{State: worker.StateFailed, WorkerID: h.id, Trace: worker.Trace(err)})
			continue
		}
		h.mu.Lock()
		old := h.v.taskConfigs[name]
		h.mu.Unlock()
		if len(old) == len(tcs) && (len(tcs) == 0 || reflect.DeepEqual(old, tcs)) {
			continue
		}
		recs := make([]record, 0, len(tcs)+1)
		for i, tc := range tcs {
			recs = append(recs, configRecord(taskKey(taskPrefix, worker.ConnectorTaskID{Connector: name, Task: i}), propsValue{Properties: tc}))
		}
		recs = append(recs, configRecord(commitPrefix+name, commitValue{Tasks: len(tcs)}))
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err = h.configLog.write(wctx, recs...)
		cancel()
		if err != nil {
			h.log.Warn("publishing task configs failed; retrying", "connector", name, "error", err)
			h.requestTaskConfigs(name)
			continue
		}
		h.log.Info("published task configs", "connector", name, "tasks", len(tcs))
	}
}

// handoffWait bounds how long a task that moved here waits for its previous
// owner to release it.
func (h *Herder) handoffWait() time.Duration {
	return h.cfg.GracefulTimeout() + h.cfg.Duration(worker.OffsetFlushTimeoutConfig) + 5*time.Second
}

// startTasks starts newly assigned tasks. A task that moved here starts
// only once its previous owner has released it (its status is no longer
// RUNNING/PAUSED on another worker) or after handoffWait: two workers
// never knowingly run the same task.
func (h *Herder) startTasks(desired map[worker.ConnectorTaskID]taskSpec) {
	for id := range h.waiting {
		if _, ok := desired[id]; !ok {
			delete(h.waiting, id)
		}
	}
	ids := slices.SortedFunc(maps.Keys(desired), taskLess)
	started := 0
	for _, id := range ids {
		d := desired[id]
		if rt, ok := h.runTasks[id]; ok {
			if rt.target != d.target {
				h.w.SetTaskPaused(id, d.target == worker.TargetPaused)
				rt.target = d.target
			}
			continue
		}
		if st, ok := h.statuses.task(id); ok && st.WorkerID != h.id &&
			(st.State == worker.StateRunning || st.State == worker.StatePaused || st.State == worker.StateRestarting) {
			since, seen := h.waiting[id]
			if !seen {
				h.waiting[id] = time.Now()
				continue
			}
			if time.Since(since) < h.handoffWait() {
				continue
			}
			h.log.Warn("previous owner did not release task in time; starting it", "connector", id.Connector, "task", id.Task, "previous", st.WorkerID)
		}
		delete(h.waiting, id)
		h.mu.Lock()
		h.ownedTasks[id] = true
		h.mu.Unlock()
		if err := h.w.StartTask(id, d.cfg, d.target); err != nil {
			h.log.Warn("task failed to start", "connector", id.Connector, "task", id.Task, "error", err)
		}
		h.runTasks[id] = &runTask{cfg: d.cfg, target: d.target}
		started++
	}
	if started > 0 {
		h.log.Info("started tasks", "count", started, "epoch", h.epoch.Load())
	}
}
