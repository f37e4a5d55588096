package security

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

var discard = slog.New(slog.DiscardHandler)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// echo answers 200 with the body it read and whether the request was signed.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Signed", map[bool]string{true: "yes", false: "no"}[Signed(r.Context())])
	w.Write(b)
})

func mustNew(t *testing.T, props map[string]string) *Security {
	t.Helper()
	s, err := New(props, discard)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func assertErrorBody(t *testing.T, rec *httptest.ResponseRecorder, code int) {
	t.Helper()
	if rec.Code != code {
		t.Fatalf("status %d, want %d (body %s)", rec.Code, code, rec.Body)
	}
	var body struct {
		ErrorCode int    `json:"error_code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.ErrorCode != code || body.Message == "" {
		t.Fatalf("body %q is not {error_code:%d,message}", rec.Body, code)
	}
}

func credentialsFile(t *testing.T) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("hashed-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "credentials.properties")
	writeFile(t, path, "# users\nadmin: admin-secret\nops=pa:ss word\nbob: "+string(hash)+"\n")
	return path
}

func TestBasicAuth(t *testing.T) {
	s := mustNew(t, map[string]string{CredentialsFileConfig: credentialsFile(t)})
	h := s.Wrap(echo)
	tests := []struct {
		name       string
		path       string
		user, pass string
		header     string // raw Authorization header, overrides user/pass
		want       int
	}{
		{name: "no credentials", path: "/connectors", want: 401},
		{name: "right password", path: "/connectors", user: "admin", pass: "admin-secret", want: 200},
		{name: "wrong password", path: "/connectors", user: "admin", pass: "admin-secreT", want: 401},
		{name: "password prefix", path: "/connectors", user: "admin", pass: "admin", want: 401},
		{name: "unknown user", path: "/connectors", user: "eve", pass: "admin-secret", want: 401},
		{name: "password with separators and space", path: "/", user: "ops", pass: "pa:ss word", want: 200},
		{name: "bcrypt right", path: "/connectors", user: "bob", pass: "hashed-pw", want: 200},
		{name: "bcrypt right again (cached)", path: "/connectors", user: "bob", pass: "hashed-pw", want: 200},
		{name: "bcrypt wrong after a success", path: "/connectors", user: "bob", pass: "hashed-pW", want: 401},
		{name: "the hash itself is not the password", path: "/connectors", user: "bob", pass: "$2a$04$", want: 401},
		{name: "bearer scheme", path: "/connectors", header: "Bearer abc", want: 401},
		{name: "malformed basic", path: "/connectors", header: "Basic !!!", want: 401},
		{name: "health stays open", path: "/health", want: 200},
		{name: "metrics need credentials", path: "/metrics", want: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if tt.user != "" {
				r.SetBasicAuth(tt.user, tt.pass)
			}
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if tt.want == 401 {
				assertErrorBody(t, rec, 401)
				if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="tributary"`) {
					t.Fatalf("WWW-Authenticate = %q", got)
				}
				return
			}
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
		})
	}
}

func TestBasicAuthOverRealHTTPS(t *testing.T) {
	props := serverProps(ClientAuthNone)
	props[CredentialsFileConfig] = credentialsFile(t)
	s := mustNew(t, props)
	tc, err := TLSConfig(props)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s.Wrap(echo))
	srv.TLS = tc
	srv.StartTLS()
	defer srv.Close()
	client, err := ClientTLSConfig(props)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: client}, Timeout: 10 * time.Second}
	for _, tt := range []struct {
		user string
		want int
	}{{"", 401}, {"admin", 200}} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/connectors", nil)
		if tt.user != "" {
			req.SetBasicAuth(tt.user, "admin-secret")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Fatalf("user %q: status %d, want %d", tt.user, resp.StatusCode, tt.want)
		}
	}
}

func TestCredentialsRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "creds")
	writeFile(t, path, "admin: old\n")
	s := mustNew(t, map[string]string{CredentialsFileConfig: path})
	now := time.Now()
	s.auth.now = func() time.Time { return now }
	mtime := time.Now()
	rewrite := func(content string) {
		writeFile(t, path, content)
		mtime = mtime.Add(time.Second) // coarse file systems may not move mtime by themselves
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name    string
		rewrite string
		advance time.Duration
		pass    string
		want    bool
	}{
		{name: "initial", pass: "old", want: true},
		{name: "rotated, checked within a second: old still valid", rewrite: "admin: new\n", advance: 500 * time.Millisecond, pass: "old", want: true},
		{name: "after a second the new password works", advance: 600 * time.Millisecond, pass: "new", want: true},
		{name: "and the old one is refused", pass: "old", want: false},
		{name: "a broken rewrite keeps the last good file", rewrite: "admin: \\u12\n", advance: 2 * time.Second, pass: "new", want: true},
		{name: "an empty rewrite keeps the last good file", rewrite: "# nobody\n", advance: 2 * time.Second, pass: "new", want: true},
		{name: "a deleted file keeps the last good file", rewrite: "-", advance: 2 * time.Second, pass: "new", want: true},
		{name: "a fixed file is picked up", rewrite: "admin: newer\n", advance: 2 * time.Second, pass: "newer", want: true},
	}
	for _, st := range steps {
		switch st.rewrite {
		case "":
		case "-":
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		default:
			rewrite(st.rewrite)
		}
		now = now.Add(st.advance)
		if got := s.auth.check("admin", st.pass); got != st.want {
			t.Fatalf("%s: check(admin, %q) = %v, want %v", st.name, st.pass, got, st.want)
		}
	}
}

func TestParseCredentials(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	tests := []struct {
		name    string
		in      string
		users   []string
		bcrypt  []string
		wantErr string
	}{
		{name: "kafka connect example", in: "thisismyusername: thisismypass\n", users: []string{"thisismyusername"}},
		{name: "equals and comments", in: "# c\n! c\na=1\nb = 2\n", users: []string{"a", "b"}},
		{name: "bcrypt", in: "a: " + string(hash) + "\n", users: []string{"a"}, bcrypt: []string{"a"}},
		{name: "empty", in: "# nothing\n", wantErr: "no users"},
		{name: "empty password", in: "a:\n", wantErr: "empty password"},
		{name: "empty user", in: ":pw\n", wantErr: "empty user name"},
		{name: "colon in user", in: `a\:b=pw`, wantErr: "cannot contain ':'"},
		{name: "broken bcrypt", in: "a: $2a$10$short\n", wantErr: "malformed bcrypt hash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCredentials(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "pw") || strings.Contains(err.Error(), "$2a$10$short") {
					t.Fatalf("error leaks a password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.users) {
				t.Fatalf("got %d users, want %v", len(got), tt.users)
			}
			for _, u := range tt.users {
				c, ok := got[u]
				if !ok {
					t.Fatalf("user %q missing", u)
				}
				isB := strings.Contains(strings.Join(tt.bcrypt, ","), u)
				if (c.bcryptHash != nil) != isB {
					t.Fatalf("user %q: bcrypt = %v, want %v", u, c.bcryptHash != nil, isB)
				}
			}
		})
	}
}

func TestKafkaConnectJAASSetup(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "connect.password")
	writeFile(t, creds, "thisismyusername: thisismypass\n")
	jaas := filepath.Join(dir, "jaas.conf")
	writeFile(t, jaas, "// Kafka Connect\nKafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n  file=\""+creds+"\";\n};\n")
	tests := []struct {
		name      string
		props     map[string]string
		kafkaOpts string
		wantErr   string
	}{
		{name: "jaas key", props: map[string]string{RestExtensionsConfig: BasicAuthExtension, JAASConfigFileConfig: jaas}},
		{name: "KAFKA_OPTS", props: map[string]string{RestExtensionsConfig: BasicAuthExtension}, kafkaOpts: "-Xmx1g -Djava.security.auth.login.config=" + jaas + " -Dx=y"},
		{name: "no jaas file", props: map[string]string{RestExtensionsConfig: BasicAuthExtension}, wantErr: JAASConfigFileConfig},
		{name: "unknown extension", props: map[string]string{RestExtensionsConfig: "com.example.Ext"}, wantErr: "unsupported REST extension"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KAFKA_OPTS", tt.kafkaOpts)
			s, err := New(tt.props, discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !s.AuthEnabled() || !s.auth.check("thisismyusername", "thisismypass") || s.auth.check("thisismyusername", "x") {
				t.Fatal("credentials from the JAAS file are not in force")
			}
		})
	}
}

