package distributed

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/tributary-io/tributary/worker"
)

// onRebalance runs inside pollGroup. The config topic partition a member
// gets is never read (paused): owning it only makes the owner the leader.
func (h *Herder) onRebalance(c *kafka.Consumer, ev kafka.Event) error {
	switch e := ev.(type) {
	case kafka.AssignedPartitions:
		if err := c.IncrementalAssign(e.Partitions); err != nil {
			return fmt.Errorf("assigning: %w", err)
		}
		if len(e.Partitions) > 0 {
			_ = c.Pause(e.Partitions)
		}
	case kafka.RevokedPartitions:
		if c.AssignmentLost() {
			h.fence("group membership lost (session expired)")
		}
		if err := c.IncrementalUnassign(e.Partitions); err != nil {
			return fmt.Errorf("unassigning: %w", err)
		}
	}
	h.kick(h.leaderWake)
	return nil
}

// pollGroup keeps the member alive in librdkafka's eyes (max.poll.interval.ms)
// and serves rebalance callbacks.
func (h *Herder) pollGroup(ctx context.Context) {
	for ctx.Err() == nil {
		if ev, ok := h.group.Poll(100).(kafka.Error); ok {
			h.log.Debug("group member error", "error", ev)
		}
	}
}

// fence stops everything this worker runs: it is (or may be) out of the
// group, so its work may already run elsewhere.
func (h *Herder) fence(why string) {
	h.mu.Lock()
	was := h.member
	h.member = false
	h.mu.Unlock()
	if was {
		h.log.Warn("fencing this worker: stopping all its connectors and tasks", "reason", why)
		h.kick(h.wake)
	}
}

// member is one group member as the coordinator describes it.
type groupMember struct {
	clientID string
	workerID string
	url      string
	ownsP0   bool
}

// parseClientID reads "<url>#<nonce>" back into a worker id and URL.
func parseClientID(s string) (workerID, base string, ok bool) {
	i := strings.LastIndexByte(s, '#')
	if i <= 0 {
		return "", "", false
	}
	u, err := url.Parse(s[:i])
	if err != nil || u.Host == "" {
		return "", "", false
	}
	return u.Host, s[:i], true
}

func (h *Herder) describe(ctx context.Context) ([]groupMember, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := h.admin.DescribeConsumerGroups(ctx, []string{h.cfg.groupID()})
	if err != nil {
		return nil, fmt.Errorf("describing group %s: %w", h.cfg.groupID(), err)
	}
	if len(res.ConsumerGroupDescriptions) != 1 {
		return nil, fmt.Errorf("describing group %s: no answer", h.cfg.groupID())
	}
	d := res.ConsumerGroupDescriptions[0]
	if d.Error.Code() != kafka.ErrNoError {
		return nil, fmt.Errorf("describing group %s: %w", h.cfg.groupID(), d.Error)
	}
	var out []groupMember
	for _, m := range d.Members {
		wid, base, ok := parseClientID(m.ClientID)
		if !ok {
			continue // not a Tributary worker
		}
		gm := groupMember{clientID: m.ClientID, workerID: wid, url: base}
		for _, tp := range m.Assignment.TopicPartitions {
			gm.ownsP0 = gm.ownsP0 || (tp.Topic != nil && *tp.Topic == h.cfg.configTopic() && tp.Partition == 0)
		}
		out = append(out, gm)
	}
	return out, nil
}

// electLeader picks the member that owns the config topic's partition (the
// coordinator's choice); while that partition is between owners, e.g. after
// its owner died, every worker falls back to the smallest client id, so
// that reassignment does not wait for the rebalance to complete.
func electLeader(members []groupMember) (groupMember, bool) {
	if len(members) == 0 {
		return groupMember{}, false
	}
	for _, m := range members {
		if m.ownsP0 {
			return m, true
		}
	}
	return slices.MinFunc(members, func(a, b groupMember) int { return strings.Compare(a.clientID, b.clientID) }), true
}

