// Command gen regenerates the TEST-ONLY certificates in config-examples/security:
//
//	go run ./config-examples/security/gen config-examples/security
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/tributary-io/tributary/rest/security/testpki"
)

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := testpki.Generate(dir, 10*365*24*time.Hour); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
