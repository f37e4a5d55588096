package elasticsearch

import (
	"encoding/json"
	"testing"
)

// A whole-valued float must still look like a float to Elasticsearch's
// dynamic mapping, or the field becomes a long that rejects fractions.
func TestFloatsKeepADecimalPoint(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{map[string]any{"p": 32.0}, `{"p":32.0}`},
		{map[string]any{"p": 32.5}, `{"p":32.5}`},
		{map[string]any{"p": float32(2)}, `{"p":2.0}`},
		{map[string]any{"p": int64(7)}, `{"p":7}`},
		{map[string]any{"p": 1e21}, `{"p":1e+21}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(jsonValue(tt.in))
		if err != nil || string(b) != tt.want {
			t.Errorf("%v → %s (%v), want %s", tt.in, b, err, tt.want)
		}
	}
}
