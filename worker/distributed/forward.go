package distributed

import (
	"encoding/json"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// ForwardedHeader marks a request a follower forwarded to the leader; the
// leader never forwards it again (at most two hops).
const ForwardedHeader = "X-Tributary-Forwarded-By"

// forwardTransport bounds a forwarded call like Kafka Connect's 90 s
// request timeout.
var forwardTransport = &http.Transport{
	Proxy:                 nil,
	ResponseHeaderTimeout: 90 * time.Second,
	IdleConnTimeout:       90 * time.Second,
	MaxIdleConnsPerHost:   4,
}

// Handler puts leader forwarding in front of the REST API: writes to
// connectors reaching a follower are proxied to the leader unchanged; reads,
// validation and logger admin are served locally.
func (h *Herder) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isWrite(r) {
			next.ServeHTTP(w, r)
			return
		}
		base, self, known := h.leader()
		if self {
			next.ServeHTTP(w, r)
			return
		}
		if r.Header.Get(ForwardedHeader) != "" && h.trustForwarded != nil && !h.trustForwarded(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(map[string]any{"error_code": http.StatusForbidden,
				"message": "request claims to be forwarded by a worker but carries no valid worker signature"})
			return
		}
		if !known || r.Header.Get(ForwardedHeader) != "" {
			writeConflict(w)
			return
		}
		target, err := url.Parse(base)
		if err != nil {
			writeConflict(w)
			return
		}
		p := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Header.Set(ForwardedHeader, h.id)
				if h.sign != nil {
					if err := h.sign(pr.Out); err != nil {
						h.log.Warn("signing a forwarded request failed", "error", err)
					}
				}
			},
			Transport: h.transport,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				// The leader went away mid-request: the cluster is rebalancing.
				h.log.Warn("forwarding to the leader failed", "leader", base, "path", r.URL.Path, "error", err)
				writeConflict(w)
			},
		}
		p.ServeHTTP(w, r)
	})
}

func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return r.URL.Path == "/connectors" || strings.HasPrefix(r.URL.Path, "/connectors/")
}

func writeConflict(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusConflict)
	_ = json.NewEncoder(w).Encode(map[string]any{"error_code": http.StatusConflict, "message": rebalanceMsg})
}
