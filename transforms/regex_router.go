package transforms

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// RegexRouter renames the topic when the whole topic matches regex
// (org.apache.kafka.connect.transforms.RegexRouter). The replacement uses
// Java's syntax ($1, ${name}, \$), translated once to Go's.
type RegexRouter struct {
	noClose
	re          *regexp.Regexp
	replacement string
}

var regexRouterDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "regex", Type: connect.TypeString, Importance: connect.High, Validator: connect.ValidRegex,
		Documentation: "Regular expression to use for matching."},
	connect.ConfigKey{Name: "replacement", Type: connect.TypeString, Importance: connect.High,
		Documentation: "Replacement string; $1 refers to the first capture group."},
)

func init() {
	connect.Register(connect.Plugin{Class: kafkaPkg + "RegexRouter", Kind: connect.KindTransformation, Version: Version,
		Summary: "Update the record topic using a regular expression and replacement string", Config: regexRouterDef,
		New: func() any { return &RegexRouter{} }})
}

func (r *RegexRouter) Configure(cfg connect.Config) error {
	// Java's Matcher.matches() needs the whole topic to match.
	re, err := regexp.Compile(`^(?:` + cfg.String("regex") + `)$`)
	if err != nil {
		return fmt.Errorf("RegexRouter: invalid regex: %w", err)
	}
	r.re = re
	r.replacement = javaReplacement(cfg.Raw()["replacement"], re.NumSubexp())
	return nil
}

func (r *RegexRouter) Apply(rec *connect.Record) (*connect.Record, error) {
	m := r.re.FindStringSubmatchIndex(rec.Topic)
	if m == nil {
		return rec, nil
	}
	c := shallow(rec)
	c.Topic = string(r.re.ExpandString(nil, r.replacement, rec.Topic, m))
	return c, nil
}

// javaReplacement turns a java.util.regex replacement into a Go template:
// "$12" takes as many digits as name an existing group, "\x" is a literal
// x, and a literal "$" becomes "$$".
func javaReplacement(s string, groups int) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			i++
			if s[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i])
			}
		case c == '$' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i + 2
			n := int(s[i+1] - '0')
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				next := n*10 + int(s[j]-'0')
				if next > groups {
					break
				}
				n = next
				j++
			}
			b.WriteString("${" + strconv.Itoa(n) + "}")
			i = j - 1
		case c == '$' && i+1 < len(s) && s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				b.WriteString("$$")
				continue
			}
			b.WriteString(s[i : i+end+1])
			i += end
		case c == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
