package journal

import "time"

// Options changes what Import writes, for importers of other logs
// (package scenarios/corolog) that turn them into journal records.
type Options struct {
	// Source replaces "the agents' journals" in the scenario's header and
	// description, e.g. "the corosync logs".
	Source string
	// Extra are faults the records cannot express (loss, expected votes),
	// each at a wall-clock instant on the records' clock.
	Extra []ExtraFault
	// Notes are comment lines written at the head of the scenario (clock
	// alignment, what was recognised).
	Notes []string
	// Cluster, when set, is the configuration the scenario runs instead of
	// the recorded one: the same faults at the same times, estimated with
	// the recorded configuration's timers, on a changed cluster ("what
	// if"). Its nodes keep the names of the records.
	Cluster *Config
	// Hints are instants at which the logs show that a failure began,
	// more precisely than knet's detection rules can place it (corosync's
	// "Token has not been received in N ms" less N). A cut or crash whose
	// estimate lies within a few ping timeouts of a hint is moved to it.
	Hints []time.Time
	// NoExpect leaves the expectations out: a changed cluster need not end
	// as the recorded one did.
	NoExpect bool
}

// ExtraFault is one line of the faults section.
type ExtraFault struct {
	At time.Time
	// Fields are the fault's fields after "at", e.g. "action: set_loss,
	// link: 0, loss: 0.2".
	Fields string
	Note   string
}

// hint returns the hint in [lo, hi] nearest to t.
func (im *importer) hint(t, lo, hi time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	for _, h := range im.opts.Hints {
		if h.Before(lo) || h.After(hi) {
			continue
		}
		if !found || h.Sub(t).Abs() < best.Sub(t).Abs() {
			best, found = h, true
		}
	}
	return best, found
}
