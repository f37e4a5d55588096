package elasticsearch

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tributary-io/tributary/connect"
)

// opKind is the bulk action a record becomes.
type opKind int

const (
	opIndex opKind = iota
	opUpdate
	opDelete
	opSkip // nothing to write (ignored tombstone); acknowledged at once
)

// op is one record turned into a bulk action.
type op struct {
	kind      opKind
	index     string
	id        string
	version   int64 // external version; used when versioned
	versioned bool
	doc       json.RawMessage
	schema    *connect.Schema // value schema, for index creation
	rec       *connect.Record
	seq       uint64 // offset tracker handle
	attempts  int    // per-item retries so far
}

// size estimates the bytes the op adds to a bulk body.
func (o *op) size() int64 { return int64(len(o.doc) + len(o.index) + len(o.id) + 96) }

// errInvalid marks records that cannot become a document; they are handled
// per drop.invalid.message and the errant record reporter.
var errInvalid = errors.New("invalid record")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInvalid, fmt.Sprintf(format, args...))
}

// toOp converts a record; errors wrap errInvalid.
func (s *settings) toOp(rec *connect.Record) (*op, error) {
	if rec.Value == nil {
		switch s.nullValues {
		case nullIgnore:
			return &op{kind: opSkip, rec: rec}, nil
		case nullFail:
			return nil, fmt.Errorf("%w: %w (tombstone) with %s=%s", errInvalid, errNullValue, cfgNullValues, nullFail)
		}
	}
	index, err := s.indexFormat.render(rec.Topic, rec.Timestamp)
	if err != nil {
		return nil, invalidf("%v", err)
	}
	o := &op{kind: opIndex, index: index, rec: rec, schema: rec.ValueSchema}
	if s.keyIgnore {
		o.id = rec.Topic + "+" + strconv.FormatInt(int64(rec.Partition), 10) + "+" + strconv.FormatInt(rec.Offset, 10)
	} else {
		if o.id, err = docID(rec.Key); err != nil {
			return nil, err
		}
		// Versions order writes of one key, so a replay or a late retry
		// of an older record can never overwrite a newer one.
		o.versioned = true
		o.version = rec.Offset
		if s.versionHeader != "" {
			h, ok := rec.Headers.Get(s.versionHeader)
			if !ok {
				return nil, invalidf("header %q for the external version is missing", s.versionHeader)
			}
			if o.version, err = versionFromHeader(h.Value); err != nil {
				return nil, err
			}
		}
	}
	if rec.Value == nil { // behavior.on.null.values=delete
		o.kind = opDelete
		if s.writeMethod == writeUpsert {
			// Upserted documents carry internal versions; an external
			// delete version would compare against those.
			o.versioned = false
		}
		return o, nil
	}
	if o.doc, err = docBody(rec.Value); err != nil {
		return nil, err
	}
	if s.writeMethod == writeUpsert {
		o.kind = opUpdate
		o.versioned = false // the update API has no external versioning
	}
	return o, nil
}

// docID derives the document id from a key: a string or an integer.
func docID(key any) (string, error) {
	var id string
	switch k := key.(type) {
	case nil:
		return "", invalidf("the key is the document id (%s=false) but it is null", cfgKeyIgnore)
	case string:
		id = k
	case []byte:
		if !utf8.Valid(k) {
			return "", invalidf("a byte key must be UTF-8 text to be a document id")
		}
		id = string(k)
	case int:
		id = strconv.Itoa(k)
	case int8:
		id = strconv.FormatInt(int64(k), 10)
	case int16:
		id = strconv.FormatInt(int64(k), 10)
	case int32:
		id = strconv.FormatInt(int64(k), 10)
	case int64:
		id = strconv.FormatInt(k, 10)
	case uint32:
		id = strconv.FormatUint(uint64(k), 10)
	case uint64:
		id = strconv.FormatUint(k, 10)
	case float64:
		// Schemaless JSON numbers may arrive as float64; only whole
		// numbers that float64 holds exactly make sensible ids.
		if k != math.Trunc(k) || math.Abs(k) > 1<<53 {
			return "", invalidf("key %v is not an integer and cannot be a document id", k)
		}
		id = strconv.FormatInt(int64(k), 10)
	default:
		return "", invalidf("a key of type %T cannot be a document id (use a string or integer key, or %s=true)", key, cfgKeyIgnore)
	}
	if id == "" {
		return "", invalidf("the key is an empty string and cannot be a document id")
	}
	if len(id) > 512 {
		return "", invalidf("the key is %d bytes long; document ids are at most 512", len(id))
	}
	return id, nil
}

// versionFromHeader reads an external version from a header value.
func versionFromHeader(v any) (int64, error) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int32:
		n = int64(x)
	case int:
		n = int64(x)
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, invalidf("version header %v is not an integer", x)
		}
		n = int64(x)
	case string, []byte:
		var s string
		if b, ok := x.([]byte); ok {
			s = string(b)
		} else {
			s = x.(string)
		}
		p, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return 0, invalidf("version header %q is not an integer", s)
		}
		n = p
	default:
		return 0, invalidf("version header of type %T is not an integer", v)
	}
	if n < 0 {
		return 0, invalidf("version header %d is negative", n)
	}
	return n, nil
}

// docBody encodes a record value as a JSON object.
func docBody(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case map[string]any:
		out, err := json.Marshal(jsonValue(x))
		if err != nil {
			return nil, invalidf("value cannot be encoded as JSON: %v", err)
		}
		return out, nil
	case string:
		return rawObject([]byte(x))
	case []byte:
		return rawObject(x)
	default:
		return nil, invalidf("a value of type %T cannot be a document; it must be a struct, a map or a JSON object", v)
	}
}

// rawObject accepts text values (StringConverter, ByteArrayConverter) that
// already hold a JSON object.
func rawObject(b []byte) (json.RawMessage, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, invalidf("a text value must be a JSON object to be a document: %v", err)
	}
	// Bulk bodies are one document per line: pretty-printed JSON must lose
	// its newlines.
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return nil, invalidf("a text value must be a JSON object to be a document: %v", err)
	}
	return buf.Bytes(), nil
}

// jsonValue makes Connect values JSON-friendly: times as ISO-8601 UTC with
// milliseconds (parsed by Elasticsearch's default date format), bytes as
// base64, non-finite floats as null (JSON has no NaN).
func jsonValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = jsonValue(e)
		}
		return s
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z")
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return floatNumber(x, 64)
	case float32:
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil
		}
		return floatNumber(float64(x), 32)
	default:
		return v
	}
}

// floatNumber writes a float with a decimal point (32.0, not 32): with
// dynamic mapping, Elasticsearch maps a field by its first value, and a
// reading that happens to be whole would make the field a long that rejects
// every later fraction.
func floatNumber(f float64, bits int) json.Number {
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return json.Number(s)
}
