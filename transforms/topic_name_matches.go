package transforms

import (
	"fmt"
	"regexp"

	"github.com/tributary-io/tributary/connect"
)

// TopicNameMatches is true for records whose whole topic name matches
// pattern (org.apache.kafka.connect.transforms.predicates.TopicNameMatches).
type TopicNameMatches struct {
	noClose
	re *regexp.Regexp
}

var topicNameMatchesDef = connect.NewConfigDef(
	connect.ConfigKey{Name: "pattern", Type: connect.TypeString, Importance: connect.Medium,
		Validator: func(v any) error {
			if err := connect.NonEmptyString(v); err != nil {
				return err
			}
			return connect.ValidRegex(v)
		},
		Documentation: "A Java regular expression for matching against the name of a record's topic."},
)

func init() {
	connect.Register(connect.Plugin{Class: kafkaPredPkg + "TopicNameMatches", Kind: connect.KindPredicate, Version: Version,
		Summary: "True for records whose topic name matches a regular expression", Config: topicNameMatchesDef,
		New: func() any { return &TopicNameMatches{} }})
}

func (p *TopicNameMatches) Configure(cfg connect.Config) error {
	re, err := regexp.Compile(`^(?:` + cfg.String("pattern") + `)$`)
	if err != nil {
		return fmt.Errorf("TopicNameMatches: invalid pattern: %w", err)
	}
	p.re = re
	return nil
}

func (p *TopicNameMatches) Test(rec *connect.Record) (bool, error) {
	return p.re.MatchString(rec.Topic), nil
}
