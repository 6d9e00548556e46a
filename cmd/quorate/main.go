// Command quorate is the project's command line: the simulator's run,
// replay, sweep and report commands, the agent and its pvecm-style
// management commands. The agent is also built alone as quorate-agent
// (cmd/quorate-agent), which `quorate agent` runs when it is installed
// beside this binary from the same build.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/cmd/internal/agentcmd"
	"github.com/quorate/quorate/sim"
)

// Exit codes of every command (docs/ops.md §6, scenario-format.md): 0 done;
// 1 failed, refused or unknown (an expectation or check failed, the agent
// refused the request or cannot be reached: worth retrying as it is); 2 bad
// input (bad scenario, flags, arguments, unreadable trace: nothing changed,
// retrying the same command cannot help); 3 only from `quorate status`: this
// node is not quorate, so that a typo in a script is never read as a lost
// quorum.
const (
	exitOK         = 0
	exitFailed     = agentcmd.ExitFailed
	exitBadInput   = agentcmd.ExitBadInput
	exitNotQuorate = 3
)

// exitError carries an exit code through cobra: agentcmd's, which the
// daemon binary shares.
type exitError = agentcmd.Error

func badInput(err error) error { return agentcmd.BadInput(err) }

// failed reports an outcome that is not an input error: the message has
// already been printed.
var errFailed = &exitError{Code: exitFailed, Err: errors.New("failed")}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		// The daemon binary of the same build, when installed beside
		// this one, runs the agent with a fraction of the resident
		// memory (agentcmd's doc); otherwise it runs here.
		agentcmd.Exec(os.Args[2:])
	}
	os.Exit(execute(os.Args[1:]))
}

func execute(args []string) int {
	root := newRoot()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee != errFailed {
			fmt.Fprintln(os.Stderr, errorLine(ee.Err))
		}
		return ee.Code
	}
	// cobra's own errors: unknown command, bad arguments.
	fmt.Fprintln(os.Stderr, errorLine(err))
	return exitBadInput
}

// errorLine is how every error is printed (agentcmd.ErrorLine, shared
// with the daemon binary).
func errorLine(err error) string { return agentcmd.ErrorLine(err) }

// groupsPrintHelp makes every command that only groups subcommands print
// its help and exit 0 when run bare, and reject an unknown subcommand as
// bad input, the same for all of them.
func groupsPrintHelp(c *cobra.Command) {
	for _, sub := range c.Commands() {
		groupsPrintHelp(sub)
	}
	if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return // a command that runs on its own
	}
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return badInput(fmt.Errorf("%s: unknown command %q (see %s --help)", cmd.CommandPath(), args[0], cmd.CommandPath()))
		}
		return nil
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[groupAnnotation] = "true"
}

// groupAnnotation marks the commands groupsPrintHelp made print their help.
const groupAnnotation = "quorate/group"

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "quorate",
		Short:         "Quorate: a Corosync-style cluster engine and the simulator that proves it",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(),
	}
	root.SetVersionTemplate("quorate {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return badInput(fmt.Errorf("%s: %w (see %s --help)", c.CommandPath(), err, c.CommandPath()))
	})
	// One command per line: the simulator's, then the agent and its
	// pvecm-style management commands.
	simCmds := []*cobra.Command{
		newRunCmd(),
		newLabCmd(),
		newReplayCmd(),
		newSweepCmd(),
		newMergeCmd(),
		newSwarmCmd(),
		newRegressCmd(),
		newShrinkCmd(),
	}
	for _, c := range simCmds {
		// Simulations allocate fast and keep little: sim.CollectorPercent
		// says why the collector's target is raised for them.
		c.PreRun = func(*cobra.Command, []string) { sim.TuneCollector() }
	}
	root.AddCommand(simCmds...)
	root.AddCommand(
		newReportCmd(),
		newTraceCmd(),
		agentcmd.New(),
		newKeygenCmd(),
		newStatusCmd(),
		newNodesCmd(),
		newExpectedCmd(),
		newDelnodeCmd(),
		newLinksCmd(),
		newMembersCmd(),
		newCfsCmd(),
		newMountCmd(),
		newLoadCmd(),
		newQnetdCmd(),
		newQdeviceCmd(),
		newCreateCmd(),
		newAddCmd(),
		newJoinTokenCmd(),
		newConfCmd(),
		newLogCmd(),
		newWatchCmd(),
	)
	groupsPrintHelp(root)
	return root
}
