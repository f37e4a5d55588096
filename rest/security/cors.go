package security

import (
	"net/http"
	"slices"
	"strings"
)

// Jetty's CrossOriginFilter defaults, which Kafka Connect inherits, plus
// Authorization so browsers can send basic-auth credentials.
const (
	defaultCORSMethods = "GET,POST,HEAD"
	corsAllowHeaders   = "Authorization,Content-Type,Accept,Origin,X-Requested-With"
	corsMaxAge         = "1800"
)

type cors struct {
	anyOrigin bool
	origins   []string // lower case, no trailing slash
	methods   []string // upper case
}

// newCORS returns nil when access.control.allow.origin is empty.
func newCORS(origins, methods string) *cors {
	origins = strings.TrimSpace(origins)
	if origins == "" {
		return nil
	}
	c := &cors{}
	for _, o := range strings.Split(origins, ",") {
		o = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o)), "/")
		switch o {
		case "":
		case "*":
			c.anyOrigin = true
		default:
			c.origins = append(c.origins, o)
		}
	}
	if strings.TrimSpace(methods) == "" {
		methods = defaultCORSMethods
	}
	for _, m := range strings.Split(methods, ",") {
		if m = strings.ToUpper(strings.TrimSpace(m)); m != "" {
			c.methods = append(c.methods, m)
		}
	}
	return c
}

// handle adds CORS headers and answers preflights; it reports whether the
// request is finished.
func (c *cors) handle(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if c == nil || origin == "" {
		return false
	}
	w.Header().Add("Vary", "Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	allowed := c.anyOrigin || slices.Contains(c.origins, strings.TrimSuffix(strings.ToLower(origin), "/"))
	if !allowed {
		if preflight {
			writeError(w, http.StatusForbidden, "origin "+origin+" is not allowed by access.control.allow.origin")
			return true
		}
		return false // no CORS headers: the browser withholds the answer
	}
	if m := strings.ToUpper(r.Header.Get("Access-Control-Request-Method")); preflight && !slices.Contains(c.methods, m) {
		writeError(w, http.StatusForbidden, "method "+m+" is not allowed by access.control.allow.methods")
		return true
	}
	if c.anyOrigin {
		// No credentials with a wildcard: any site could act with the user's login.
		w.Header().Set("Access-Control-Allow-Origin", "*")
	} else {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	if !preflight {
		w.Header().Set("Access-Control-Expose-Headers", "Location")
		return false
	}
	w.Header().Set("Access-Control-Allow-Methods", strings.Join(c.methods, ","))
	w.Header().Set("Access-Control-Allow-Headers", corsAllowHeaders)
	w.Header().Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}
