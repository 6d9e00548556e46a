// Command quorate-agent is the daemon of a node: `quorate agent`, linked
// without the simulator, the reports and the management commands, so that
// the daemon's resident memory is the agent's. `quorate agent` hands itself
// over to it when it is installed beside quorate from the same build
// (docs/ops.md, "The daemon binary"); run directly, it takes the same flags.
package main

import (
	"os"

	"github.com/quorate/quorate/cmd/internal/agentcmd"
)

func main() {
	os.Exit(agentcmd.Main(os.Args[1:]))
}