func TestParseJAAS(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "confluent doc", in: "KafkaConnect {\n org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n file=\"/etc/kafka/connect.password\";\n};", want: "/etc/kafka/connect.password"},
		{name: "other sections and comments", in: "/* x */ KafkaServer { a.b.C required file=\"/wrong\"; };\n// KafkaConnect { }\nKafkaConnect { x.PropertyFileLoginModule required debug=\"true\"\n file = \"/right\"; };", want: "/right"},
		{name: "no section", in: "KafkaServer { x required; };", wantErr: "no KafkaConnect"},
		{name: "other module", in: "KafkaConnect { com.example.Ldap required file=\"/x\"; };", wantErr: "PropertyFileLoginModule"},
		{name: "no file option", in: "KafkaConnect { x.PropertyFileLoginModule required; };", wantErr: "file="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseJAAS(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want error %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	creds := credentialsFile(t)
	tests := []struct {
		name        string
		origins     string
		methods     string
		method      string
		origin      string
		preflight   string // Access-Control-Request-Method
		wantCode    int
		wantOrigin  string
		wantCreds   bool
		wantMethods string
	}{
		{name: "no Origin header", origins: "https://ui.example", method: "GET", wantCode: 401},
		{name: "simple request from allowed origin", origins: "https://ui.example, https://other.example", method: "GET", origin: "https://ui.example",
			wantCode: 401, wantOrigin: "https://ui.example", wantCreds: true},
		{name: "simple request from another origin", origins: "https://ui.example", method: "GET", origin: "https://evil.example", wantCode: 401},
		{name: "preflight allowed, default methods", origins: "https://ui.example", method: "OPTIONS", origin: "https://ui.example", preflight: "POST",
			wantCode: 204, wantOrigin: "https://ui.example", wantCreds: true, wantMethods: "GET,POST,HEAD"},
		{name: "preflight for a method not allowed", origins: "https://ui.example", method: "OPTIONS", origin: "https://ui.example", preflight: "DELETE", wantCode: 403},
		{name: "preflight with configured methods", origins: "*", methods: "GET,PUT,DELETE", method: "OPTIONS", origin: "https://any.example", preflight: "delete",
			wantCode: 204, wantOrigin: "*", wantMethods: "GET,PUT,DELETE"},
		{name: "preflight from a disallowed origin", origins: "https://ui.example", method: "OPTIONS", origin: "https://evil.example", preflight: "GET", wantCode: 403},
		{name: "cors disabled: preflight is an ordinary request", method: "OPTIONS", origin: "https://ui.example", preflight: "GET", wantCode: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustNew(t, map[string]string{CredentialsFileConfig: creds, AllowOriginConfig: tt.origins, AllowMethodsConfig: tt.methods})
			r := httptest.NewRequest(tt.method, "/connectors", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.preflight != "" {
				r.Header.Set("Access-Control-Request-Method", tt.preflight)
			}
			rec := httptest.NewRecorder()
			s.Wrap(echo).ServeHTTP(rec, r)
			if rec.Code != tt.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.wantCode, rec.Body)
			}
			h := rec.Header()
			if got := h.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Allow-Origin %q, want %q", got, tt.wantOrigin)
			}
			if got := h.Get("Access-Control-Allow-Credentials") == "true"; got != tt.wantCreds {
				t.Errorf("Allow-Credentials %v, want %v", got, tt.wantCreds)
			}
			if got := h.Get("Access-Control-Allow-Methods"); got != tt.wantMethods {
				t.Errorf("Allow-Methods %q, want %q", got, tt.wantMethods)
			}
			if tt.wantCode == 204 && !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("Allow-Headers %q lacks Authorization", h.Get("Access-Control-Allow-Headers"))
			}
		})
	}
}

const testKey = "0123456789abcdef-shared"

// signed builds a server-side request from a request signed by a worker.
func signed(t *testing.T, method, target, body string, key string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := SignRequest(req, []byte(key)); err != nil {
		t.Fatal(err)
	}
	sent, _ := io.ReadAll(req.Body)
	if string(sent) != body {
		t.Fatalf("SignRequest changed the body to %q", sent)
	}
	r := httptest.NewRequest(method, target, bytes.NewReader(sent))
	r.Header = req.Header.Clone()
	return r
}

