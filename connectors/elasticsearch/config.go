package elasticsearch

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/tributary-io/tributary/connect"
)

// Option names. The first group is Confluent's Elasticsearch sink, so its
// configs work unchanged; the index.* and TLS PEM keys are Tributary's.
const (
	cfgURL                  = "connection.url"
	cfgUsername             = "connection.username"
	cfgPassword             = "connection.password"
	cfgConnTimeout          = "connection.timeout.ms"
	cfgReadTimeout          = "read.timeout.ms"
	cfgCompression          = "connection.compression"
	cfgKeyIgnore            = "key.ignore"
	cfgSchemaIgnore         = "schema.ignore"
	cfgCompactMapEntries    = "compact.map.entries"
	cfgWriteMethod          = "write.method"
	cfgNullValues           = "behavior.on.null.values"
	cfgMalformed            = "behavior.on.malformed.documents"
	cfgDropInvalid          = "drop.invalid.message"
	cfgBatchSize            = "batch.size"
	cfgBulkSizeBytes        = "bulk.size.bytes"
	cfgMaxInFlight          = "max.in.flight.requests"
	cfgMaxBuffered          = "max.buffered.records"
	cfgLinger               = "linger.ms"
	cfgFlushTimeout         = "flush.timeout.ms"
	cfgMaxRetries           = "max.retries"
	cfgRetryBackoff         = "retry.backoff.ms"
	cfgVersionHeader        = "external.version.header"
	cfgLogSensitive         = "log.sensitive.data"
	cfgIndexFormat          = "index.name.format"
	cfgTemplateFile         = "index.template.file"
	cfgTemplateName         = "index.template.name"
	cfgSecurityProtocol     = "elastic.security.protocol"
	cfgTLSCA                = "elastic.https.ssl.ca.pem.file"
	cfgTLSCert              = "elastic.https.ssl.certificate.pem.file"
	cfgTLSKey               = "elastic.https.ssl.key.pem.file"
	cfgTLSEndpointAlgorithm = "elastic.https.ssl.endpoint.identification.algorithm"
)

const (
	groupConnector = "Connector"
	groupData      = "Data Conversion"
	groupIndex     = "Index"
	groupSecurity  = "Security"
)

// Values of the enum options.
const (
	writeInsert = "insert"
	writeUpsert = "upsert"

	nullIgnore = "ignore"
	nullDelete = "delete"
	nullFail   = "fail"

	malformedIgnore = "ignore"
	malformedWarn   = "warn"
	malformedFail   = "fail"
)

