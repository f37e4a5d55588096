package security

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tributary-io/tributary/configprovider"
)

// reloadEvery bounds how often the credentials file is stat'ed.
const reloadEvery = time.Second

type credential struct {
	bcryptHash []byte   // set for $2a$/$2b$/$2y$ entries
	sum        [32]byte // SHA-256 of a clear-text password
}

// credSet is one loaded version of the file; verified caches bcrypt
// successes (user → SHA-256 of the password) so a client does not pay a
// bcrypt per request. It dies with the version, so rotation clears it.
type credSet struct {
	users    map[string]credential
	verified sync.Map
}

// parseCredentials reads the PropertyFileLoginModule format: a Java
// properties file of `username: password` (or `username=password`) lines.
// The whole value is the password, as in Kafka Connect.
func parseCredentials(r io.Reader) (map[string]credential, error) {
	props, err := configprovider.ParseProperties(r)
	if err != nil {
		return nil, err
	}
	if len(props) == 0 {
		// Kafka Connect lets everyone in on an empty file; refuse instead.
		return nil, errors.New("no users defined")
	}
	users := make(map[string]credential, len(props))
	for user, pw := range props {
		switch {
		case user == "":
			return nil, errors.New("an entry has an empty user name")
		case strings.Contains(user, ":"):
			return nil, fmt.Errorf("user %q: a user name cannot contain ':' in HTTP basic authentication", user)
		case pw == "":
			return nil, fmt.Errorf("user %q has an empty password", user)
		}
		if isBcrypt(pw) {
			if _, err := bcrypt.Cost([]byte(pw)); err != nil {
				return nil, fmt.Errorf("user %q: malformed bcrypt hash: %w", user, err)
			}
			users[user] = credential{bcryptHash: []byte(pw)}
			continue
		}
		users[user] = credential{sum: sha256.Sum256([]byte(pw))}
	}
	return users, nil
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// basicAuth checks credentials against a file it re-reads when the file's
// modification time or size changes, so rotation needs no restart.
type basicAuth struct {
	path string
	log  *slog.Logger
	now  func() time.Time
	set  atomic.Pointer[credSet]

	mu        sync.Mutex // guards the reload bookkeeping below
	lastCheck time.Time
	modTime   time.Time
	size      int64
}

func newBasicAuth(path string, log *slog.Logger) (*basicAuth, error) {
	b := &basicAuth{path: path, log: log, now: time.Now}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	users, err := readCredentials(path)
	if err != nil {
		return nil, err
	}
	b.set.Store(&credSet{users: users})
	b.modTime, b.size, b.lastCheck = st.ModTime(), st.Size(), b.now()
	return b, nil
}

func readCredentials(path string) (map[string]credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	defer f.Close()
	users, err := parseCredentials(f)
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return users, nil
}

// maybeReload keeps the previous credentials when the new file is missing
// or malformed: a half-written file must not lock everyone out or let
// anyone in.
func (b *basicAuth) maybeReload() {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if now.Sub(b.lastCheck) < reloadEvery {
		return
	}
	b.lastCheck = now
	st, err := os.Stat(b.path)
	if err != nil {
		b.log.Error("credentials file unreadable; keeping the previous credentials", "path", b.path, "error", err)
		return
	}
	if st.ModTime().Equal(b.modTime) && st.Size() == b.size {
		return
	}
	b.modTime, b.size = st.ModTime(), st.Size() // report a bad version once, not every second
	users, err := readCredentials(b.path)
	if err != nil {
		b.log.Error("credentials file changed but is invalid; keeping the previous credentials", "error", err)
		return
	}
	b.set.Store(&credSet{users: users})
	b.log.Info("credentials file reloaded", "path", b.path, "users", len(users))
}

// dummy keeps the work for an unknown user close to that for a known one.
var dummy = sha256.Sum256([]byte("tributary-unknown-user"))

func (b *basicAuth) check(user, password string) bool {
	b.maybeReload()
	set := b.set.Load()
	sum := sha256.Sum256([]byte(password))
	cred, ok := set.users[user]
	if !ok {
		subtle.ConstantTimeCompare(sum[:], dummy[:])
		return false
	}
	if cred.bcryptHash == nil {
		return subtle.ConstantTimeCompare(sum[:], cred.sum[:]) == 1
	}
	if v, ok := set.verified.Load(user); ok {
		good := v.([32]byte)
		if subtle.ConstantTimeCompare(sum[:], good[:]) == 1 {
			return true
		}
	}
	if bcrypt.CompareHashAndPassword(cred.bcryptHash, []byte(password)) != nil {
		return false
	}
	set.verified.Store(user, sum)
	return true
}

var (
	jaasComments = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
	jaasSection  = regexp.MustCompile(`(?s)\bKafkaConnect\s*\{(.*?)\}\s*;`)
	jaasFile     = regexp.MustCompile(`\bfile\s*=\s*"([^"]*)"`)
	kafkaOptsArg = regexp.MustCompile(`-Djava\.security\.auth\.login\.config=("[^"]*"|'[^']*'|\S+)`)
)

// parseJAAS returns the credentials file named by the KafkaConnect section's
// PropertyFileLoginModule, the setup Kafka Connect's basic-auth extension reads.
func parseJAAS(text string) (string, error) {
	text = jaasComments.ReplaceAllString(text, "")
	m := jaasSection.FindStringSubmatch(text)
	if m == nil {
		return "", errors.New("no KafkaConnect { … }; section")
	}
	if !strings.Contains(m[1], "PropertyFileLoginModule") {
		return "", errors.New("the KafkaConnect section does not use PropertyFileLoginModule, the only login module supported")
	}
	f := jaasFile.FindStringSubmatch(m[1])
	if f == nil || strings.TrimSpace(f[1]) == "" {
		return "", errors.New(`the KafkaConnect section has no file="…" option`)
	}
	return strings.TrimSpace(f[1]), nil
}

// jaasPathFromKafkaOpts reads -Djava.security.auth.login.config=… the way
// Kafka Connect's start scripts pass it.
func jaasPathFromKafkaOpts(opts string) string {
	m := kafkaOptsArg.FindStringSubmatch(opts)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], `"'`)
}