func TestSignedRequests(t *testing.T) {
	creds := credentialsFile(t)
	const target = "http://worker-2:8083/connectors/a%2Fb/config?forward=true"
	tests := []struct {
		name     string
		key      string // the receiver's key; "" = none configured
		auth     bool   // the receiver requires basic auth
		request  func(t *testing.T) *http.Request
		clock    time.Duration
		want     int
		signedOK bool
	}{
		{name: "valid", key: testKey, request: func(t *testing.T) *http.Request { return signed(t, "PUT", target, `{"a":"b"}`, testKey) }, want: 200, signedOK: true},
		{name: "unsigned request passes unmarked", key: testKey, request: func(t *testing.T) *http.Request { return httptest.NewRequest("PUT", target, nil) }, want: 200},
		{name: "tampered body", key: testKey, request: func(t *testing.T) *http.Request {
			r := signed(t, "PUT", target, `{"a":"b"}`, testKey)
			r.Body = io.NopCloser(strings.NewReader(`{"a":"c"}`))
			return r
		}, want: 403},
		{name: "tampered path", key: testKey, request: func(t *testing.T) *http.Request {
			r := signed(t, "PUT", target, `{}`, testKey)
			r.URL.Path, r.URL.RawPath = "/connectors/other/config", ""
			return r
		}, want: 403},
		{name: "tampered query", key: testKey, request: func(t *testing.T) *http.Request {
			r := signed(t, "PUT", target, `{}`, testKey)
			r.URL.RawQuery = "forward=false"
			return r
		}, want: 403},
		{name: "tampered method", key: testKey, request: func(t *testing.T) *http.Request {
			r := signed(t, "PUT", target, ``, testKey)
			r.Method = "DELETE"
			return r
		}, want: 403},
		{name: "sent to another worker", key: testKey, request: func(t *testing.T) *http.Request {
			r := signed(t, "PUT", target, `{}`, testKey)
			r.Host = "worker-3:8083"
			return r
		}, want: 403},
		{name: "expired", key: testKey, clock: SignatureWindow + time.Second, request: func(t *testing.T) *http.Request { return signed(t, "PUT", target, `{}`, testKey) }, want: 403},
		{name: "from the future", key: testKey, clock: -SignatureWindow - time.Second, request: func(t *testing.T) *http.Request { return signed(t, "PUT", target, `{}`, testKey) }, want: 403},
		{name: "within the window", key: testKey, clock: SignatureWindow - 5*time.Second, request: func(t *testing.T) *http.Request { return signed(t, "PUT", target, `{}`, testKey) }, want: 200, signedOK: true},
		{name: "missing signature header", key: testKey, request: func(t *testing.T) *http.Request {
			r := signed(t, "PUT", target, `{}`, testKey)
			r.Header.Del(SignatureHeader)
			return r
		}, want: 403},
		{name: "missing timestamp header", key: testKey, request: func(t *testing.T) *http.Request {
			r := signed(t, "PUT", target, `{}`, testKey)
			r.Header.Del(TimestampHeader)
			return r
		}, want: 403},
		{name: "another key", key: testKey, request: func(t *testing.T) *http.Request { return signed(t, "PUT", target, `{}`, "another-key-of-16-chars") }, want: 403},
		{name: "receiver without a key", request: func(t *testing.T) *http.Request { return signed(t, "PUT", target, `{}`, testKey) }, want: 403},
		{name: "internal request needs no user", key: testKey, auth: true, request: func(t *testing.T) *http.Request { return signed(t, "PUT", target, `{}`, testKey) }, want: 200, signedOK: true},
		{name: "forwarded user request with the user's credentials", key: testKey, auth: true, request: func(t *testing.T) *http.Request {
			r := signed(t, "PUT", target, `{}`, testKey)
			r.SetBasicAuth("admin", "admin-secret")
			return r
		}, want: 200, signedOK: true},
		{name: "forwarded user request with a wrong password", key: testKey, auth: true, request: func(t *testing.T) *http.Request {
			r := signed(t, "PUT", target, `{}`, testKey)
			r.SetBasicAuth("admin", "guess")
			return r
		}, want: 401},
		{name: "a client cannot pass as internal", key: testKey, auth: true, request: func(t *testing.T) *http.Request {
			r := httptest.NewRequest("PUT", target, nil)
			r.Header.Set(SignatureHeader, "AAAA")
			r.Header.Set(TimestampHeader, "1")
			r.Header.Set(NonceHeader, "n")
			return r
		}, want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := map[string]string{}
			if tt.key != "" {
				props[InterWorkerKeyConfig] = tt.key
			}
			if tt.auth {
				props[CredentialsFileConfig] = creds
			}
			s := mustNew(t, props)
			s.now = func() time.Time { return time.Now().Add(tt.clock) }
			r := tt.request(t)
			rec := httptest.NewRecorder()
			s.Wrap(echo).ServeHTTP(rec, r)
			if tt.want != 200 {
				assertErrorBody(t, rec, tt.want)
				return
			}
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("X-Signed") == "yes"; got != tt.signedOK {
				t.Fatalf("Signed(ctx) = %v, want %v", got, tt.signedOK)
			}
		})
	}
}

