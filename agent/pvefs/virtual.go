package pvefs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/engine/clusterlog"
)

// virtualFiles are the read-only files at the root that pmxcfs generates
// on every read (pmxcfs.md §8), by name.
var virtualFiles = map[string]func(ctx context.Context, f *FS) ([]byte, syscall.Errno){
	".members": membersFile,
	".version": versionFile,
	".vmlist":  vmlistFile,
	// .clusterlog: the newest 50 entries of the cluster log, newest first.
	".clusterlog": clusterlogFile,
}

// clusterlogFile is .clusterlog in pmxcfs's layout (logger.c
// clog_dump_json), from the agent's cluster log.
func clusterlogFile(ctx context.Context, f *FS) ([]byte, syscall.Errno) {
	resp, errno := f.call(ctx, agent.Request{Cmd: agent.CmdClusterLog, Max: clusterlog.DumpEntries})
	if errno != 0 {
		return nil, errno
	}
	return clusterlog.JSON(resp.ClusterLog), 0
}

// clusterInfo is what the virtual files are made of: the status, the
// nodelist and the ring sequence, whose change is the status version.
type clusterInfo struct {
	status *agent.StatusInfo
	nodes  []agent.NodeInfo
}

func (f *FS) clusterInfo(ctx context.Context) (*clusterInfo, syscall.Errno) {
	resp, errno := f.call(ctx, agent.Request{Cmd: agent.CmdNodes})
	if errno != 0 {
		return nil, errno
	}
	if resp.Status == nil {
		return nil, syscall.EIO
	}
	return &clusterInfo{status: resp.Status, nodes: resp.Nodelist}, 0
}

// q quotes s as a JSON string.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// membersFile is .members in pmxcfs's layout (status.c): this node's
// name, the status version (here the ring sequence, which changes with
// every membership change), the cluster's name, config_version, node count
// and quorum, and per node its id, whether it is in the membership and its
// ring0 address.
func membersFile(ctx context.Context, f *FS) ([]byte, syscall.Errno) {
	ci, errno := f.clusterInfo(ctx)
	if errno != 0 {
		return nil, errno
	}
	s := ci.status
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\"nodename\": %s,\n\"version\": %d,\n", q(s.NodeName), s.Quorum.Ring.Seq)
	fmt.Fprintf(&b, "\"cluster\": { \"name\": %s, \"version\": %d, \"nodes\": %d, \"quorate\": %d },\n",
		q(s.ClusterName), s.ConfigVersion, len(ci.nodes), bit(s.Quorum.Quorate))
	b.WriteString("\"nodelist\": {\n")
	nodes := slices.Clone(ci.nodes)
	slices.SortFunc(nodes, func(a, b agent.NodeInfo) int { return int(a.ID) - int(b.ID) })
	for i, n := range nodes {
		ip := ""
		if len(n.Addrs) > 0 {
			ip = n.Addrs[0]
		}
		sep := ","
		if i == len(nodes)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "  %s: { \"id\": %d, \"online\": %d, \"ip\": %s}%s\n", q(n.Name), n.ID, bit(n.Member), q(ip), sep)
	}
	b.WriteString("  }\n}\n")
	return []byte(b.String()), 0
}

// guest is one VM or container config found in the store.
type guest struct {
	id      uint64
	node    string
	typ     string
	version uint64
}

// guests finds nodes/<node>/qemu-server/<vmid>.conf and
// nodes/<node>/lxc/<vmid>.conf, and the highest version among them.
func (f *FS) guests(ctx context.Context) ([]guest, uint64, syscall.Errno) {
	es, errno := f.list(ctx, "nodes")
	if errno != 0 {
		return nil, 0, errno
	}
	var out []guest
	var top uint64
	for _, e := range es {
		parts := strings.Split(e.Path, "/")
		if len(parts) != 4 || (parts[2] != "qemu-server" && parts[2] != "lxc") {
			continue
		}
		idText, ok := strings.CutSuffix(parts[3], ".conf")
		id, err := strconv.ParseUint(idText, 10, 32)
		if !ok || err != nil || id == 0 {
			continue
		}
		typ := "qemu"
		if parts[2] == "lxc" {
			typ = "lxc"
		}
		out = append(out, guest{id: id, node: parts[1], typ: typ, version: e.Version})
		top = max(top, e.Version)
	}
	slices.SortFunc(out, func(a, b guest) int { return int(a.id) - int(b.id) })
	return out, top, 0
}

// vmlistFile is .vmlist in pmxcfs's layout: the version of the list (the
// highest store version among the guest configs) and per guest id its
// node, type and config version.
func vmlistFile(ctx context.Context, f *FS) ([]byte, syscall.Errno) {
	gs, top, errno := f.guests(ctx)
	if errno != 0 {
		return nil, errno
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\"version\": %d,\n\"ids\": {\n", top)
	for i, g := range gs {
		sep := ","
		if i == len(gs)-1 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s: { \"node\": %s, \"type\": %q, \"version\": %d }%s\n", q(strconv.FormatUint(g.id, 10)), q(g.node), g.typ, g.version, sep)
	}
	b.WriteString("}\n\n}\n")
	return []byte(b.String()), 0
}

// versionFile is .version: the mount's start time and the versions of the
// cluster info (ring sequence) and of the VM list, so that readers can
// poll cheaply for change.
func versionFile(ctx context.Context, f *FS) ([]byte, syscall.Errno) {
	s, errno := f.getStatus(ctx, true)
	if errno != 0 {
		return nil, errno
	}
	_, top, errno := f.guests(ctx)
	if errno != 0 {
		return nil, errno
	}
	return fmt.Appendf(nil, "{\n\"starttime\": %d,\n\"clinfo\": %d,\n\"vmlist\": %d\n}\n", f.start.Unix(), s.Quorum.Ring.Seq, top), 0
}

// virtNode is one virtual file; its content is generated on open.
type virtNode struct {
	fs.Inode
	f   *FS
	gen func(ctx context.Context, f *FS) ([]byte, syscall.Errno)
}

var (
	_ fs.NodeOpener    = (*virtNode)(nil)
	_ fs.NodeGetattrer = (*virtNode)(nil)
)

func (v *virtNode) fillAttr(a *fuse.Attr, size int) {
	a.Mode = syscall.S_IFREG | 0o440
	a.Uid, a.Gid = 0, v.f.gid
	a.Nlink = 1
	a.Size = uint64(size)
	a.SetTimes(nil, &v.f.start, &v.f.start)
}

func (v *virtNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	b, errno := v.gen(ctx, v.f)
	if errno != 0 {
		return errno
	}
	v.fillAttr(&out.Attr, len(b))
	return 0
}

// Open generates the content; writing is refused.
func (v *virtNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
		return nil, 0, syscall.EACCES
	}
	b, errno := v.gen(ctx, v.f)
	if errno != 0 {
		return nil, 0, errno
	}
	return &handle{f: v.f, node: &v.Inode, data: b}, fuse.FOPEN_DIRECT_IO, 0
}
