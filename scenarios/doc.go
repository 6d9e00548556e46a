// Package scenarios loads and validates scenario files, the YAML that drives
// the simulator (`quorate run FILE.yaml`). The format is a public contract,
// described in docs/reference/scenario-format.md; this package turns a file into
// a *Scenario with every default filled in, or into an ErrorList that names
// the file, line, column and field of each problem.
//
// # Pipeline
//
// Parse works in four steps:
//
//  1. YAML. gopkg.in/yaml.v3 decodes the bytes into a yaml.Node tree, which
//     keeps the line and column of every key and value. Syntax errors stop
//     here, reported at the line yaml names (yaml gives no column for them).
//     A file holds exactly one document.
//
//  2. Shape. A walker compares the tree with a schema (schema.go): the keys
//     each map allows, and whether each value is a single value, a list or a
//     map. Some maps choose their keys from their own content: a fault's
//     keys depend on its action, a distribution's on its dist, an
//     expectation's on its form (at/by/during, check or metric). Unknown
//     keys, keys given twice, and values of the wrong shape are reported
//     at their position. Aliases and merge keys (<<) are followed, with a
//     budget so that an alias bomb cannot make a small file huge. While it
//     walks, the walker records the position of every path it sees, using
//     the path syntax mapstructure uses in its errors: "faults[2].at",
//     "cluster.nodes[0].name". That index also tells later steps whether a
//     key was given at all, which is how defaults are applied.
//
//  3. Decode. viper is the configuration layer: viper.New, SetConfigType
//     ("yaml"), ReadConfig, then Unmarshal into raw structs tagged with the
//     file's key names, with WeaklyTypedInput off, ErrorUnused on and the
//     loader's own decode hook (values.go). The hook reads Go durations
//     ("250us", "1.5ms", "3s", "2m"), sizes ("512B", "64KiB", "1MiB" or a
//     number of bytes) and rates ("200/s" or a number), and refuses what
//     mapstructure would otherwise accept quietly: a bare number where a
//     duration belongs (`token: 3000` is 3000ns to mapstructure; the error
//     says to write 3000ms), a fraction for an integer, an integer that
//     overflows, 1/0 for a boolean. Each mapstructure error names a field
//     path, which the index maps back to a line and column. Viper lower-cases
//     keys; that is harmless because step 2 has already checked the keys,
//     case-sensitively.
//
//  4. Build and validate (build.go, sections.go, faults.go). The raw values
//     become a Scenario: defaults from the spec for every key the file leaves
//     out, then every rule of the format — ranges (link numbers 0..7, node ids
//     1..65535, probabilities in [0, 1]), corosync's own limits (token, join,
//     merge and consensus at least 30ms, consensus not below join,
//     window_size not below max_messages), required fields per fault action,
//     exactly one form per expectation, and references: every node, link,
//     switch and guest a fault, expectation or workload names must exist.
//     Faults are then sorted by time, stably.
//
// Errors from steps 2 to 4 are collected rather than returned at the first
// (up to 20, sorted by position). An error found early marks its field (cut
// back to its list entry, such as faults[2]), and later steps stay quiet
// about marked fields, so one mistake is not reported again through its
// consequences.
//
// # Why unknown keys are errors
//
// A scenario is usually a failure test: "after this partition, hp1 must lose
// quorum". If a misspelled key were ignored, `nodd: hp1` in a crash fault or
// `duraton: 60s` would quietly turn the test into one that checks nothing,
// or that checks something else, and it would pass. So every key must be one
// the format defines for that place; the error suggests the nearest known
// key. The format may grow new keys, but an old file never silently means
// something different.
//
// # Errors
//
// Problems with the input are *Error values (file:line:col: field: message)
// collected in an ErrorList; a file that cannot be read gives the
// *fs.PathError from os.ReadFile. IsInputError recognises all of these, so
// the command line can exit with status 2 for bad input and keep status 1 for
// failed expectations:
//
//	s, err := scenarios.Load(path)
//	if err != nil {
//		fmt.Fprintln(os.Stderr, err) // one "file:line:col: field: message" per line
//		if scenarios.IsInputError(err) {
//			os.Exit(2)
//		}
//		os.Exit(1)
//	}
//
// Parse keeps no state between calls (each call has its own viper instance),
// so scenarios may be loaded concurrently. A loaded Scenario remembers where
// the file gave each field (Scenario.PosOf), for reports that point back into
// the file and for a later stage, such as merging a corosync.conf, that must
// know which values the author set and which are defaults.
package scenarios
