// Package security secures the REST API: HTTPS listeners with optional client
// certificates, HTTP basic authentication from a credentials file, CORS, and
// signatures on requests workers forward to each other.
package security

import (
	"fmt"
	"strings"

	"github.com/tributary-io/tributary/connect"
)

// Worker config keys. Kafka Connect's names where it has them; Kafka
// Connect's listeners.https.ssl.keystore.* are Java keystores, so the
// certificate and key are PEM files here (librdkafka's names).
const (
	HTTPSPrefix               = "listeners.https."
	CertificateLocationConfig = HTTPSPrefix + "ssl.certificate.location"
	KeyLocationConfig         = HTTPSPrefix + "ssl.key.location"
	TruststoreLocationConfig  = HTTPSPrefix + "ssl.truststore.location"
	ClientAuthConfig          = HTTPSPrefix + "ssl.client.auth"

	CredentialsFileConfig = "rest.basic.auth.credentials.file"
	RestExtensionsConfig  = "rest.extension.classes"
	JAASConfigFileConfig  = "java.security.auth.login.config"

	AllowOriginConfig  = "access.control.allow.origin"
	AllowMethodsConfig = "access.control.allow.methods"

	InterWorkerKeyConfig = "inter.worker.key"
)

// BasicAuthExtension is Kafka Connect's basic-auth REST extension class; naming
// it in rest.extension.classes reads the credentials file from the JAAS file.
const BasicAuthExtension = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"

// Client authentication modes, Kafka Connect's ssl.client.auth values.
const (
	ClientAuthNone      = "none"
	ClientAuthRequested = "requested"
	ClientAuthRequired  = "required"
)

// minKeyLen keeps the inter-worker HMAC key out of brute-force range.
const minKeyLen = 16

const group = "REST security"

// ConfigDef declares the REST security keys, for merging into the worker's
// config definition.
func ConfigDef() *connect.ConfigDef {
	return connect.NewConfigDef(
		connect.ConfigKey{Name: CertificateLocationConfig, Type: connect.TypeString, Optional: true, Importance: connect.High, Group: group,
			Documentation: "PEM certificate (chain) served by https:// listeners. Falls back to ssl.certificate.location."},
		connect.ConfigKey{Name: KeyLocationConfig, Type: connect.TypeString, Optional: true, Importance: connect.High, Group: group,
			Documentation: "Unencrypted PEM private key of the listener certificate (PKCS#8, PKCS#1 or EC). Falls back to ssl.key.location."},
		connect.ConfigKey{Name: TruststoreLocationConfig, Type: connect.TypeString, Optional: true, Importance: connect.Medium, Group: group,
			Documentation: "PEM CA bundle: verifies client certificates, and other workers' certificates when forwarding. Falls back to ssl.ca.location."},
		connect.ConfigKey{Name: ClientAuthConfig, Type: connect.TypeString, Default: ClientAuthNone, Importance: connect.Medium, Group: group,
			Allowed:       []string{ClientAuthNone, ClientAuthRequested, ClientAuthRequired},
			Documentation: "Client certificates on https:// listeners: none, requested (verified when given) or required."},
		connect.ConfigKey{Name: CredentialsFileConfig, Type: connect.TypeString, Optional: true, Importance: connect.High, Group: group,
			Documentation: "Enables HTTP basic authentication: a properties file of `username: password` lines (password in clear or a bcrypt hash). Re-read when it changes."},
		connect.ConfigKey{Name: RestExtensionsConfig, Type: connect.TypeList, Optional: true, Importance: connect.Low, Group: group,
			Validator:     knownExtensions,
			Documentation: "Kafka Connect compatibility: " + BasicAuthExtension + " enables basic authentication with the credentials file named in the JAAS file."},
		connect.ConfigKey{Name: JAASConfigFileConfig, Type: connect.TypeString, Optional: true, Importance: connect.Low, Group: group,
			Documentation: "JAAS file whose KafkaConnect section names the credentials file (file=\"…\"); defaults to -Djava.security.auth.login.config in KAFKA_OPTS."},
		connect.ConfigKey{Name: AllowOriginConfig, Type: connect.TypeString, Default: "", Importance: connect.Low, Group: group,
			Documentation: "Origins allowed for cross-origin (CORS) requests: a comma-separated list, or * for any. Empty disables CORS."},
		connect.ConfigKey{Name: AllowMethodsConfig, Type: connect.TypeString, Default: "", Importance: connect.Low, Group: group,
			Documentation: "Methods allowed for cross-origin requests; empty means GET,POST,HEAD, as in Kafka Connect."},
		connect.ConfigKey{Name: InterWorkerKeyConfig, Type: connect.TypePassword, Optional: true, Importance: connect.High, Group: group,
			Validator:     keyLongEnough,
			Documentation: fmt.Sprintf("Shared secret (at least %d characters, the same on every worker) that signs requests forwarded between workers.", minKeyLen)},
	)
}

func knownExtensions(v any) error {
	for _, c := range v.([]string) {
		if c != BasicAuthExtension {
			return fmt.Errorf("unsupported REST extension %s; only %s is built in", c, BasicAuthExtension)
		}
	}
	return nil
}

func keyLongEnough(v any) error {
	if p, ok := v.(connect.Password); ok && len(p.Value()) < minKeyLen {
		return fmt.Errorf("must be at least %d characters", minKeyLen)
	}
	return nil
}

// parse validates only the keys this package declares, so unrelated worker
// keys never count as near-typos of ours.
func parse(props map[string]string) (connect.Config, error) {
	def := ConfigDef()
	mine := map[string]string{}
	for _, k := range def.Keys() {
		if v, ok := props[k.Name]; ok {
			mine[k.Name] = v
		}
	}
	c, err := def.Parse(mine)
	if err != nil {
		return connect.Config{}, fmt.Errorf("rest security config: %w", err)
	}
	return c, nil
}

// setting returns the listeners.https. key, or the top-level Kafka client key
// it falls back to, as Kafka Connect does.
func setting(c connect.Config, props map[string]string, key, fallback string) (string, string) {
	if v := strings.TrimSpace(c.String(key)); v != "" {
		return v, key
	}
	return strings.TrimSpace(props[fallback]), fallback
}
