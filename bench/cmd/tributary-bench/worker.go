package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// worker is a standalone tributary process started by the bench.
type worker struct {
	cmd     *exec.Cmd
	url     string
	done    chan struct{}
	mu      sync.Mutex
	log     bytes.Buffer
	readyIn time.Duration // exec → first GET /health 200
}

type lockedWriter struct{ w *worker }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.w.mu.Lock()
	defer l.w.mu.Unlock()
	if l.w.log.Len() > 4<<20 { // keep the tail only
		rest := append([]byte(nil), l.w.log.Bytes()[l.w.log.Len()-(1<<20):]...)
		l.w.log.Reset()
		l.w.log.Write(rest)
	}
	return l.w.log.Write(p)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startWorker runs `tributary standalone` with a fresh listener and offsets
// file and waits for GET /health 200, timing exec → ready.
func startWorker(ctx context.Context, o options, tmp, name string) (*worker, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	props := filepath.Join(tmp, name+".properties")
	err = os.WriteFile(props, []byte(fmt.Sprintf(`bootstrap.servers=%s
listeners=http://127.0.0.1:%d
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
offset.storage.file.filename=%s
offset.flush.interval.ms=10000
`, o.kafka, port, filepath.Join(tmp, name+".offsets"))), 0o644)
	if err != nil {
		return nil, err
	}
	w := &worker{url: fmt.Sprintf("http://127.0.0.1:%d", port), done: make(chan struct{})}
	w.cmd = exec.Command(o.bin, "standalone", props)
	w.cmd.Stdout, w.cmd.Stderr = lockedWriter{w}, lockedWriter{w}
	w.cmd.Env = append(os.Environ(), "TRIBUTARY_LOG_LEVEL=INFO")
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	if err := w.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = w.cmd.Wait(); close(w.done) }()
	deadline := start.Add(60 * time.Second)
	for {
		res, err := client.Get(w.url + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				w.readyIn = time.Since(start)
				return w, nil
			}
		}
		select {
		case <-w.done:
			return nil, fmt.Errorf("worker exited during start:\n%s", w.logTail(3000))
		case <-ctx.Done():
			w.stop()
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			w.stop()
			return nil, fmt.Errorf("worker not ready within 60 s:\n%s", w.logTail(3000))
		}
	}
}

func (w *worker) pid() int { return w.cmd.Process.Pid }

