package security

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"time"
)

// HealthPath stays open so probes need no credentials.
const HealthPath = "/health"

const realm = `Basic realm="tributary", charset="UTF-8"`

// Security is the REST API's protection, built from the worker properties.
type Security struct {
	cors   *cors
	auth   *basicAuth // nil: no authentication
	key    []byte     // nil: signatures are not accepted
	replay replayCache
	log    *slog.Logger
	now    func() time.Time
}

// New reads the security keys from the worker properties. With none of them
// set it returns a Security whose Wrap passes everything through.
func New(props map[string]string, log *slog.Logger) (*Security, error) {
	c, err := parse(props)
	if err != nil {
		return nil, err
	}
	s := &Security{
		cors: newCORS(c.String(AllowOriginConfig), c.String(AllowMethodsConfig)),
		log:  log,
		now:  time.Now,
	}
	if k := c.Password(InterWorkerKeyConfig); k != "" {
		s.key = []byte(k)
	}
	path, err := credentialsPath(c.String(CredentialsFileConfig), c.List(RestExtensionsConfig), c.String(JAASConfigFileConfig), os.Getenv("KAFKA_OPTS"))
	if err != nil {
		return nil, err
	}
	if path != "" {
		if s.auth, err = newBasicAuth(path, log); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// credentialsPath finds the credentials file: Tributary's own key, or Kafka
// Connect's extension + JAAS file. Empty means authentication is off.
func credentialsPath(file string, extensions []string, jaas, kafkaOpts string) (string, error) {
	if file != "" {
		return file, nil
	}
	if !slices.Contains(extensions, BasicAuthExtension) {
		return "", nil
	}
	if jaas == "" {
		jaas = jaasPathFromKafkaOpts(kafkaOpts)
	}
	if jaas == "" {
		return "", fmt.Errorf("%s names the basic-auth extension but neither %s nor %s (or -Djava.security.auth.login.config in KAFKA_OPTS) is set",
			RestExtensionsConfig, CredentialsFileConfig, JAASConfigFileConfig)
	}
	b, err := os.ReadFile(jaas)
	if err != nil {
		return "", fmt.Errorf("%s: %w", JAASConfigFileConfig, err)
	}
	path, err := parseJAAS(string(b))
	if err != nil {
		return "", fmt.Errorf("JAAS file %s: %w", jaas, err)
	}
	return path, nil
}

// AuthEnabled reports whether basic authentication is on.
func (s *Security) AuthEnabled() bool { return s.auth != nil }

// SigningEnabled reports whether an inter.worker.key is set, i.e. whether
// a request claiming to come from another worker must carry a signature.
func (s *Security) SigningEnabled() bool { return s.key != nil }

// Sign signs a request this worker forwards to another one; without an
// inter.worker.key it does nothing. Forward the client's Authorization
// header too: the receiver still authenticates the user.
func (s *Security) Sign(req *http.Request) error {
	if s.key == nil {
		return nil
	}
	return SignRequest(req, s.key)
}

type signedKey struct{}

// Signed reports whether the request carried a valid worker signature,
// i.e. it was forwarded (or sent) by another worker of the cluster.
func Signed(ctx context.Context) bool { v, _ := ctx.Value(signedKey{}).(bool); return v }

// Wrap puts CORS, signature checking and basic authentication in front of
// next. /health stays open. A validly signed request without an
// Authorization header is a worker's own (internal) request and needs no
// user; a forwarded user request carries both and is checked for both.
func (s *Security) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cors.handle(w, r) {
			return
		}
		if r.URL.Path == HealthPath {
			next.ServeHTTP(w, r)
			return
		}
		signed, ok := s.verify(w, r)
		if !ok {
			return
		}
		if signed {
			r = r.WithContext(context.WithValue(r.Context(), signedKey{}, true))
		}
		if s.auth != nil && !(signed && r.Header.Get("Authorization") == "") {
			user, pw, present := r.BasicAuth()
			if !present || !s.auth.check(user, pw) {
				msg := "authentication required"
				if present {
					msg = "invalid username or password"
					s.log.Info("REST authentication failed", "user", user, "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
				}
				w.Header().Set("WWW-Authenticate", realm)
				writeError(w, http.StatusUnauthorized, msg)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// verify answers 403 for a bad signature; unsigned requests pass unmarked.
func (s *Security) verify(w http.ResponseWriter, r *http.Request) (signed, ok bool) {
	if r.Header.Get(SignatureHeader) == "" && r.Header.Get(TimestampHeader) == "" && r.Header.Get(NonceHeader) == "" {
		return false, true
	}
	if s.key == nil {
		writeError(w, http.StatusForbidden, "signed request, but this worker has no inter.worker.key")
		return false, false
	}
	now := s.now()
	err := VerifyRequest(r, s.key, now)
	if err == nil && !s.replay.firstUse(r.Header.Get(SignatureHeader), now) {
		err = ErrReplayed
	}
	if err != nil {
		s.log.Warn("rejected a signed request", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "error", err)
		code := http.StatusForbidden
		if !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrExpired) && !errors.Is(err, ErrReplayed) {
			code = http.StatusBadRequest // the body could not be read
		}
		writeError(w, code, err.Error())
		return false, false
	}
	return true, true
}

// writeError answers in Kafka Connect's error shape.
func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}{code, msg})
}
