package elasticsearch

import "github.com/tributary-io/tributary/connect"

// schemaMapping derives index mappings from a Connect struct schema, the way
// Confluent's connector does when schema.ignore=false. Nil when the schema
// is not a struct (nothing sensible to map).
func schemaMapping(s *connect.Schema) map[string]any {
	if s == nil || s.Type != connect.Struct {
		return nil
	}
	return map[string]any{"properties": structProperties(s)}
}

func structProperties(s *connect.Schema) map[string]any {
	props := make(map[string]any, len(s.Fields))
	for _, f := range s.Fields {
		if m := fieldMapping(f.Schema); m != nil {
			props[f.Name] = m
		}
	}
	return props
}

func fieldMapping(s *connect.Schema) map[string]any {
	if s == nil {
		return nil
	}
	switch s.Name {
	case connect.TimestampName, connect.DateName:
		return map[string]any{"type": "date"}
	case connect.DecimalName:
		return map[string]any{"type": "double"}
	case connect.TimeName:
		return map[string]any{"type": "date", "format": "strict_date_optional_time||epoch_millis||HH:mm:ss.SSS"}
	}
	switch s.Type {
	case connect.Int8:
		return map[string]any{"type": "byte"}
	case connect.Int16:
		return map[string]any{"type": "short"}
	case connect.Int32:
		return map[string]any{"type": "integer"}
	case connect.Int64:
		return map[string]any{"type": "long"}
	case connect.Float32:
		return map[string]any{"type": "float"}
	case connect.Float64:
		return map[string]any{"type": "double"}
	case connect.Boolean:
		return map[string]any{"type": "boolean"}
	case connect.String:
		return map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 256}}}
	case connect.Bytes:
		return map[string]any{"type": "binary"}
	case connect.Array:
		return fieldMapping(s.Value) // Elasticsearch fields are multi-valued
	case connect.Struct:
		return map[string]any{"properties": structProperties(s)}
	case connect.Map:
		return map[string]any{"type": "object"}
	}
	return nil
}
