package main

// The plugins compiled into the binary; each registers itself in init.
import (
	_ "github.com/tributary-io/tributary/connectors/datagen"
	_ "github.com/tributary-io/tributary/connectors/elasticsearch"
	_ "github.com/tributary-io/tributary/connectors/file"
	_ "github.com/tributary-io/tributary/connectors/mqtt"
	_ "github.com/tributary-io/tributary/converters"
	_ "github.com/tributary-io/tributary/transforms"
	_ "github.com/tributary-io/tributary/transforms/anomaly"
)
