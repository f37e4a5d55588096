// Command tributary is the one binary: workers, the simulator and tools.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
)

// command is one subcommand; files of this package add theirs in init.
type command struct {
	summary string
	run     func(args []string) int
}

var commands = map[string]command{}

// defaultMemoryLimit is the Go heap's soft limit unless GOMEMLIMIT says
// otherwise: without one, the heap grows to twice the live data (GOGC=100),
// which under a fast sink is most of a worker's resident memory.
const defaultMemoryLimit = 80 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage()
		return
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "tributary: unknown command %q\n\n", name)
		usage()
		os.Exit(2)
	}
	os.Exit(c.run(os.Args[2:]))
}

func usage() {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: tributary <command> [arguments]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(os.Stderr, b.String())
}
