package security

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Headers of a signed (worker-to-worker) request.
const (
	SignatureHeader = "X-Tributary-Signature"
	TimestampHeader = "X-Tributary-Signature-Timestamp" // Unix milliseconds
	NonceHeader     = "X-Tributary-Signature-Nonce"
)

// SignatureWindow is how far a signature's timestamp may be from the
// receiver's clock; within it the replay cache rejects a second use.
const SignatureWindow = 5 * time.Minute

// maxBody matches the REST server's own limit.
const maxBody = 4 << 20

const signatureScheme = "TRIBUTARY-HMAC-SHA256"

var (
	ErrUnsigned     = errors.New("request is not signed")
	ErrBadSignature = errors.New("invalid request signature")
	ErrExpired      = errors.New("request signature is outside the time window; check the workers' clocks")
	ErrReplayed     = errors.New("request signature was already used")
)

// SignRequest signs req for another worker with HMAC-SHA256 over the method,
// host, path and query, a timestamp, a random nonce and the body's SHA-256.
// It buffers the body so the request can still be sent (and re-sent).
func SignRequest(req *http.Request, key []byte) error {
	if len(key) == 0 {
		return errors.New("signing request: no inter.worker.key")
	}
	body, err := readBody(req.Body)
	if err != nil {
		return fmt.Errorf("signing request: %w", err)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return fmt.Errorf("signing request: %w", err)
	}
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	nonce := hex.EncodeToString(n[:])
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(NonceHeader, nonce)
	req.Header.Set(SignatureHeader, mac(key, req.Method, host, req.URL.RequestURI(), ts, nonce, body))
	return nil
}

// VerifyRequest checks r's signature against key at time now. It reads the
// body and puts it back, so handlers still see it. It does not detect
// replays; the middleware does.
func VerifyRequest(r *http.Request, key []byte, now time.Time) error {
	sig, ts, nonce := r.Header.Get(SignatureHeader), r.Header.Get(TimestampHeader), r.Header.Get(NonceHeader)
	if sig == "" && ts == "" && nonce == "" {
		return ErrUnsigned
	}
	if sig == "" || ts == "" || nonce == "" {
		return fmt.Errorf("%w: %s, %s and %s are all required", ErrBadSignature, SignatureHeader, TimestampHeader, NonceHeader)
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed %s", ErrBadSignature, TimestampHeader)
	}
	if d := now.Sub(time.UnixMilli(ms)); d > SignatureWindow || d < -SignatureWindow {
		return ErrExpired
	}
	body, err := readBody(r.Body)
	if err != nil {
		return fmt.Errorf("verifying signature: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	want := mac(key, r.Method, r.Host, r.URL.RequestURI(), ts, nonce, body)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

func mac(key []byte, method, host, uri, ts, nonce string, body []byte) string {
	bodySum := sha256.Sum256(body)
	h := hmac.New(sha256.New, key)
	// Newlines cannot occur in any part, so the fields cannot be shifted.
	h.Write([]byte(strings.Join([]string{signatureScheme, method, strings.ToLower(host), uri, ts, nonce, hex.EncodeToString(bodySum[:])}, "\n")))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

func readBody(rc io.ReadCloser) ([]byte, error) {
	if rc == nil || rc == http.NoBody {
		return nil, nil
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if len(b) > maxBody {
		return nil, errors.New("body is larger than 4 MiB")
	}
	return b, nil
}

// replayCache remembers signatures seen within the window.
type replayCache struct {
	mu        sync.Mutex
	seen      map[string]time.Time
	lastPrune time.Time
}

// firstUse records sig and reports whether it was new.
func (c *replayCache) firstUse(sig string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]time.Time{}
	}
	if now.Sub(c.lastPrune) > 10*time.Second {
		for s, at := range c.seen {
			if now.Sub(at) > 2*SignatureWindow {
				delete(c.seen, s)
			}
		}
		c.lastPrune = now
	}
	if _, dup := c.seen[sig]; dup {
		return false
	}
	c.seen[sig] = now
	return true
}