func TestSignatureReplayAndWire(t *testing.T) {
	s := mustNew(t, map[string]string{InterWorkerKeyConfig: testKey})
	srv := httptest.NewServer(s.Wrap(echo))
	defer srv.Close()
	// Over a real connection, with an escaped path and a query.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/connectors/a%2Fb/restart?includeTasks=true", strings.NewReader(`{"x":1}`))
	if err := s.Sign(req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != `{"x":1}` || resp.Header.Get("X-Signed") != "yes" {
		t.Fatalf("signed request over the wire: %d %q signed=%s", resp.StatusCode, body, resp.Header.Get("X-Signed"))
	}
	// The same request again (GetBody lets the client resend it) is a replay.
	again, _ := http.NewRequest(http.MethodPost, req.URL.String(), nil)
	again.Header = req.Header.Clone()
	again.Body, _ = req.GetBody()
	resp, err = http.DefaultClient.Do(again)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("replayed request: status %d, want 403", resp.StatusCode)
	}
}

func TestNoSecurityPassesThrough(t *testing.T) {
	s := mustNew(t, map[string]string{"bootstrap.servers": "localhost:9092"})
	rec := httptest.NewRecorder()
	s.Wrap(echo).ServeHTTP(rec, httptest.NewRequest("POST", "/connectors", strings.NewReader("x")))
	if rec.Code != 200 || rec.Body.String() != "x" || s.AuthEnabled() {
		t.Fatalf("status %d body %q", rec.Code, rec.Body)
	}
	req, _ := http.NewRequest("GET", "http://w/", nil)
	if err := s.Sign(req); err != nil || req.Header.Get(SignatureHeader) != "" {
		t.Fatalf("Sign without a key: %v, header %q", err, req.Header.Get(SignatureHeader))
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"short inter-worker key", map[string]string{InterWorkerKeyConfig: "short"}, "at least 16"},
		{"missing credentials file", map[string]string{CredentialsFileConfig: "/nonexistent/creds"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.props, discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "short\"") || strings.Contains(err.Error(), " short ") {
				t.Fatalf("error shows the key: %v", err)
			}
		})
	}
	if k, ok := ConfigDef().Key(InterWorkerKeyConfig); !ok || !k.IsSecret() {
		t.Fatal("inter.worker.key must be a secret key")
	}
}

func FuzzParseCredentials(f *testing.F) {
	for _, s := range []string{"a: b", "a=b\n#c\n", "a: $2a$04$abcdefghijklmnopqrstuv", ":x", "a\\\n:b", "\\u0041: b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		users, err := parseCredentials(strings.NewReader(s))
		if err != nil {
			return
		}
		if len(users) == 0 {
			t.Fatal("no error for a file without users")
		}
		for u, c := range users {
			if u == "" || strings.Contains(u, ":") {
				t.Fatalf("accepted user name %q", u)
			}
			if c.bcryptHash == nil && c.sum == ([32]byte{}) {
				t.Fatalf("user %q has no password", u)
			}
		}
	})
}

func FuzzParseJAAS(f *testing.F) {
	for _, s := range []string{
		`KafkaConnect { x.PropertyFileLoginModule required file="/a"; };`,
		"/* */ KafkaConnect {", `KafkaConnect { file="" };`, "//\n", `KafkaConnect{PropertyFileLoginModule file="x";};`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		path, err := parseJAAS(s)
		if err == nil && path == "" {
			t.Fatalf("empty path without error for %q", s)
		}
		_ = jaasPathFromKafkaOpts(s)
	})
}