// ConfigDef is the one declaration of the sink's configuration.
var ConfigDef = connect.NewConfigDef(
	connect.ConfigKey{Name: cfgURL, Type: connect.TypeList, Importance: connect.High, Group: groupConnector, OrderInGroup: 1,
		Validator:     validURLs,
		Documentation: "Comma-separated Elasticsearch HTTP(S) URLs, e.g. http://es1:9200,http://es2:9200. Requests are spread round-robin; a node that fails is skipped until all failed."},
	connect.ConfigKey{Name: cfgUsername, Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: groupConnector, OrderInGroup: 2,
		Documentation: "User name for HTTP basic authentication; empty disables authentication."},
	connect.ConfigKey{Name: cfgPassword, Type: connect.TypePassword, Default: connect.Password(""), Importance: connect.Medium, Group: groupConnector, OrderInGroup: 3,
		Documentation: "Password for HTTP basic authentication."},
	connect.ConfigKey{Name: cfgConnTimeout, Type: connect.TypeInt, Default: 1000, Importance: connect.Low, Group: groupConnector, OrderInGroup: 4,
		Validator:     connect.AtLeast(1),
		Documentation: "How long to wait, in milliseconds, to establish a TCP connection to Elasticsearch."},
	connect.ConfigKey{Name: cfgReadTimeout, Type: connect.TypeInt, Default: 3000, Importance: connect.Low, Group: groupConnector, OrderInGroup: 5,
		Validator:     connect.AtLeast(1),
		Documentation: "How long to wait, in milliseconds, for Elasticsearch to answer a request once it was sent. A timed-out bulk request is retried; ids and external versions make the retry idempotent."},
	connect.ConfigKey{Name: cfgCompression, Type: connect.TypeBoolean, Default: false, Importance: connect.Low, Group: groupConnector, OrderInGroup: 6,
		Documentation: "Whether to gzip-compress request bodies."},
	connect.ConfigKey{Name: cfgBatchSize, Type: connect.TypeInt, Default: 2000, Importance: connect.Medium, Group: groupConnector, OrderInGroup: 7,
		Validator:     connect.Between(1, 1000000),
		Documentation: "The maximum number of records in one bulk request."},
	connect.ConfigKey{Name: cfgBulkSizeBytes, Type: connect.TypeLong, Default: 5 * 1024 * 1024, Importance: connect.Low, Group: groupConnector, OrderInGroup: 8,
		Validator:     connect.AtLeast(1),
		Documentation: "The maximum size in bytes of one bulk request; a batch is sent when it reaches batch.size records or this size, whichever comes first."},
	connect.ConfigKey{Name: cfgMaxInFlight, Type: connect.TypeInt, Default: 5, Importance: connect.Medium, Group: groupConnector, OrderInGroup: 9,
		Validator:     connect.Between(1, 1000),
		Documentation: "The maximum number of bulk requests a task has outstanding at once."},
	connect.ConfigKey{Name: cfgMaxBuffered, Type: connect.TypeInt, Default: 20000, Importance: connect.Low, Group: groupConnector, OrderInGroup: 10,
		Validator:     connect.AtLeast(1),
		Documentation: "The maximum number of records a task holds that Elasticsearch has not acknowledged yet. Beyond it the task pauses its partitions (and resumes them below half the bound); a Put that would still exceed it waits up to flush.timeout.ms for room, then asks the runtime to redeliver the batch later."},
	connect.ConfigKey{Name: cfgLinger, Type: connect.TypeLong, Default: 1, Importance: connect.Low, Group: groupConnector, OrderInGroup: 11,
		Validator:     connect.Between(0, 86400000),
		Documentation: "How long, in milliseconds, a partly filled batch waits for more records before it is sent."},
	connect.ConfigKey{Name: cfgFlushTimeout, Type: connect.TypeLong, Default: 180000, Importance: connect.Low, Group: groupConnector, OrderInGroup: 12,
		Validator:     connect.AtLeast(1),
		Documentation: "The longest, in milliseconds, an offset commit (or a stop, or a Put waiting for buffer room) waits for outstanding records to be acknowledged. It never fails the task: records not yet acknowledged simply hold their partition's offset back."},
	connect.ConfigKey{Name: cfgMaxRetries, Type: connect.TypeInt, Default: 5, Importance: connect.Low, Group: groupConnector, OrderInGroup: 13,
		Validator:     connect.AtLeast(0),
		Documentation: "How many times a document Elasticsearch rejected as temporarily unable (429, 5xx) is retried before the task fails. An unreachable cluster (connection errors, timeouts, 502/503/504 for the whole request) is retried until it is back, with the task's health saying so."},
	connect.ConfigKey{Name: cfgRetryBackoff, Type: connect.TypeLong, Default: 100, Importance: connect.Low, Group: groupConnector, OrderInGroup: 14,
		Validator:     connect.AtLeast(1),
		Documentation: "The first retry delay in milliseconds; it doubles on every retry (random jitter in [d/2, d]) up to retry.backoff.ms × 2^max.retries, clamped between 1 s and 30 s."},

	connect.ConfigKey{Name: cfgKeyIgnore, Type: connect.TypeBoolean, Default: false, Importance: connect.High, Group: groupData, OrderInGroup: 1,
		Documentation: "When false the record key (a string or an integer) is the document id and the record offset its external version. When true the id is topic+partition+offset."},
	connect.ConfigKey{Name: cfgSchemaIgnore, Type: connect.TypeBoolean, Default: false, Importance: connect.Low, Group: groupData, OrderInGroup: 2,
		Documentation: "When false and a record carries a value schema, a missing index is created with a mapping derived from that schema. When true (or for schemaless records) Elasticsearch's dynamic mapping and any index template decide."},
	connect.ConfigKey{Name: cfgCompactMapEntries, Type: connect.TypeBoolean, Default: true, Importance: connect.Low, Group: groupData, OrderInGroup: 3,
		Documentation: "Accepted for compatibility with Confluent's connector: map values are always written as JSON objects."},
	connect.ConfigKey{Name: cfgWriteMethod, Type: connect.TypeString, Default: writeInsert, Allowed: []string{writeInsert, writeUpsert}, Importance: connect.Low, Group: groupData, OrderInGroup: 4,
		Documentation: "insert replaces the whole document (index with external version = offset); upsert merges the value into an existing document (update with doc_as_upsert, unversioned)."},
	connect.ConfigKey{Name: cfgNullValues, Type: connect.TypeString, Default: nullFail, Allowed: []string{nullIgnore, nullDelete, nullFail}, Importance: connect.Low, Group: groupData, OrderInGroup: 5,
		Documentation: "What a record with a null value (tombstone) does: ignore skips it, delete deletes the document with the record's id (externally versioned by offset in insert mode), fail treats it as an invalid record."},
	connect.ConfigKey{Name: cfgMalformed, Type: connect.TypeString, Default: malformedFail, Allowed: []string{malformedIgnore, malformedWarn, malformedFail}, Importance: connect.Low, Group: groupData, OrderInGroup: 6,
		Documentation: "What a document Elasticsearch rejects as malformed (mapper_parsing_exception, illegal_argument_exception, …) does: ignore drops it, warn logs and drops it, fail fails the task. In every mode the record also goes to the errant record reporter (the dead-letter queue when configured)."},
	connect.ConfigKey{Name: cfgDropInvalid, Type: connect.TypeBoolean, Default: false, Importance: connect.Low, Group: groupData, OrderInGroup: 7,
		Documentation: "Whether to drop (with a warning) records that cannot become a document: a null or structured key, an invalid index name, a value that is not an object. When false they go to the errant record reporter, which logs, dead-letters or fails per errors.tolerance."},
	connect.ConfigKey{Name: cfgVersionHeader, Type: connect.TypeString, Default: "", Importance: connect.Low, Group: groupData, OrderInGroup: 8,
		Documentation: "A record header whose integer value is the external version instead of the offset. A record without it is invalid."},
	connect.ConfigKey{Name: cfgLogSensitive, Type: connect.TypeBoolean, Default: false, Importance: connect.Low, Group: groupData, OrderInGroup: 9,
		Documentation: "Whether log lines about failed documents may include record keys and Elasticsearch's reasons (which can quote field values)."},

	connect.ConfigKey{Name: cfgIndexFormat, Type: connect.TypeString, Default: "${topic}", Importance: connect.Medium, Group: groupIndex, OrderInGroup: 1,
		Validator:     validIndexFormat,
		Documentation: "The index a record goes to. ${topic} is the record's (possibly renamed) topic; ${timestamp:FORMAT} is the record timestamp in UTC with FORMAT built from yyyy, yy, MM, dd, HH, mm, ss and literal . - _ (${timestamp} alone means yyyy.MM.dd). E.g. car-sensors-${timestamp:yyyy.MM.dd} or ${topic}-${timestamp}. The result is lowercased and must be a valid index name (≤ 255 bytes, not starting with - _ +, none of \\ / * ? \" < > | space , # :)."},
	connect.ConfigKey{Name: cfgTemplateFile, Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: groupIndex, OrderInGroup: 2,
		Validator:     validTemplateFile,
		Documentation: "A JSON file with an index template installed (overwriting any of the same name) before the first write. A body with a top-level \"template\" object is a composable template (PUT _index_template), otherwise a legacy one (PUT _template)."},
	connect.ConfigKey{Name: cfgTemplateName, Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: groupIndex, OrderInGroup: 3,
		Documentation: "The name of the installed index template; defaults to the file name without .json."},

	connect.ConfigKey{Name: cfgSecurityProtocol, Type: connect.TypeString, Default: "PLAINTEXT", Allowed: []string{"PLAINTEXT", "SSL"}, Importance: connect.Medium, Group: groupSecurity, OrderInGroup: 1,
		Documentation: "SSL enables TLS with the PEM files below; https:// URLs use TLS anyway."},
	connect.ConfigKey{Name: cfgTLSCA, Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: groupSecurity, OrderInGroup: 2,
		Validator:     validReadableFile,
		Documentation: "PEM file with the CA certificate(s) to trust for Elasticsearch; empty uses the system roots. (Confluent's JKS truststore options are not supported: convert to PEM.)"},
	connect.ConfigKey{Name: cfgTLSCert, Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: groupSecurity, OrderInGroup: 3,
		Validator:     validReadableFile,
		Documentation: "PEM file with the client certificate chain for mutual TLS; needs " + cfgTLSKey + "."},
	connect.ConfigKey{Name: cfgTLSKey, Type: connect.TypeString, Default: "", Importance: connect.Medium, Group: groupSecurity, OrderInGroup: 4,
		Validator:     validReadableFile,
		Documentation: "PEM file with the unencrypted private key of the client certificate."},
	connect.ConfigKey{Name: cfgTLSEndpointAlgorithm, Type: connect.TypeString, Default: "https", Importance: connect.Low, Group: groupSecurity, OrderInGroup: 5,
		Documentation: "https verifies that the server certificate matches the host name; empty disables that check (the chain is still verified)."},
).Check(checkConfig)

