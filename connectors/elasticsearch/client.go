package elasticsearch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/olivere/elastic/v7"
)

// newClient builds an olivere client that never talks to Elasticsearch on
// its own: no sniffing, no health checks (so a task starts while the cluster
// is down) and no client-side retries (the task owns retrying).
func newClient(s *settings) (*elastic.Client, error) {
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: s.connTimeout}).DialContext,
		TLSHandshakeTimeout:   s.connTimeout + s.readTimeout,
		ResponseHeaderTimeout: s.readTimeout,
		MaxIdleConnsPerHost:   s.maxInFlight + 2,
		ForceAttemptHTTP2:     false,
	}
	if s.tlsEnabled {
		tc, err := tlsConfig(s)
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = tc
	}
	opts := []elastic.ClientOptionFunc{
		elastic.SetURL(s.urls...),
		elastic.SetHttpClient(&http.Client{Transport: transport}),
		elastic.SetSniff(false),
		elastic.SetHealthcheck(false),
		elastic.SetMaxRetries(0),
		elastic.SetGzip(s.compression),
	}
	if s.username != "" {
		opts = append(opts, elastic.SetBasicAuth(s.username, s.password))
	}
	c, err := elastic.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("create elasticsearch client: %w", err)
	}
	return c, nil
}

func tlsConfig(s *settings) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.tlsCA != "" {
		pem, err := os.ReadFile(s.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", cfgTLSCA, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s %s holds no PEM certificate", cfgTLSCA, s.tlsCA)
		}
		tc.RootCAs = pool
	}
	if s.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(s.tlsCert, s.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if !s.verifyHostname {
		// Verify the chain but not the host name, as Confluent's empty
		// endpoint identification algorithm does.
		roots := tc.RootCAs
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("elasticsearch presented no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, c := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	}
	return tc, nil
}

// errClass says what to do about a failed request or bulk item.
type errClass int

const (
	classOK        errClass = iota
	classOutage             // cluster unreachable or unavailable: retry until back
	classRetry              // rejected for now (429, 5xx): retry up to max.retries
	classMalformed          // the document is bad: behavior.on.malformed.documents
	classFatal              // anything else: fail the task
)

// malformedTypes are the error types Elasticsearch uses for a document that
// does not fit its index, as Confluent's connector lists them (plus the
// strict-mapping and parsing variants).
var malformedTypes = []string{
	"mapper_parsing_exception",
	"illegal_argument_exception",
	"action_request_validation_exception",
	"strict_dynamic_mapping_exception",
	"document_parsing_exception",
	"parse_exception",
	"json_parse_exception",
	"x_content_parse_exception",
}

// classifyRequestErr classifies a whole-request failure.
func classifyRequestErr(err error) errClass {
	var e *elastic.Error
	if errors.As(err, &e) {
		switch {
		case e.Status == http.StatusTooManyRequests, e.Status >= 500:
			return classOutage
		case e.Status == http.StatusRequestTimeout:
			return classOutage
		}
		return classFatal
	}
	// Connection refused, resets, timeouts, "no Elasticsearch node
	// available": the cluster cannot be reached right now.
	return classOutage
}

// classifyItem classifies one bulk response item.
func classifyItem(it *elastic.BulkResponseItem, kind opKind, versioned bool) errClass {
	if it.Status >= 200 && it.Status < 300 {
		return classOK
	}
	typ := ""
	if it.Error != nil {
		typ = it.Error.Type
	}
	switch {
	case it.Status == http.StatusNotFound && kind == opDelete:
		return classOK // already gone
	case it.Status == http.StatusConflict && versioned:
		// A newer (or the same) version is already there: a replay.
		return classOK
	case it.Status == http.StatusConflict:
		return classRetry // concurrent upserts of one id
	case it.Status == http.StatusTooManyRequests, it.Status >= 500:
		return classRetry
	case typ == "cluster_block_exception":
		return classRetry // read-only index (disk flood stage) may lift
	}
	for _, m := range malformedTypes {
		if typ == m || (it.Error != nil && it.Error.CausedBy != nil && it.Error.CausedBy["type"] == m) {
			return classMalformed
		}
	}
	if it.Status == http.StatusBadRequest {
		return classMalformed
	}
	return classFatal
}

// itemError renders a bulk item failure.
func itemError(it *elastic.BulkResponseItem, withReason bool) error {
	if it.Error == nil {
		return fmt.Errorf("elasticsearch answered %d for document %q in index %q", it.Status, it.Id, it.Index)
	}
	msg := fmt.Sprintf("elasticsearch rejected document in index %q with %d %s", it.Index, it.Status, it.Error.Type)
	if withReason {
		msg += ": " + it.Error.Reason
		if cb := it.Error.CausedBy; cb != nil {
			msg += fmt.Sprintf(" (caused by %v: %v)", cb["type"], cb["reason"])
		}
	}
	return errors.New(msg)
}

// installTemplate puts the configured index template.
func installTemplate(ctx context.Context, c *elastic.Client, name string, t *template) error {
	path := "/_template/" + name
	if t.composable {
		path = "/_index_template/" + name
	}
	_, err := c.PerformRequest(ctx, elastic.PerformRequestOptions{Method: "PUT", Path: path, Body: t.body})
	if err != nil {
		return fmt.Errorf("install index template %s: %w", name, err)
	}
	return nil
}

// createIndex creates an index, with mappings when given; an index that
// already exists is fine.
func createIndex(ctx context.Context, c *elastic.Client, index string, mapping map[string]any) error {
	svc := c.CreateIndex(index)
	if mapping != nil {
		svc = svc.BodyJson(map[string]any{"mappings": mapping})
	}
	_, err := svc.Do(ctx)
	var e *elastic.Error
	if errors.As(err, &e) && e.Details != nil && strings.Contains(e.Details.Type, "resource_already_exists") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create index %s: %w", index, err)
	}
	return nil
}
