package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	ort "github.com/yalue/onnxruntime_go"
)

// Figure is one measured number, with its limit when it has one.
type Figure struct {
	Section string  `json:"section"`
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	// Limit is what the hardware and services allow for the same work,
	// measured in the same run; Pct = Value/Limit·100 (for a cost such as
	// ns/record, Limit/Value·100).
	LimitName  string  `json:"limit_name,omitempty"`
	LimitValue float64 `json:"limit_value,omitempty"`
	Pct        float64 `json:"pct_of_limit,omitempty"`
	Target     string  `json:"target,omitempty"`
	Note       string  `json:"note,omitempty"`
}

type Machine struct {
	CPU          string `json:"cpu"`
	Cores        int    `json:"nproc"`
	MemoryMB     int    `json:"memory_mb"`
	Kernel       string `json:"kernel"`
	LoadAvgStart string `json:"loadavg_start"`
	LoadAvgEnd   string `json:"loadavg_end"`
}

type Results struct {
	StartedAt     time.Time         `json:"started_at"`
	FinishedAt    time.Time         `json:"finished_at"`
	Command       string            `json:"command"`
	Machine       Machine           `json:"machine"`
	Versions      map[string]string `json:"versions"`
	Figures       []Figure          `json:"figures"`
	Details       map[string]any    `json:"details"`
	WorkerLogTail string            `json:"worker_log_tail,omitempty"`
}

