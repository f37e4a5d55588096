package configprovider

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

var allProviders = map[string]string{
	"config.providers":                 "env,file,directory",
	"config.providers.env.class":       EnvVarProviderClass,
	"config.providers.file.class":      FileProviderClass,
	"config.providers.directory.class": DirectoryProviderClass,
}

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	props := filepath.Join(dir, "secrets.properties")
	write(t, props, "# db\ndb.password=s3cr3t\ndb.user: alice\n")
	secrets := filepath.Join(dir, "k8s")
	write(t, filepath.Join(secrets, "token"), "tok-123\n")
	write(t, filepath.Join(secrets, "sub", "x"), "nested")
	t.Setenv("TRIB_TEST_PASSWORD", "env-pw")

	r, err := New(allProviders)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		config  map[string]string
		want    map[string]string
		wantErr []string // substrings; the error must also not contain any resolved value
	}{
		{name: "no references pass through", config: map[string]string{"a": "plain", "b": "${topic}-x"},
			want: map[string]string{"a": "plain", "b": "${topic}-x"}},
		{name: "env", config: map[string]string{"pw": "${env:TRIB_TEST_PASSWORD}"},
			want: map[string]string{"pw": "env-pw"}},
		{name: "file", config: map[string]string{"pw": "${file:" + props + ":db.password}", "u": "${file:" + props + ":db.user}"},
			want: map[string]string{"pw": "s3cr3t", "u": "alice"}},
		{name: "directory keeps content verbatim", config: map[string]string{"t": "${directory:" + secrets + ":token}"},
			want: map[string]string{"t": "tok-123\n"}},
		{name: "several references in one value", config: map[string]string{"url": "http://${file:" + props + ":db.user}:${env:TRIB_TEST_PASSWORD}@h"},
			want: map[string]string{"url": "http://alice:env-pw@h"}},
		{name: "unconfigured provider stays as written, as in Kafka", config: map[string]string{"idx": "cars-${timestamp:yyyy.MM.dd}", "pw": "${vault:secret/db:pw}"},
			want: map[string]string{"idx": "cars-${timestamp:yyyy.MM.dd}", "pw": "${vault:secret/db:pw}"}},
		{name: "missing env variable", config: map[string]string{"pw": "${env:TRIB_TEST_NOT_SET_ANYWHERE}"},
			wantErr: []string{`config key "pw"`, "TRIB_TEST_NOT_SET_ANYWHERE", "no such variable"}},
		{name: "missing key in file", config: map[string]string{"pw": "${file:" + props + ":nope}", "ok": "${file:" + props + ":db.password}"},
			wantErr: []string{`config key "pw"`, ":nope}", "no such variable"}},
		{name: "missing file", config: map[string]string{"pw": "${file:" + dir + "/absent.properties:k}"},
			wantErr: []string{`config key "pw"`, "no such file"}},
		{name: "directory file missing", config: map[string]string{"t": "${directory:" + secrets + ":absent}"},
			wantErr: []string{`config key "t"`, "no such variable"}},
		{name: "directory refuses subpaths", config: map[string]string{"t": "${directory:" + secrets + ":sub/x}"},
			wantErr: []string{`config key "t"`, "no such variable"}},
		{name: "directory refuses subdirectories", config: map[string]string{"t": "${directory:" + secrets + ":sub}"},
			wantErr: []string{`config key "t"`, "no such variable"}},
		{name: "env takes no path", config: map[string]string{"pw": "${env:/x:TRIB_TEST_PASSWORD}"},
			wantErr: []string{`config key "pw"`, "takes no path"}},
		{name: "file needs a path", config: map[string]string{"pw": "${file:db.password}"},
			wantErr: []string{`config key "pw"`, "needs a path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := map[string]string{}
			for k, v := range tt.config {
				orig[k] = v
			}
			got, err := r.Resolve(tt.config)
			if !reflect.DeepEqual(tt.config, orig) {
				t.Fatalf("Resolve modified its input: %v", tt.config)
			}
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				for _, secret := range []string{"s3cr3t", "env-pw", "tok-123"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error leaks a secret: %q", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"missing class", map[string]string{"config.providers": "file"}, "config.providers.file.class"},
		{"unknown class", map[string]string{"config.providers": "v", "config.providers.v.class": "com.example.Vault"}, `unknown class "com.example.Vault"`},
		{"relative allowed path", map[string]string{"config.providers": "file", "config.providers.file.class": "FileConfigProvider",
			"config.providers.file.param.allowed.paths": "etc/secrets"}, "not an absolute path"},
		{"bad env pattern", map[string]string{"config.providers": "env", "config.providers.env.class": EnvVarProviderClass,
			"config.providers.env.param.allowlist.pattern": "("}, "allowlist.pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.props)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	r, err := New(nil)
	if err != nil || len(r.Providers()) != 0 {
		t.Fatalf("New(nil) = %v, %v; want an empty resolver", r.Providers(), err)
	}
}

func TestAllowLists(t *testing.T) {
	dir := t.TempDir()
	allowed := filepath.Join(dir, "allowed")
	other := filepath.Join(dir, "other")
	write(t, filepath.Join(allowed, "s.properties"), "k=in\n")
	write(t, filepath.Join(other, "s.properties"), "k=out\n")
	write(t, filepath.Join(allowed, "token"), "in")
	write(t, filepath.Join(other, "token"), "out")
	if err := os.Symlink(other, filepath.Join(allowed, "escape")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TRIB_DB_PASSWORD", "x")
	t.Setenv("TRIB_OTHER", "y")
	r, err := New(map[string]string{
		"config.providers":                             "env,file,dir",
		"config.providers.env.class":                   EnvVarProviderClass,
		"config.providers.env.param.allowlist.pattern": "TRIB_DB_.*",
		"config.providers.file.class":                  FileProviderClass,
		"config.providers.file.param.allowed.paths":    allowed,
		"config.providers.dir.class":                   "DirectoryConfigProvider",
		"config.providers.dir.param.allowed.paths":     allowed + ",/nonexistent",
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ref     string
		want    string
		wantErr string
	}{
		{ref: "${env:TRIB_DB_PASSWORD}", want: "x"},
		{ref: "${env:TRIB_OTHER}", wantErr: "no such variable"},
		{ref: "${file:" + allowed + "/s.properties:k}", want: "in"},
		{ref: "${file:" + other + "/s.properties:k}", wantErr: "outside allowed.paths"},
		{ref: "${file:" + allowed + "/../other/s.properties:k}", wantErr: "outside allowed.paths"},
		{ref: "${file:" + allowed + "/escape/s.properties:k}", wantErr: "outside allowed.paths"},
		{ref: "${dir:" + allowed + ":token}", want: "in"},
		{ref: "${dir:" + other + ":token}", wantErr: "outside allowed.paths"},
		{ref: "${dir:" + allowed + "/escape:token}", wantErr: "outside allowed.paths"},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := r.Resolve(map[string]string{"k": tt.ref})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got["k"] != tt.want {
				t.Fatalf("got %q, %v; want %q", got["k"], err, tt.want)
			}
		})
	}
}

func TestReferences(t *testing.T) {
	tests := []struct {
		in   string
		want []Reference
	}{
		{"plain", nil},
		{"${topic}", nil},
		{"${env:A}", []Reference{{"env", "", "A"}}},
		{"${env:A}-${env:B}", []Reference{{"env", "", "A"}, {"env", "", "B"}}},
		{"${file:/a/b.properties:x.y}", []Reference{{"file", "/a/b.properties", "x.y"}}},
		{"${file:/a:b:c}", []Reference{{"file", "/a", "b:c"}}},
		{"pre ${directory:/run/secrets:pw} post", []Reference{{"directory", "/run/secrets", "pw"}}},
		{"${:k}", []Reference{{"", "", "k"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := References(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("References(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if HasReference(tt.in) != (len(tt.want) > 0) {
				t.Fatalf("HasReference(%q) = %v", tt.in, !(len(tt.want) > 0))
			}
			for _, r := range got {
				if again := References(r.String()); len(again) != 1 || again[0] != r {
					t.Fatalf("String() round trip of %v gave %v", r, again)
				}
			}
		})
	}
}

func TestUnresolve(t *testing.T) {
	raw := map[string]string{"connection.password": "${env:PW}", "connection.url": "http://h", "topics": "a"}
	task := map[string]string{"connection.password": "clear", "connection.url": "http://h", "task.id": "0"}
	got := Unresolve(raw, task)
	want := map[string]string{"connection.password": "${env:PW}", "connection.url": "http://h", "task.id": "0"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Unresolve = %v, want %v", got, want)
	}
	if task["connection.password"] != "clear" {
		t.Fatal("Unresolve modified its input")
	}
}

func TestErrNotFoundIsWrapped(t *testing.T) {
	r, err := New(allProviders)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Resolve(map[string]string{"k": "${env:TRIB_TEST_NOT_SET_ANYWHERE}"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name, in string
		want     map[string]string
		wantErr  bool
	}{
		{name: "separators", in: "a=1\nb: 2\nc 3\nd = 4\ne:5\n", want: map[string]string{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}},
		{name: "comments and blanks", in: "# c\n! c\n\n   \nk=v\n", want: map[string]string{"k": "v"}},
		{name: "value keeps later separators", in: "user: pa:ss=word\n", want: map[string]string{"user": "pa:ss=word"}},
		{name: "bcrypt value", in: "admin: $2a$10$abc./def\n", want: map[string]string{"admin": "$2a$10$abc./def"}},
		{name: "continuation", in: "k=a\\\n   b\n", want: map[string]string{"k": "ab"}},
		{name: "escaped backslash is no continuation", in: "k=a\\\\\nj=b\n", want: map[string]string{"k": `a\`, "j": "b"}},
		{name: "escapes", in: `k\ x=\u0041\tb`, want: map[string]string{"k x": "A\tb"}},
		{name: "empty value", in: "k=\nj\n", want: map[string]string{"k": "", "j": ""}},
		{name: "surrogate pair", in: `k=\ud83d\ude00`, want: map[string]string{"k": "\U0001F600"}},
		{name: "bad unicode escape", in: `k=\u00zz`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProperties(strings.NewReader(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzReferences(f *testing.F) {
	for _, s := range []string{"${env:A}", "${file:/a:b}", "${a:b:c:d}", "${}", "${:}", "x${env:A}${", "${env:A}}}"} {
		f.Add(s)
	}
	r, err := New(map[string]string{"config.providers": "env", "config.providers.env.class": EnvVarProviderClass})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		refs := References(s)
		if HasReference(s) != (len(refs) > 0) {
			t.Fatalf("HasReference and References disagree on %q", s)
		}
		for _, ref := range refs {
			if strings.Contains(ref.Provider+ref.Path+ref.Key, "}") {
				t.Fatalf("reference part contains '}': %#v", ref)
			}
		}
		out, err := r.Resolve(map[string]string{"k": s})
		if err == nil && len(refs) == 0 && out["k"] != s {
			t.Fatalf("a value without references changed: %q -> %q", s, out["k"])
		}
	})
}

func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{"a=b", "a:b\\\n c", `\u0041=\u00`, "# x\n!y\n k v", "\\", "a\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseProperties(strings.NewReader(s))
		if err != nil {
			return
		}
		// Whatever parsed must survive being written out and read back.
		var b strings.Builder
		for k, v := range got {
			b.WriteString(escapeProp(k) + "=" + escapeProp(v) + "\n")
		}
		again, err := ParseProperties(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", b.String(), err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip changed %q to %q", got, again)
		}
	})
}

// escapeProp writes s so ParseProperties reads it back unchanged.
func escapeProp(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], string(utf8.RuneError)):
			b.WriteByte(s[i]) // an invalid byte is kept as it is
		case r == '\\' || r == '=' || r == ':' || r == ' ' || r == '#' || r == '!':
			b.WriteString("\\" + string(r))
		case r < 0x20 || r > 0x7e:
			if r > 0xffff {
				for _, u := range utf16.Encode([]rune{r}) {
					fmt.Fprintf(&b, "\\u%04x", u)
				}
				continue
			}
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
