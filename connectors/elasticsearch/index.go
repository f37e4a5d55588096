package elasticsearch

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// indexFormat is a parsed index.name.format: literal text, ${topic} and
// ${timestamp:FORMAT} parts.
type indexFormat struct {
	parts        []indexPart
	usesTime     bool
	literalOnly  bool
	staticResult string // the index when the format has no variables
}

type partKind int

const (
	partLiteral partKind = iota
	partTopic
	partTime
)

type indexPart struct {
	kind    partKind
	literal string
	layout  []timeToken // partTime
}

// timeToken is one element of a ${timestamp:…} pattern: a field or a literal.
type timeToken struct {
	field   string // yyyy, yy, MM, dd, HH, mm, ss; "" for a literal
	literal string
}

const defaultTimePattern = "yyyy.MM.dd"

var timeFields = []string{"yyyy", "yy", "MM", "dd", "HH", "mm", "ss"}

// parseIndexFormat parses the template and checks that what it renders for
// a plain topic is a valid index name, so typos fail at config time.
func parseIndexFormat(s string) (*indexFormat, error) {
	if s == "" {
		return nil, errors.New("empty index name format")
	}
	f := &indexFormat{}
	rest := s
	for rest != "" {
		i := strings.Index(rest, "${")
		if i < 0 {
			f.parts = append(f.parts, indexPart{kind: partLiteral, literal: rest})
			break
		}
		if i > 0 {
			f.parts = append(f.parts, indexPart{kind: partLiteral, literal: rest[:i]})
		}
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed ${ in %q", s)
		}
		variable := rest[i+2 : i+end]
		rest = rest[i+end+1:]
		name, arg, hasArg := strings.Cut(variable, ":")
		switch name {
		case "topic":
			if hasArg {
				return nil, fmt.Errorf("${topic} takes no format, got %q", variable)
			}
			f.parts = append(f.parts, indexPart{kind: partTopic})
		case "timestamp":
			if !hasArg {
				arg = defaultTimePattern
			}
			layout, err := parseTimePattern(arg)
			if err != nil {
				return nil, err
			}
			f.parts = append(f.parts, indexPart{kind: partTime, layout: layout})
			f.usesTime = true
		default:
			return nil, fmt.Errorf("unknown variable ${%s}; use ${topic} or ${timestamp:FORMAT}", variable)
		}
	}
	f.literalOnly = true
	for _, p := range f.parts {
		if p.kind != partLiteral {
			f.literalOnly = false
		}
	}
	// A sample render catches invalid literal text early.
	sample, err := f.render("topic", time.Date(2026, 11, 22, 10, 30, 0, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	if f.literalOnly {
		f.staticResult = sample
	}
	return f, nil
}

func parseTimePattern(p string) ([]timeToken, error) {
	if p == "" {
		return nil, errors.New("empty ${timestamp:} format")
	}
	var out []timeToken
	for p != "" {
		matched := false
		for _, field := range timeFields {
			if strings.HasPrefix(p, field) {
				out = append(out, timeToken{field: field})
				p = p[len(field):]
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := p[0]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			return nil, fmt.Errorf("unsupported timestamp pattern letter %q (use yyyy, yy, MM, dd, HH, mm, ss)", c)
		}
		out = append(out, timeToken{literal: string(c)})
		p = p[1:]
	}
	return out, nil
}

// render builds the index name for a topic and record time (UTC).
func (f *indexFormat) render(topic string, ts time.Time) (string, error) {
	if f.staticResult != "" {
		return f.staticResult, nil
	}
	var b strings.Builder
	ts = ts.UTC()
	for _, p := range f.parts {
		switch p.kind {
		case partLiteral:
			b.WriteString(p.literal)
		case partTopic:
			b.WriteString(topic)
		case partTime:
			if ts.IsZero() || ts.Unix() <= 0 {
				return "", errors.New("the index name needs the record timestamp, but the record has none")
			}
			for _, tok := range p.layout {
				b.WriteString(formatTimeToken(tok, ts))
			}
		}
	}
	name := strings.ToLower(b.String())
	if err := validIndexName(name); err != nil {
		return "", err
	}
	return name, nil
}

func formatTimeToken(tok timeToken, ts time.Time) string {
	pad := func(n, width int) string {
		s := strconv.Itoa(n)
		for len(s) < width {
			s = "0" + s
		}
		return s
	}
	switch tok.field {
	case "yyyy":
		return pad(ts.Year(), 4)
	case "yy":
		return pad(ts.Year()%100, 2)
	case "MM":
		return pad(int(ts.Month()), 2)
	case "dd":
		return pad(ts.Day(), 2)
	case "HH":
		return pad(ts.Hour(), 2)
	case "mm":
		return pad(ts.Minute(), 2)
	case "ss":
		return pad(ts.Second(), 2)
	}
	return tok.literal
}

// validIndexName applies Elasticsearch 7's index name rules.
func validIndexName(name string) error {
	switch {
	case name == "":
		return errors.New("index name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("index name %q is not allowed", name)
	case len(name) > 255:
		return fmt.Errorf("index name %.40q… is %d bytes long; at most 255 are allowed", name, len(name))
	case strings.ContainsAny(name[:1], "-_+"):
		return fmt.Errorf("index name %q must not start with -, _ or +", name)
	}
	if i := strings.IndexAny(name, "\\/*?\"<>| ,#:"); i >= 0 {
		return fmt.Errorf("index name %q must not contain %q", name, name[i])
	}
	if name != strings.ToLower(name) {
		return fmt.Errorf("index name %q must be lowercase", name)
	}
	return nil
}