func validURLs(v any) error {
	if err := connect.NonEmptyList(v); err != nil {
		return err
	}
	for _, s := range v.([]string) {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%q is not an http:// or https:// URL", s)
		}
	}
	return nil
}

func validIndexFormat(v any) error {
	_, err := parseIndexFormat(v.(string))
	return err
}

func validTemplateFile(v any) error {
	path := v.(string)
	if path == "" {
		return nil
	}
	_, err := loadTemplate(path)
	return err
}

func validReadableFile(v any) error {
	path := v.(string)
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read file: %w", err)
	}
	return f.Close()
}

// checkConfig holds the cross-field rules.
func checkConfig(c connect.Config) []connect.FieldError {
	var errs []connect.FieldError
	if (c.String(cfgTLSCert) == "") != (c.String(cfgTLSKey) == "") {
		errs = append(errs, connect.FieldError{Key: cfgTLSKey, Message: cfgTLSCert + " and " + cfgTLSKey + " go together"})
	}
	if c.String(cfgUsername) == "" && c.Password(cfgPassword) != "" {
		errs = append(errs, connect.FieldError{Key: cfgUsername, Message: "a password needs a user name"})
	}
	// Confluent's JKS options would silently do nothing here; say so.
	for _, k := range []string{"elastic.https.ssl.keystore.location", "elastic.https.ssl.truststore.location"} {
		if _, ok := c.Raw()[k]; ok {
			errs = append(errs, connect.FieldError{Key: k, Message: "JKS/PKCS12 stores are not supported; use the PEM options " + cfgTLSCA + ", " + cfgTLSCert + ", " + cfgTLSKey})
		}
	}
	return errs
}

