package transforms

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// dateFormat is a java.text.SimpleDateFormat pattern translated once to a
// Go layout. Kafka Connect's TimestampConverter and TimestampRouter take
// Java patterns; translating (rather than re-implementing formatting)
// keeps Go's well-tested time package doing the work. Patterns Go cannot
// express exactly are rejected at configuration time instead of producing
// different text than Kafka Connect would.
type dateFormat struct {
	pattern string
	layout  string
}

func (f dateFormat) format(t time.Time) string { return t.UTC().Format(f.layout) }

func (f dateFormat) parse(s string) (time.Time, error) {
	t, err := time.ParseInLocation(f.layout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("could not parse timestamp %q with format %q", s, f.pattern)
	}
	return t.UTC(), nil
}

// parseDateFormat translates a SimpleDateFormat pattern. Supported letters:
// y Y M L d D E a H h m s S (after '.' or ','), z Z X, and quoted text.
func parseDateFormat(pattern string) (dateFormat, error) {
	if pattern == "" {
		return dateFormat{}, errors.New("empty date format pattern")
	}
	var b strings.Builder
	lastNumeric := false // the previous token is an unpadded number
	lastLiteral := ""    // the literal text just written, if the last token was one
	lastTok := ""        // the layout element just written, if the last token was one
	literal := func(s string) error {
		for i, r := range s {
			// Go reads digits, '_' and these words as layout elements and
			// has no escape for literal text.
			if (r >= '0' && r <= '9') || r == '_' {
				return fmt.Errorf("literal %q cannot be expressed: digits and '_' are not supported in literal text", s)
			}
			for _, w := range []string{"Jan", "Mon", "MST", "PM", "pm"} {
				if strings.HasPrefix(s[i:], w) {
					return fmt.Errorf("literal %q cannot be expressed: contains %q", s, w)
				}
			}
		}
		if (lastTok == "Jan" && strings.HasPrefix(s, "uary")) || (lastTok == "Mon" && strings.HasPrefix(s, "day")) {
			return fmt.Errorf("literal %q cannot follow %s", s, lastTok)
		}
		if strings.HasSuffix(s, "P") {
			return fmt.Errorf("literal %q cannot end with 'P'", s)
		}
		b.WriteString(s)
		lastLiteral += s
		lastNumeric = false
		lastTok = ""
		return nil
	}
	rs := []rune(pattern)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case r == '\'':
			j := i + 1
			var lit strings.Builder
			for {
				if j >= len(rs) {
					return dateFormat{}, fmt.Errorf("unterminated quote in date format %q", pattern)
				}
				if rs[j] == '\'' {
					if j+1 < len(rs) && rs[j+1] == '\'' {
						lit.WriteRune('\'')
						j += 2
						continue
					}
					break
				}
				lit.WriteRune(rs[j])
				j++
			}
			if j == i+1 { // '' is a single quote
				lit.WriteRune('\'')
			}
			if err := literal(lit.String()); err != nil {
				return dateFormat{}, err
			}
			i = j + 1
		case (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'):
			n := 1
			for i+n < len(rs) && rs[i+n] == r {
				n++
			}
			tok, numeric, unpadded, err := javaLetter(r, n, lastLiteral)
			if err != nil {
				return dateFormat{}, fmt.Errorf("date format %q: %w", pattern, err)
			}
			if lastNumeric && numeric {
				return dateFormat{}, fmt.Errorf("date format %q: an unpadded number followed directly by another number is ambiguous", pattern)
			}
			if strings.HasSuffix(lastLiteral, "P") && strings.HasPrefix(tok, "M") {
				return dateFormat{}, fmt.Errorf("date format %q: literal 'P' before %c cannot be expressed", pattern, r)
			}
			b.WriteString(tok)
			lastNumeric = unpadded
			lastLiteral = ""
			lastTok = tok
			i += n
		default:
			if err := literal(string(r)); err != nil {
				return dateFormat{}, fmt.Errorf("date format %q: %w", pattern, err)
			}
			i++
		}
	}
	return dateFormat{pattern: pattern, layout: b.String()}, nil
}

// javaLetter maps one run of a pattern letter to a Go layout element.
func javaLetter(r rune, n int, prevLiteral string) (tok string, numeric, unpadded bool, err error) {
	pick := func(one, two string) (string, bool, bool, error) {
		switch n {
		case 1:
			return one, true, true, nil
		case 2:
			return two, true, false, nil
		}
		return "", false, false, fmt.Errorf("%d repetitions of %q are not supported", n, r)
	}
	switch r {
	case 'y', 'Y': // Y (week year) is treated as the calendar year
		if n == 2 {
			return "06", true, false, nil
		}
		return "2006", true, false, nil
	case 'M', 'L':
		switch n {
		case 1:
			return "1", true, true, nil
		case 2:
			return "01", true, false, nil
		case 3:
			return "Jan", false, false, nil
		}
		return "January", false, false, nil
	case 'd':
		return pick("2", "02")
	case 'D':
		if n == 3 {
			return "002", true, false, nil
		}
		return "", false, false, errors.New("day of year is supported only as DDD")
	case 'E':
		if n >= 4 {
			return "Monday", false, false, nil
		}
		return "Mon", false, false, nil
	case 'a':
		return "PM", false, false, nil
	case 'H':
		if n != 2 { // Go has no unpadded 24-hour element
			return "", false, false, errors.New("the hour of day is supported only as HH")
		}
		return "15", true, false, nil
	case 'h':
		return pick("3", "03")
	case 'm':
		return pick("4", "04")
	case 's':
		return pick("5", "05")
	case 'S':
		if !strings.HasSuffix(prevLiteral, ".") && !strings.HasSuffix(prevLiteral, ",") {
			return "", false, false, errors.New("fraction of second (S) must follow '.' or ','")
		}
		if n > 9 {
			return "", false, false, errors.New("at most 9 fraction digits (S) are supported")
		}
		// Marked unpadded: a number right after the fraction would merge with it.
		return strings.Repeat("0", n), true, true, nil
	case 'z':
		return "MST", false, false, nil
	case 'Z':
		return "-0700", false, false, nil
	case 'X':
		switch n {
		case 1:
			return "Z07", false, false, nil
		case 2:
			return "Z0700", false, false, nil
		}
		return "Z07:00", false, false, nil
	}
	return "", false, false, fmt.Errorf("pattern letter %q is not supported", r)
}