func (r *Results) add(f Figure) {
	if f.LimitValue > 0 && f.Pct == 0 {
		f.Pct = round1(f.Value / f.LimitValue * 100)
	}
	f.Value = round3(f.Value)
	f.LimitValue = round3(f.LimitValue)
	r.Figures = append(r.Figures, f)
	lim := ""
	if f.LimitName != "" {
		lim = fmt.Sprintf(" — limit %s %.4g (%.1f %%)", f.LimitName, f.LimitValue, f.Pct)
	}
	log.Printf("%s: %.4g %s%s", f.Name, f.Value, f.Unit, lim)
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round3(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	// three significant decimals for small numbers, integers for large ones
	if math.Abs(x) >= 1000 {
		return math.Round(x)
	}
	return math.Round(x*1000) / 1000
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), LoadAvgStart: loadavg()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if mm := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(b); mm != nil {
			kb, _ := strconv.Atoi(string(mm[1]))
			m.MemoryMB = kb / 1024
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func versions(ctx context.Context, o options) map[string]string {
	v := map[string]string{"go": runtime.Version()}
	if out, err := exec.CommandContext(ctx, "go", "version").Output(); err == nil {
		v["go"] = strings.TrimSpace(strings.TrimPrefix(string(out), "go version "))
	}
	if b, err := os.ReadFile(filepath.Join(o.root, "scripts/kafka/pom.xml")); err == nil {
		if m := regexp.MustCompile(`<kafka.version>([^<]+)</kafka.version>`).FindSubmatch(b); m != nil {
			v["kafka"] = string(m[1]) + " (KRaft, from scripts/kafka/pom.xml)"
		}
	}
	_, lib := kafka.LibraryVersion()
	v["librdkafka"] = lib
	var es struct {
		Version struct {
			Number string `json:"number"`
			Flavor string `json:"build_flavor"`
		} `json:"version"`
	}
	if err := getJSON(ctx, o.es, &es); err == nil {
		v["elasticsearch"] = es.Version.Number + " " + es.Version.Flavor
	}
	for _, name := range []string{"mosquitto", "/usr/sbin/mosquitto"} {
		if out, err := exec.CommandContext(ctx, name, "-h").CombinedOutput(); len(out) > 0 {
			_ = err // mosquitto -h exits 3
			line, _, _ := strings.Cut(string(out), "\n")
			v["mosquitto"] = strings.TrimPrefix(strings.TrimSpace(line), "mosquitto version ")
			break
		}
	}
	if lib := os.Getenv("ONNXRUNTIME_SHARED_LIBRARY_PATH"); lib != "" {
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(); err == nil {
			v["onnxruntime"] = ort.GetVersion()
			_ = ort.DestroyEnvironment()
		}
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			switch d.Path {
			case "github.com/confluentinc/confluent-kafka-go/v2", "github.com/eclipse/paho.mqtt.golang",
				"github.com/olivere/elastic/v7", "github.com/yalue/onnxruntime_go":
				v[d.Path] = d.Version
			}
		}
	}
	if out, err := exec.CommandContext(ctx, "git", "-C", o.root, "describe", "--always", "--dirty").Output(); err == nil {
		v["tributary"] = strings.TrimSpace(string(out))
	}
	return v
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// percentile of sorted xs, nearest rank.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

type latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func summarize(ms []float64) latency {
	s := append([]float64(nil), ms...)
	sort.Float64s(s)
	l := latency{N: len(s)}
	if len(s) > 0 {
		l.P50, l.P90, l.P99, l.Max = round3(percentile(s, 50)), round3(percentile(s, 90)), round3(percentile(s, 99)), round3(s[len(s)-1])
	}
	return l
}

const (
	markBegin = "<!-- bench:results:begin -->"
	markEnd   = "<!-- bench:results:end -->"
)

func (r *Results) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Run %s → %s, `%s`.\n\n", r.StartedAt.Format(time.RFC3339), r.FinishedAt.Format("15:04:05Z"), r.Command)
	fmt.Fprintf(&b, "Machine: %s, %d cores (nproc), %d MB RAM, Linux %s; load average %s at start, %s at end.\n\n",
		r.Machine.CPU, r.Machine.Cores, r.Machine.MemoryMB, r.Machine.Kernel, r.Machine.LoadAvgStart, r.Machine.LoadAvgEnd)
	keys := make([]string, 0, len(r.Versions))
	for k := range r.Versions {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("Versions: ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", k, r.Versions[k])
	}
	b.WriteString(".\n\n")
	b.WriteString("| section | figure | value | limit (same run) | % of limit | target / note |\n|---|---|---:|---|---:|---|\n")
	for _, f := range r.Figures {
		lim, pct := "", ""
		if f.LimitName != "" {
			lim = fmt.Sprintf("%s: %s %s", f.LimitName, num(f.LimitValue), f.Unit)
			pct = fmt.Sprintf("%.1f %%", f.Pct)
		}
		note := f.Target
		if f.Note != "" {
			if note != "" {
				note += "; "
			}
			note += f.Note
		}
		fmt.Fprintf(&b, "| %s | %s | %s %s | %s | %s | %s |\n", f.Section, f.Name, num(f.Value), f.Unit, lim, pct, note)
	}
	return b.String()
}

func num(x float64) string {
	switch {
	case math.Abs(x) >= 1000:
		s := strconv.FormatFloat(math.Round(x), 'f', 0, 64)
		// thousands separators
		neg := strings.HasPrefix(s, "-")
		s = strings.TrimPrefix(s, "-")
		var out []byte
		for i := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				out = append(out, ',')
			}
			out = append(out, s[i])
		}
		if neg {
			return "-" + string(out)
		}
		return string(out)
	case math.Abs(x) >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case math.Abs(x) >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	default:
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
}

func (r *Results) write(o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	name := filepath.Join(o.out, r.StartedAt.Format("20060102T150405Z")+".json")
	for _, p := range []string{name, filepath.Join(o.out, "latest.json")} {
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	md := r.markdown()
	if err := os.WriteFile(filepath.Join(o.out, "latest.md"), []byte(md), 0o644); err != nil {
		return err
	}
	log.Printf("wrote %s and %s", name, filepath.Join(o.out, "latest.md"))
	fmt.Println(md)
	if o.readme == "" {
		return nil
	}
	old, err := os.ReadFile(o.readme)
	if err != nil {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, markBegin), strings.Index(s, markEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s markers", o.readme, markBegin, markEnd)
	}
	s = s[:i+len(markBegin)] + "\n" + md + s[j:]
	return os.WriteFile(o.readme, []byte(s), 0o644)
}