// settings is the parsed configuration the task works with.
type settings struct {
	urls                   []string
	username, password     string
	connTimeout            time.Duration
	readTimeout            time.Duration
	compression            bool
	keyIgnore              bool
	schemaIgnore           bool
	writeMethod            string
	nullValues             string
	malformed              string
	dropInvalid            bool
	batchSize              int
	bulkSizeBytes          int64
	maxInFlight            int
	maxBuffered            int
	linger                 time.Duration
	flushTimeout           time.Duration
	maxRetries             int
	retryBackoff           time.Duration
	versionHeader          string
	logSensitive           bool
	indexFormat            *indexFormat
	templateFile           string
	templateName           string
	tlsEnabled             bool
	tlsCA, tlsCert, tlsKey string
	verifyHostname         bool
}

func parseSettings(c connect.Config) (*settings, error) {
	f, err := parseIndexFormat(c.String(cfgIndexFormat))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfgIndexFormat, err)
	}
	s := &settings{
		urls:           c.List(cfgURL),
		username:       c.String(cfgUsername),
		password:       c.Password(cfgPassword),
		connTimeout:    c.Duration(cfgConnTimeout),
		readTimeout:    c.Duration(cfgReadTimeout),
		compression:    c.Bool(cfgCompression),
		keyIgnore:      c.Bool(cfgKeyIgnore),
		schemaIgnore:   c.Bool(cfgSchemaIgnore),
		writeMethod:    strings.ToLower(c.String(cfgWriteMethod)),
		nullValues:     strings.ToLower(c.String(cfgNullValues)),
		malformed:      strings.ToLower(c.String(cfgMalformed)),
		dropInvalid:    c.Bool(cfgDropInvalid),
		batchSize:      c.Int(cfgBatchSize),
		bulkSizeBytes:  c.Long(cfgBulkSizeBytes),
		maxInFlight:    c.Int(cfgMaxInFlight),
		maxBuffered:    c.Int(cfgMaxBuffered),
		linger:         c.Duration(cfgLinger),
		flushTimeout:   c.Duration(cfgFlushTimeout),
		maxRetries:     c.Int(cfgMaxRetries),
		retryBackoff:   c.Duration(cfgRetryBackoff),
		versionHeader:  c.String(cfgVersionHeader),
		logSensitive:   c.Bool(cfgLogSensitive),
		indexFormat:    f,
		templateFile:   c.String(cfgTemplateFile),
		templateName:   c.String(cfgTemplateName),
		tlsCA:          c.String(cfgTLSCA),
		tlsCert:        c.String(cfgTLSCert),
		tlsKey:         c.String(cfgTLSKey),
		verifyHostname: strings.EqualFold(c.String(cfgTLSEndpointAlgorithm), "https"),
	}
	s.tlsEnabled = strings.EqualFold(c.String(cfgSecurityProtocol), "SSL")
	for _, u := range s.urls {
		if strings.HasPrefix(strings.ToLower(u), "https://") {
			s.tlsEnabled = true
		}
	}
	if s.templateFile != "" && s.templateName == "" {
		base := s.templateFile[strings.LastIndexAny(s.templateFile, `/\`)+1:]
		s.templateName = strings.ToLower(strings.TrimSuffix(base, ".json"))
	}
	return s, nil
}

// template is an index template read from index.template.file.
type template struct {
	body       json.RawMessage
	composable bool
}

func loadTemplate(path string) (*template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read index template: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, fmt.Errorf("index template %s is not a JSON object: %w", path, err)
	}
	if _, ok := obj["index_patterns"]; !ok {
		return nil, errors.New("index template " + path + " has no index_patterns")
	}
	_, composable := obj["template"]
	return &template{body: data, composable: composable}, nil
}