// stop sends SIGTERM and waits up to 30 s, then SIGKILL.
func (w *worker) stop() {
	select {
	case <-w.done:
		return
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.done:
	case <-time.After(30 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
}

func (w *worker) logTail(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.log.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

func (w *worker) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, w.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// createConnector posts a connector and waits until it and all its tasks run.
func (w *worker) createConnector(ctx context.Context, name string, cfg map[string]string) error {
	code, b, err := w.do(ctx, "POST", "/connectors", map[string]any{"name": name, "config": cfg})
	if err != nil {
		return err
	}
	if code != 201 && code != 200 {
		return fmt.Errorf("create %s: %d %s", name, code, b)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var st struct {
			Connector struct{ State, Trace string } `json:"connector"`
			Tasks     []struct {
				ID    int    `json:"id"`
				State string `json:"state"`
				Trace string `json:"trace"`
			} `json:"tasks"`
		}
		code, b, err := w.do(ctx, "GET", "/connectors/"+name+"/status", nil)
		if err == nil && code == 200 && json.Unmarshal(b, &st) == nil {
			if st.Connector.State == "FAILED" {
				return fmt.Errorf("connector %s failed: %s", name, st.Connector.Trace)
			}
			running := len(st.Tasks) > 0
			for _, t := range st.Tasks {
				if t.State == "FAILED" {
					return fmt.Errorf("task %s-%d failed: %s", name, t.ID, t.Trace)
				}
				running = running && t.State == "RUNNING"
			}
			if running && st.Connector.State == "RUNNING" {
				return nil
			}
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	return fmt.Errorf("connector %s not running within 60 s:\n%s", name, w.logTail(2000))
}

// checkConnector fails when the connector or a task failed.
func (w *worker) checkConnector(ctx context.Context, name string) error {
	code, b, err := w.do(ctx, "GET", "/connectors/"+name+"/status", nil)
	if err != nil {
		return err
	}
	if code != 200 || bytes.Contains(b, []byte(`"FAILED"`)) {
		return fmt.Errorf("connector %s: %d %s", name, code, b)
	}
	return nil
}

func (w *worker) deleteConnector(ctx context.Context, name string) {
	if code, b, err := w.do(ctx, "DELETE", "/connectors/"+name, nil); err != nil || code >= 300 {
		log.Printf("delete connector %s: %v %d %s", name, err, code, b)
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// rssMB reads VmRSS of pid in MB.
func rssMB(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// rssSampler samples the worker's RSS every 200 ms and keeps the peak per
// phase.
type rssSampler struct {
	pid   int
	mu    sync.Mutex
	cur   string
	peak  map[string]float64
	quit  chan struct{}
	ended chan struct{}
}

func newRSSSampler(pid int) *rssSampler {
	s := &rssSampler{pid: pid, peak: map[string]float64{}, quit: make(chan struct{}), ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.quit:
				return
			case <-t.C:
				s.sample()
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	v := rssMB(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != "" && v > s.peak[s.cur] {
		s.peak[s.cur] = v
	}
}

func (s *rssSampler) phase(p string) {
	s.sample()
	s.mu.Lock()
	s.cur = p
	s.mu.Unlock()
	s.sample()
}

func (s *rssSampler) now() float64 { return rssMB(s.pid) }

// peaks returns the peak over the load phases (all but "idle") and the
// peak of every phase.
func (s *rssSampler) peaks() (float64, map[string]float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]float64{}
	peak := 0.0
	for k, v := range s.peak {
		out[k] = round1(v)
		if k != "idle" && v > peak {
			peak = v
		}
	}
	return peak, out
}

func (s *rssSampler) stop() {
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	<-s.ended
}

// benchStartup starts and stops the worker o.starts times and reports the
// median and worst exec → GET /health 200.
func benchStartup(ctx context.Context, o options, tmp string, res *Results) error {
	var ms []float64
	for i := range max(1, o.starts) {
		w, err := startWorker(ctx, o, tmp, fmt.Sprintf("startup-%d", i))
		if err != nil {
			return err
		}
		ms = append(ms, float64(w.readyIn.Microseconds())/1000)
		w.stop()
	}
	sort.Float64s(ms)
	res.Details["startup_ready_ms"] = ms
	med, worst := percentile(ms, 50), ms[len(ms)-1]
	met := func(v float64) string {
		if v < 1000 {
			return "< 1 s: met"
		}
		return "< 1 s: NOT met"
	}
	res.add(Figure{Section: "worker", Name: fmt.Sprintf("start → REST ready (GET /health 200), median of %d", len(ms)), Value: med, Unit: "ms",
		Target: met(med), Note: "exec of `tributary standalone` to the first 200, polled every 5 ms"})
	res.add(Figure{Section: "worker", Name: fmt.Sprintf("start → REST ready, worst of %d", len(ms)), Value: worst, Unit: "ms", Target: met(worst)})
	return nil
}

// procCPU is the user+system CPU time of pid in seconds (0 if unknown).
func procCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64) // field 14
	st, _ := strconv.ParseFloat(f[12], 64) // field 15
	return (ut + st) / 100                 // USER_HZ
}

// servicePID reads the pid file scripts/services.sh wrote for svc.
func servicePID(svc string) int {
	dir := os.Getenv("TRIBUTARY_RUN_DIR")
	if dir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(dir, svc+".pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// cpuMeter measures the cores each process used over an interval: where
// the machine's two cores went during a run.
type cpuMeter struct {
	pids   map[string]int
	start  map[string]float64
	t0     time.Time
	total0 float64
}

func newCPUMeter(workerPID int) *cpuMeter {
	m := &cpuMeter{pids: map[string]int{"bench": os.Getpid(), "kafka": servicePID("kafka"), "mosquitto": servicePID("mqtt"),
		"elasticsearch": servicePID("es")}, start: map[string]float64{}}
	if workerPID > 0 {
		m.pids["worker"] = workerPID
	}
	m.t0, m.total0 = time.Now(), machineCPU()
	for k, p := range m.pids {
		m.start[k] = procCPU(p)
	}
	return m
}

// cores returns cores used per process and by the whole machine (from
// /proc/stat) since the meter started.
func (m *cpuMeter) cores() map[string]float64 {
	wall := time.Since(m.t0).Seconds()
	out := map[string]float64{}
	for k, p := range m.pids {
		if p > 0 {
			out[k] = round3((procCPU(p) - m.start[k]) / wall)
		}
	}
	out["machine"] = round3((machineCPU() - m.total0) / wall)
	return out
}

// cpuSeconds returns the CPU seconds a process used since the meter started.
func (m *cpuMeter) cpuSeconds(name string) float64 {
	return procCPU(m.pids[name]) - m.start[name]
}

// machineCPU is the busy CPU time of the whole machine in seconds.
func machineCPU() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	busy := 0.0
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 7 { // idle, iowait; steal, guest (counted in user), guest_nice
			continue
		}
		x, _ := strconv.ParseFloat(v, 64)
		busy += x
	}
	return busy / 100
}
