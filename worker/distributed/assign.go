package distributed

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/tributary-io/tributary/worker"
)

// Assignment is what the leader publishes: who runs what, at which epoch.
type Assignment struct {
	Epoch       int64                       `json:"epoch"`
	Leader      string                      `json:"leader"`
	LeaderURL   string                      `json:"leaderUrl"`
	Assignments map[string]WorkerAssignment `json:"assignments"`
}

// WorkerAssignment is one worker's share.
type WorkerAssignment struct {
	Connectors []string                 `json:"connectors"`
	Tasks      []worker.ConnectorTaskID `json:"tasks"`
}

func taskLess(a, b worker.ConnectorTaskID) int {
	if c := cmp.Compare(a.Connector, b.Connector); c != 0 {
		return c
	}
	return cmp.Compare(a.Task, b.Task)
}

// plan computes the next assignment from the previous one. It is sticky and
// incremental: an item stays where it is while its worker is alive, orphans
// and only the surplus of overloaded workers move, so that every active
// worker ends with ⌊n/w⌋ or ⌈n/w⌉ connectors and likewise tasks. Workers in
// held keep what they had (they may come back) but get nothing new.
// It returns the assignment and the items whose owner is gone.
func plan(prev map[string]WorkerAssignment, active []string, held map[string]bool, connectors []string,
	tasks []worker.ConnectorTaskID) (map[string]WorkerAssignment, []string, []worker.ConnectorTaskID) {
	prevConn := map[string]string{}
	prevTask := map[worker.ConnectorTaskID]string{}
	for w, a := range prev {
		for _, c := range a.Connectors {
			prevConn[c] = w
		}
		for _, t := range a.Tasks {
			prevTask[t] = w
		}
	}
	connOwner, lostConns := balance(connectors, prevConn, active, held, cmp.Compare[string])
	taskOwner, lostTasks := balance(tasks, prevTask, active, held, taskLess)
	out := map[string]WorkerAssignment{}
	for _, w := range active {
		out[w] = WorkerAssignment{Connectors: []string{}, Tasks: []worker.ConnectorTaskID{}}
	}
	for w := range held {
		out[w] = WorkerAssignment{Connectors: []string{}, Tasks: []worker.ConnectorTaskID{}}
	}
	for _, c := range connectors {
		if w, ok := connOwner[c]; ok {
			a := out[w]
			a.Connectors = append(a.Connectors, c)
			out[w] = a
		}
	}
	for _, t := range tasks {
		if w, ok := taskOwner[t]; ok {
			a := out[w]
			a.Tasks = append(a.Tasks, t)
			out[w] = a
		}
	}
	return out, lostConns, lostTasks
}

// balance assigns items (sorted by less) to active workers, keeping
// previous owners where possible.
func balance[T comparable](items []T, prevOwner map[T]string, active []string, held map[string]bool,
	less func(a, b T) int) (map[T]string, []T) {
	items = slices.SortedFunc(slices.Values(items), less)
	isActive := map[string]bool{}
	for _, w := range active {
		isActive[w] = true
	}
	owner := map[T]string{}
	mine := map[string][]T{}
	var pool, lost []T
	n := 0
	for _, it := range items {
		w, had := prevOwner[it]
		switch {
		case had && isActive[w]:
			owner[it] = w
			mine[w] = append(mine[w], it)
			n++
		case had && held[w]:
			owner[it] = w // waits for its worker to come back
		default:
			if had {
				lost = append(lost, it)
			}
			pool = append(pool, it)
			n++
		}
	}
	if len(active) == 0 {
		return owner, lost
	}
	// The workers already holding the most keep the ⌈n/w⌉ slots: fewest moves.
	order := slices.Clone(active)
	slices.SortFunc(order, func(a, b string) int {
		if c := cmp.Compare(len(mine[b]), len(mine[a])); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	base, extra := n/len(active), n%len(active)
	allow := map[string]int{}
	for i, w := range order {
		allow[w] = base
		if i < extra {
			allow[w]++
		}
	}
	for _, w := range order {
		if surplus := len(mine[w]) - allow[w]; surplus > 0 {
			// Give away the last ones; which ones does not matter for balance.
			cut := len(mine[w]) - surplus
			for _, it := range mine[w][cut:] {
				delete(owner, it)
				pool = append(pool, it)
			}
			mine[w] = mine[w][:cut]
		}
	}
	slices.SortFunc(pool, less)
	for _, it := range pool {
		best := ""
		for _, w := range order {
			if len(mine[w]) >= allow[w] {
				continue
			}
			if best == "" || allow[w]-len(mine[w]) > allow[best]-len(mine[best]) ||
				(allow[w]-len(mine[w]) == allow[best]-len(mine[best]) && w < best) {
				best = w
			}
		}
		owner[it] = best
		mine[best] = append(mine[best], it)
	}
	return owner, lost
}

// sameAssignment compares two assignments' contents.
// sameAssignment compares as sets: the order of a worker's items means
// nothing, and an order-sensitive comparison made the leader republish an
// unchanged assignment — which, being a config-topic change, made it
// recompute and publish again, every few hundred milliseconds.
func sameAssignment(a, b map[string]WorkerAssignment) bool {
	return maps.EqualFunc(a, b, func(x, y WorkerAssignment) bool {
		return sameSet(x.Connectors, y.Connectors, strings.Compare) && sameSet(x.Tasks, y.Tasks, taskLess)
	})
}

func sameSet[T comparable](x, y []T, cmp func(a, b T) int) bool {
	if len(x) != len(y) {
		return false
	}
	return slices.Equal(slices.SortedFunc(slices.Values(x), cmp), slices.SortedFunc(slices.Values(y), cmp))
}
