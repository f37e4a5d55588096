package transforms

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// TimestampRouter renames the topic from the original topic and the
// record timestamp, e.g. for time-based indices
// (org.apache.kafka.connect.transforms.TimestampRouter).
type TimestampRouter struct {
	noClose
	topicFormat string
	tsFormat    dateFormat
}

var timestampRouterDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "topic.format", Type: connect.TypeString, Default: "${topic}-${timestamp}", Importance: connect.High,
		Documentation: "Format string which can contain ${topic} and ${timestamp} as placeholders for the topic and timestamp, respectively."},
	connect.ConfigKey{Name: "timestamp.format", Type: connect.TypeString, Default: "yyyyMMdd", Importance: connect.High,
		Validator:     func(v any) error { _, err := parseDateFormat(v.(string)); return err },
		Documentation: "Format string for the timestamp that is compatible with java.text.SimpleDateFormat (UTC)."},
)

func init() {
	connect.Register(connect.Plugin{Class: kafkaPkg + "TimestampRouter", Kind: connect.KindTransformation, Version: Version,
		Summary: "Update the record's topic from the original topic and the record timestamp", Config: timestampRouterDef,
		New: func() any { return &TimestampRouter{} }})
}

func (r *TimestampRouter) Configure(cfg connect.Config) error {
	df, err := parseDateFormat(cfg.String("timestamp.format"))
	if err != nil {
		return fmt.Errorf("TimestampRouter: %w", err)
	}
	r.topicFormat, r.tsFormat = cfg.String("topic.format"), df
	return nil
}

func (r *TimestampRouter) Apply(rec *connect.Record) (*connect.Record, error) {
	if rec.Timestamp.IsZero() {
		return nil, fmt.Errorf("TimestampRouter: timestamp missing on record for topic %q", rec.Topic)
	}
	c := shallow(rec)
	c.Topic = strings.ReplaceAll(strings.ReplaceAll(r.topicFormat, "${topic}", rec.Topic), "${timestamp}", r.tsFormat.format(rec.Timestamp))
	return c, nil
}
