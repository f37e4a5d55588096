package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/tributary-io/tributary/connect"
)

// docs/plugins.md must be what `tributary docs` prints today.
func TestPluginReferenceIsCurrent(t *testing.T) {
	want := pluginReference(connect.Default)
	got, err := os.ReadFile("../../docs/plugins.md")
	if err != nil {
		t.Fatalf("%v: run `go run ./cmd/tributary docs > docs/plugins.md`", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gl) || i < len(wl); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("docs/plugins.md is not current (first difference at line %d:\n have: %q\n want: %q)\nrun `go run ./cmd/tributary docs > docs/plugins.md`", i+1, g, w)
			}
		}
	}
}

func TestPluginReferenceCoversEveryPlugin(t *testing.T) {
	doc := string(pluginReference(connect.Default))
	if !bytes.Equal([]byte(doc), pluginReference(connect.Default)) {
		t.Fatal("two renderings differ: the reference is not deterministic")
	}
	plugins := connect.Default.Plugins()
	if len(plugins) < 10 {
		t.Fatalf("only %d plugins registered", len(plugins))
	}
	for _, p := range plugins {
		if !strings.Contains(doc, "| class | `"+p.Class+"` |") {
			t.Errorf("plugin %s (%s) missing", p.Class, p.Kind)
		}
		for _, k := range p.Config.Keys() {
			if !strings.Contains(doc, "| `"+k.Name+"` |") {
				t.Errorf("option %s of %s missing", k.Name, p.Class)
			}
		}
	}
	for _, want := range []string{"`mqtt.server.uri`", "`index.name.format`", "`model.path`", "`errors.tolerance`", "`bootstrap.servers`", "AnomalyScore$Value"} {
		if !strings.Contains(doc, want) {
			t.Errorf("reference lacks %s", want)
		}
	}
}

func TestDocsCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runDocs(nil, &out, &errOut); code != 0 || !bytes.Equal(out.Bytes(), pluginReference(connect.Default)) {
		t.Fatalf("runDocs: exit %d, stderr %q", code, errOut.String())
	}
	if code := runDocs([]string{"extra"}, &out, &errOut); code != 2 {
		t.Fatalf("runDocs with an argument: exit %d, want 2", code)
	}
	path := t.TempDir() + "/p.md"
	if code := runDocs([]string{"-o", path}, &out, &errOut); code != 0 {
		t.Fatalf("runDocs -o: exit %d", code)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, pluginReference(connect.Default)) {
		t.Fatal("-o wrote something else")
	}
}
