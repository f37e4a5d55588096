package anomaly

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv is the environment variable naming the ONNX Runtime shared
// library when the transform's onnxruntime.library.path option is empty.
const LibraryEnv = "ONNXRUNTIME_SHARED_LIBRARY_PATH"

// requiredRuntime is the ONNX Runtime line onnxruntime_go v1.27.0 speaks
// (C API version 24); older libraries refuse that API version.
const requiredRuntime = "1.24.x"

// defaultLibrary is what dlopen searches for when nothing is configured.
const defaultLibrary = "libonnxruntime.so"

// fixHint tells an operator how to get a working library; it ends every
// library error so the task status is actionable on its own.
const fixHint = "set the transform option onnxruntime.library.path or the environment variable " +
	LibraryEnv + " to the ONNX Runtime " + requiredRuntime + " shared library (libonnxruntime.so.1); " +
	"`make services-up` installs one under the tributary cache"

// ErrRuntime marks errors about the ONNX Runtime library itself (missing,
// unloadable, wrong version), as opposed to a model problem.
var ErrRuntime = errors.New("onnx runtime unavailable")

// The onnxruntime_go environment is process-global: one library, loaded
// once. rt guards it; a failed attempt is not cached so a corrected path
// (or a library installed later) works on the next task start.
var rt struct {
	mu      sync.Mutex
	path    string // library the environment was initialized with
	version string
}

// resolveLibrary picks the library path: option, then environment, then the
// dynamic loader's default search.
func resolveLibrary(option string) string {
	if option != "" {
		return option
	}
	if env := os.Getenv(LibraryEnv); env != "" {
		return env
	}
	return defaultLibrary
}

// ensureRuntime initializes the process-wide ONNX Runtime environment from
// the library at path (resolved with resolveLibrary), once. Later callers
// asking for another path get the already loaded library and a warning,
// since a process cannot hold two runtimes.
func ensureRuntime(option string, log *slog.Logger) error {
	path := resolveLibrary(option)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if ort.IsInitialized() {
		if rt.path != "" && rt.path != path && log != nil {
			log.Warn("onnx runtime already loaded from another path; using it", "loaded", rt.path, "requested", path)
		}
		return nil
	}
	if path != defaultLibrary {
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%w: library %s: %w; %s", ErrRuntime, path, err, fixHint)
		}
	}
	ort.SetSharedLibraryPath(path)
	if err := ort.InitializeEnvironment(); err != nil {
		msg := err.Error()
		if strings.Contains(msg, "ORT API base: 2") {
			// GetApi(24) returned NULL: the library predates the C API
			// onnxruntime_go was built against.
			return fmt.Errorf("%w: library %s is older than ONNX Runtime %s (C API 24 not offered); %s", ErrRuntime, path, requiredRuntime, fixHint)
		}
		return fmt.Errorf("%w: loading %s: %w; %s", ErrRuntime, path, err, fixHint)
	}
	rt.path = path
	rt.version = ort.GetVersion()
	if log != nil {
		log.Info("onnx runtime loaded", "library", path, "version", rt.version)
		if !strings.HasPrefix(rt.version, "1.24.") {
			// Newer libraries keep the C API compatible, so this works, but
			// the fidelity guarantees were measured with 1.24.x.
			log.Warn("onnx runtime version differs from the tested one", "version", rt.version, "tested", requiredRuntime)
		}
	}
	return nil
}

// RuntimeVersion returns the loaded ONNX Runtime version, or "" before load.
func RuntimeVersion() string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.version
}