// monitor watches the group through the coordinator: it admits and fences
// this worker, tracks the leader, and, on the leader, publishes assignments.
func (h *Herder) monitor(ctx context.Context) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	lastSeen := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-h.leaderWake:
		}
		members, err := h.describe(ctx)
		if err != nil {
			// Cut off from Kafka: the coordinator will expire us after the
			// session timeout; stop a heartbeat earlier so that nothing runs
			// here once the others take over.
			if time.Since(lastSeen) > h.cfg.sessionTimeout()-h.cfg.heartbeat() {
				h.fence("cannot reach the group coordinator")
			}
			h.log.Debug("describing group failed", "error", err)
			continue
		}
		self := slices.ContainsFunc(members, func(m groupMember) bool { return m.clientID == h.clientID })
		leader, ok := electLeader(members)
		h.mu.Lock()
		h.leaderClient, h.leaderURL = leader.clientID, leader.url
		if !ok {
			h.leaderClient, h.leaderURL = "", ""
		}
		wasMember := h.member
		h.mu.Unlock()
		if !self {
			if wasMember {
				h.fence("no longer a member of the group")
			}
			continue
		}
		lastSeen = time.Now()
		if !wasMember {
			// Admitted (again): read the newest assignment before acting on it.
			if err := h.configLog.readToEnd(ctx); err != nil {
				continue
			}
			h.mu.Lock()
			h.member = true
			h.mu.Unlock()
			h.log.Info("joined the cluster", "group", h.cfg.groupID(), "leader", leader.url)
			h.kick(h.wake)
		}
		if leader.clientID == h.clientID {
			if err := h.lead(ctx, members); err != nil && ctx.Err() == nil {
				h.log.Warn("publishing assignment failed", "error", err)
			}
		}
	}
}

// lead computes the assignment for the current members and publishes it
// when it changed. Orphaned items get an UNASSIGNED status first, so no
// status shows RUNNING on a dead worker.
func (h *Herder) lead(ctx context.Context, members []groupMember) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := h.configLog.readToEnd(ctx); err != nil {
		return err
	}
	h.mu.Lock()
	var prev Assignment
	if h.v.assignment != nil {
		prev = *h.v.assignment
	}
	conns, tasks := h.v.items()
	h.mu.Unlock()

	seen := map[string]bool{}
	var active []string
	for _, m := range members {
		if seen[m.workerID] {
			continue // a restarted worker whose old session has not expired yet
		}
		seen[m.workerID] = true
		active = append(active, m.workerID)
	}
	slices.Sort(active)
	held := map[string]bool{}
	now := time.Now()
	for w := range h.missingSince {
		if seen[w] {
			delete(h.missingSince, w)
		}
	}
	if delay := h.cfg.scheduledRebalance(); delay > 0 {
		for w := range prev.Assignments {
			if seen[w] {
				continue
			}
			since, ok := h.missingSince[w]
			if !ok {
				since = now
				h.missingSince[w] = now
			}
			if now.Sub(since) < delay {
				held[w] = true
			}
		}
	}
	next, lostConns, lostTasks := plan(prev.Assignments, active, held, conns, tasks)
	if prev.Leader == h.id && prev.LeaderURL == h.url && sameAssignment(prev.Assignments, next) {
		return nil
	}
	epoch := prev.Epoch + 1
	var recs []record
	for w, a := range next {
		for _, c := range a.Connectors {
			if slices.Contains(lostConns, c) {
				recs = append(recs, statusRecord(statusConnPrefix+c, statusValue{State: worker.StateUnassigned, WorkerID: w, Generation: epoch}))
			}
		}
		for _, t := range a.Tasks {
			if slices.Contains(lostTasks, t) {
				recs = append(recs, statusRecord(taskKey(statusTaskPrefix, t), statusValue{State: worker.StateUnassigned, WorkerID: w, Generation: epoch}))
			}
		}
	}
	if err := h.statusLog.write(ctx, recs...); err != nil {
		return err
	}
	a := Assignment{Epoch: epoch, Leader: h.id, LeaderURL: h.url, Assignments: next}
	if err := h.configLog.write(ctx, configRecord(assignmentKey, a)); err != nil {
		return err
	}
	counts := map[string]int{}
	for w, wa := range next {
		counts[w] = len(wa.Tasks)
	}
	h.log.Info("published assignment", "epoch", epoch, "workers", len(active), "held", len(held),
		"connectors", len(conns), "tasks", len(tasks), "moved_orphans", len(lostConns)+len(lostTasks), "tasks_per_worker", counts)
	return nil
}

// leader returns the leader's URL and whether this worker is it.
func (h *Herder) leader() (base string, self, known bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.leaderURL, h.leaderClient == h.clientID && h.member, h.leaderClient != ""
}

// leaderReady reports whether this worker may serve writes: it leads and
// has published an assignment as leader.
func (h *Herder) leaderReady() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.member && h.leaderClient == h.clientID && h.v.assignment != nil && h.v.assignment.Leader == h.id
}
