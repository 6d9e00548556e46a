package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/internal/fsx"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// Every agent keeps the corosync.conf versions it replaced in
// DATA-DIR/conf-history, one file per config_version, as an operator keeps
// corosync.conf.bak before an edit: `quorate conf history` lists them and
// `quorate conf rollback VERSION` installs one again as a new version (its
// text with config_version raised above the cluster's), through the same
// checks as every other change.

// historyDirName is the history's directory inside the data directory.
const historyDirName = "conf-history"

// historyKeep is how many previous versions an agent keeps.
const historyKeep = 50

// ConfVersion is one kept corosync.conf.
type ConfVersion struct {
	ConfigVersion uint64    `json:"config_version"`
	Size          int       `json:"size"`
	Replaced      time.Time `json:"replaced"` // when a newer version replaced it here
	Current       bool      `json:"current,omitempty"`
}

var historyName = regexp.MustCompile(`^corosync\.conf\.(\d+)$`)

// saveHistory keeps raw, the configuration at version, before a newer one
// replaces it, and prunes the oldest beyond historyKeep.
func saveHistory(dataDir string, version uint64, raw []byte) error {
	if dataDir == "" || len(raw) == 0 {
		return nil
	}
	dir := filepath.Join(dataDir, historyDirName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := fsx.WriteFileAtomic(filepath.Join(dir, "corosync.conf."+strconv.FormatUint(version, 10)), raw, 0o644); err != nil {
		return err
	}
	kept, err := listHistory(dataDir)
	if err != nil {
		return err
	}
	for len(kept) > historyKeep {
		_ = os.Remove(filepath.Join(dir, "corosync.conf."+strconv.FormatUint(kept[0].ConfigVersion, 10)))
		kept = kept[1:]
	}
	return nil
}

// listHistory returns the kept versions, oldest first.
func listHistory(dataDir string) ([]ConfVersion, error) {
	ents, err := os.ReadDir(filepath.Join(dataDir, historyDirName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []ConfVersion
	for _, e := range ents {
		m := historyName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		out = append(out, ConfVersion{ConfigVersion: v, Size: int(info.Size()), Replaced: info.ModTime().UTC()})
	}
	slices.SortFunc(out, func(a, b ConfVersion) int { return compareU64(a.ConfigVersion, b.ConfigVersion) })
	return out, nil
}

func compareU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// withConfigVersion returns raw with totem.config_version set to v, the
// rest of the text unchanged (a line is added to the totem section when
// the file has none).
func withConfigVersion(raw []byte, v uint64) ([]byte, error) {
	c, err := corosyncconf.Parse(ConfigKey, raw)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(string(raw), "\n")
	set := "config_version: " + strconv.FormatUint(v, 10)
	if n := c.Line("totem.config_version"); n > 0 && n <= len(lines) {
		re := regexp.MustCompile(`config_version\s*:\s*\S+`)
		lines[n-1] = re.ReplaceAllString(lines[n-1], set)
	} else if n := c.Line("totem"); n > 0 && n <= len(lines) {
		lines[n-1] += "  " + set + "\n"
	} else {
		return nil, fmt.Errorf("%s: no totem section", ConfigKey)
	}
	return []byte(strings.Join(lines, "")), nil
}

// confHistory answers CmdConfHistory: the kept versions and the current one.
func (l *loop) confHistory() Response {
	if l.cc == nil {
		return Response{Error: "the agent does not distribute its configuration"}
	}
	kept, err := listHistory(l.cc.dataDir)
	if err != nil {
		return Response{Error: err.Error()}
	}
	kept = append(kept, ConfVersion{ConfigVersion: l.cl.conf.ConfigVersion, Size: len(l.cl.raw), Current: true})
	return Response{OK: true, History: kept}
}

// confRollback answers CmdConfRollback: the kept text of version installed
// as config_version = the cluster's + 1.
func (l *loop) confRollback(version uint64, reply func(Response)) (Response, bool) {
	if l.cc == nil {
		return Response{Error: "the agent does not distribute its configuration"}, false
	}
	path := filepath.Join(l.cc.dataDir, historyDirName, "corosync.conf."+strconv.FormatUint(version, 10))
	old, err := os.ReadFile(path)
	if err != nil {
		return Response{Error: fmt.Sprintf("config_version %d is not kept on this node (see `quorate conf history`)", version), BadRequest: true}, false
	}
	l.editConfig(func(cur []byte) ([]byte, error) {
		c, err := corosyncconf.Parse(ConfigKey, cur)
		if err != nil {
			return nil, err
		}
		return withConfigVersion(old, c.ConfigVersion+1)
	}, func(out []byte, err error) {
		if err != nil {
			reply(Response{Error: "rollback: " + err.Error(), BadRequest: errors.Is(err, ErrBadConf)})
			return
		}
		l.log.Info("cluster configuration rolled back", "node", l.cl.name, "to_text_of", version, "config_version", configVersionOf(out))
		reply(Response{OK: true, ConfigVersion: configVersionOf(out)})
	})
	return Response{}, true
}
