package worker

import (
	"io"

	"github.com/tributary-io/tributary/configprovider"
)

// ParseProperties reads Java .properties text, the format of Kafka Connect's
// worker and connector files.
func ParseProperties(r io.Reader) (map[string]string, error) {
	return configprovider.ParseProperties(r)
}
