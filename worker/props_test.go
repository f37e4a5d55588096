package worker

import (
	"maps"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
		err  bool
	}{
		{"equals", "a=b\n", map[string]string{"a": "b"}, false},
		{"colon and spaces", "a : b c\n", map[string]string{"a": "b c"}, false},
		{"space separator", "key value", map[string]string{"key": "value"}, false},
		{"comments", "# c\n! c\n\n  x=1", map[string]string{"x": "1"}, false},
		{"continuation", "list=a,\\\n    b,\\\n    c\n", map[string]string{"list": "a,b,c"}, false},
		{"escaped separator in key", `a\=b=c`, map[string]string{"a=b": "c"}, false},
		{"unicode escape", `k=caf\u00e9`, map[string]string{"k": "café"}, false},
		{"bad unicode escape", `k=\u00`, nil, true},
		{"empty value", "k=", map[string]string{"k": ""}, false},
		{"key only", "k", map[string]string{"k": ""}, false},
		{"transforms class with dollar", "transforms.a.type=org.apache.kafka.connect.transforms.InsertField$Value",
			map[string]string{"transforms.a.type": "org.apache.kafka.connect.transforms.InsertField$Value"}, false},
		{"windows line ends value kept", "a=b", map[string]string{"a": "b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProperties(strings.NewReader(tt.in))
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !tt.err && !maps.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func FuzzParseProperties(f *testing.F) {
	for _, s := range []string{"a=b", "a\\\n b", `k=\u12`, "# c\nx:y", "\\", "a b=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseProperties(strings.NewReader(s))
		if err == nil && got == nil {
			t.Fatal("nil map without error")
		}
	})
}
