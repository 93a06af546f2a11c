// Command lodsim replays LLM-serving request traces through a simulated
// inference cluster at two levels of detail.
package main

import "os"

func main() {
	stopOnSignal(os.Stderr)
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}
