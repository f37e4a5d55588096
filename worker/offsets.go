package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// OffsetStore keeps source offsets per connector and source partition.
type OffsetStore interface {
	// Get returns the offset of one source partition (nil when none).
	Get(connector string, partition map[string]any) (map[string]any, error)
	// Put records offsets; a nil offset removes the partition.
	Put(connector string, offsets []ConnectorOffset) error
	// All lists a connector's offsets.
	All(connector string) ([]ConnectorOffset, error)
	// Delete drops every offset of a connector.
	Delete(connector string) error
}

// partitionKey is the canonical JSON of a partition map; Kafka Connect keys
// offsets by ["<connector>", {partition}] and so do we.
func partitionKey(connector string, partition map[string]any) (string, error) {
	b, err := json.Marshal([]any{connector, partition})
	if err != nil {
		return "", fmt.Errorf("encoding source partition: %w", err)
	}
	return string(b), nil
}

// FileOffsetStore keeps offsets in a JSON file, written atomically (temp
// file, fsync, rename) so a crash leaves the old or the new file, never half.
type FileOffsetStore struct {
	mem  *MemoryOffsetStore
	path string
	save sync.Mutex // orders writers so the newest state lands last
}

type offsetFile struct {
	Offsets map[string][]ConnectorOffset `json:"offsets"`
}

// OpenFileOffsetStore loads path, or starts empty when it does not exist.
func OpenFileOffsetStore(path string) (*FileOffsetStore, error) {
	s := &FileOffsetStore{path: path, mem: NewMemoryOffsetStore()}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading offsets: %w", err)
	}
	var f offsetFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("offsets file %s is corrupt: %w", path, err)
	}
	for conn, offs := range f.Offsets {
		if err := s.mem.Put(conn, offs); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *FileOffsetStore) Get(connector string, partition map[string]any) (map[string]any, error) {
	return s.mem.Get(connector, partition)
}

func (s *FileOffsetStore) All(connector string) ([]ConnectorOffset, error) {
	return s.mem.All(connector)
}

func (s *FileOffsetStore) Put(connector string, offsets []ConnectorOffset) error {
	s.save.Lock()
	defer s.save.Unlock()
	if err := s.mem.Put(connector, offsets); err != nil {
		return err
	}
	return s.write()
}

func (s *FileOffsetStore) Delete(connector string) error {
	s.save.Lock()
	defer s.save.Unlock()
	if err := s.mem.Delete(connector); err != nil {
		return err
	}
	return s.write()
}

func (s *FileOffsetStore) write() error {
	f := offsetFile{Offsets: s.mem.snapshot()}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding offsets: %w", err)
	}
	if err := writeFileAtomic(s.path, b); err != nil {
		return fmt.Errorf("writing offsets: %w", err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves either
// the old or the new content.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// MemoryOffsetStore is an in-memory OffsetStore, for tests and tools.
type MemoryOffsetStore struct {
	mu   sync.Mutex
	data map[string]map[string]ConnectorOffset
}

func NewMemoryOffsetStore() *MemoryOffsetStore {
	return &MemoryOffsetStore{data: map[string]map[string]ConnectorOffset{}}
}

func (s *MemoryOffsetStore) Get(connector string, partition map[string]any) (map[string]any, error) {
	k, err := partitionKey(connector, partition)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data[connector][k].Offset, nil
}

func (s *MemoryOffsetStore) Put(connector string, offsets []ConnectorOffset) error {
	offsets, err := NormalizeOffsets(offsets)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.data[connector]
	if m == nil {
		m = map[string]ConnectorOffset{}
		s.data[connector] = m
	}
	for _, o := range offsets {
		k, err := partitionKey(connector, o.Partition)
		if err != nil {
			return err
		}
		if o.Offset == nil {
			delete(m, k)
		} else {
			m[k] = o
		}
	}
	return nil
}

func (s *MemoryOffsetStore) All(connector string) ([]ConnectorOffset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedOffsets(s.data[connector]), nil
}

func (s *MemoryOffsetStore) Delete(connector string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.data, connector)
	return nil
}

func (s *MemoryOffsetStore) snapshot() map[string][]ConnectorOffset {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string][]ConnectorOffset, len(s.data))
	for conn, m := range s.data {
		out[conn] = sortedOffsets(m)
	}
	return out
}

func sortedOffsets(m map[string]ConnectorOffset) []ConnectorOffset {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]ConnectorOffset, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

// normalizeOffsets passes offsets through JSON, so a task always reads back
// the same types whatever store or path wrote them: integers as int64,
// fractions as float64, as Kafka Connect's JSON-stored offsets do.
func NormalizeOffsets(offs []ConnectorOffset) ([]ConnectorOffset, error) {
	out := make([]ConnectorOffset, len(offs))
	for i, o := range offs {
		p, err := normalizeMap(o.Partition)
		if err != nil {
			return nil, fmt.Errorf("source partition: %w", err)
		}
		v, err := normalizeMap(o.Offset)
		if err != nil {
			return nil, fmt.Errorf("source offset: %w", err)
		}
		out[i] = ConnectorOffset{Partition: p, Offset: v}
	}
	return out, nil
}

func normalizeMap(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return jsonNumbers(out).(map[string]any), nil
}

func jsonNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = jsonNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = jsonNumbers(e)
		}
	}
	return v
}
