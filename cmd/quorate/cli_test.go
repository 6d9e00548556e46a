package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestBareGroupsPrintHelp: every command that only groups subcommands
// prints its help and exits 0 when run bare (qdevice used to exit 2), and
// rejects an unknown subcommand with exit 2.
func TestBareGroupsPrintHelp(t *testing.T) {
	var groups []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Annotations[groupAnnotation] == "true" {
			groups = append(groups, c)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot())
	var names []string
	for _, g := range groups {
		names = append(names, g.CommandPath())
	}
	for _, want := range []string{"quorate", "quorate cfs", "quorate trace", "quorate qdevice"} {
		if !slices.Contains(names, want) {
			t.Fatalf("%s is not a group command that prints its help (groups: %v)", want, names)
		}
	}
	for _, g := range groups {
		path := strings.Fields(g.CommandPath())[1:]
		code, out, errOut := capture(t, path...)
		if code != 0 || !strings.Contains(out, "Available Commands") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want its help and 0", g.CommandPath(), code, out, errOut)
		}
		if g.HasParent() {
			code, _, errOut = capture(t, append(path, "no-such-command")...)
			if code != 2 || !strings.Contains(errOut, "unknown command") {
				t.Errorf("%s no-such-command: exit %d, %q", g.CommandPath(), code, errOut)
			}
		}
	}
}

// TestOneErrorPrefix: an error is printed with one prefix, "quorate" or the
// command's path; never "quorate: quorate run:" or a package's "sim:".
func TestOneErrorPrefix(t *testing.T) {
	for _, args := range [][]string{
		{"run"},
		{"run", "--no-such-flag", "x.yaml"},
		{"replay", "/nonexistent/trace.jsonl"},
		{"shrink", "../../scenarios/examples/steady-3.yaml", "--seed", "1"},
	} {
		code, _, errOut := capture(t, args...)
		line := strings.SplitN(errOut, "\n", 2)[0]
		if code == 0 || line == "" {
			t.Errorf("%v: exit %d, %q", args, code, errOut)
			continue
		}
		if !strings.HasPrefix(line, "quorate") || strings.Count(line, "quorate:")+strings.Count(line, "quorate "+args[0]+":") > 1 ||
			strings.Contains(line, "sim: ") || strings.Contains(line, "sweep: ") {
			t.Errorf("%v: %q has more than one prefix", args, line)
		}
	}
}

// TestFlagsOneMeaning: a flag name means one thing in every command: the
// same type, and for the names below the same kind of value. add's
// --token (a join token, where create's --token is the totem token) and
// --authkey (where --keyfile is the authkey file everywhere else) are
// deprecated names that still work.
func TestFlagsOneMeaning(t *testing.T) {
	type use struct{ cmd, typ, usage string }
	byName := map[string][]use{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Deprecated == "" {
				byName[f.Name] = append(byName[f.Name], use{c.CommandPath(), f.Value.Type(), f.Usage})
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot())
	for name, uses := range byName {
		for _, u := range uses[1:] {
			if u.typ != uses[0].typ {
				t.Errorf("--%s is a %s in %s but a %s in %s", name, uses[0].typ, uses[0].cmd, u.typ, u.cmd)
			}
		}
	}
	for name, word := range map[string]string{"keyfile": "authkey", "token": "totem token", "join-token": "join token"} {
		for _, u := range byName[name] {
			if !strings.Contains(u.usage, word) {
				t.Errorf("%s --%s: %q does not speak of the %s", u.cmd, name, u.usage, word)
			}
		}
	}
	if len(byName["authkey"]) != 0 {
		t.Errorf("--authkey is still a flag of its own: %v", byName["authkey"])
	}
}

// TestEveryCommandBadFlagExitsTwo: an unknown flag is bad input for every
// command that runs: exit 2, the command named on stderr, nothing on
// stdout and nothing done. For quorate status this is what keeps a typo
// apart from "not quorate" (3) and "agent not reachable" (1).
func TestEveryCommandBadFlagExitsTwo(t *testing.T) {
	var leaves []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Annotations[groupAnnotation] != "true" && c.Runnable() && !c.Hidden && c.Name() != "help" {
			leaves = append(leaves, c)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(newRoot())
	if len(leaves) < 30 {
		t.Fatalf("found only %d commands", len(leaves))
	}
	for _, c := range leaves {
		path := strings.Fields(c.CommandPath())[1:]
		code, out, errOut := capture(t, append(path, "--no-such-flag")...)
		if code != exitBadInput || out != "" || !strings.Contains(errOut, c.CommandPath()+": unknown flag: --no-such-flag") {
			t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want 2 and a usage error", c.CommandPath(), code, out, errOut)
		}
	}
}
