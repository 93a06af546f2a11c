// Command lodsim replays LLM-serving request traces through a simulated
// inference cluster at two levels of detail.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "lodsim:", err)
		os.Exit(1)
	}
}
