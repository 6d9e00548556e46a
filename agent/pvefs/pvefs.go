// Package pvefs mounts the replicated configuration store as a FUSE file
// system with the semantics pmxcfs gives /etc/pve (see pmxcfs.md §8): the
// ordinary tools of a node read and write the store with file operations.
//
// It is a client of the agent's admin socket, like `quorate cfs`: every
// operation is one admin request, so the engine stays the only place that
// decides, and a write through the mount takes exactly the path of
// `quorate cfs put` (the engine refuses it without quorum; corosync.conf
// written here is applied by the agents as one written with cfs put).
//
// Reads are local, as pmxcfs reads are: a read returns this node's replica
// at once, without a round through the total order. A file written through
// another node's mount may not be visible here yet (stale by up to one
// delivery latency, or a whole resynchronisation while this node catches
// up), and a node without quorum serves its possibly stale copy. A write
// returns only once it is applied here in total-order position, so a
// process sees its own writes.
//
// The store is a map from paths to values; directories are what paths
// imply. An empty directory (mkdir) is kept as a hidden marker entry
// (DirMarker) so that it is replicated like everything else. A lock of the
// store (pmxcfs's priv/lock/<name> directory) shows as an empty directory.
package pvefs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/user"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/engine/store"
)

// DirMarker is the name of the hidden entry that keeps an empty directory
// in the store. It is never listed and cannot be created through the mount.
const DirMarker = ".quorate-dir"

// MaxFileSize is the largest file the mount takes: the store's value limit
// (pmxcfs: 1 MiB, MEMDB_MAX_FILE_SIZE); a larger write fails with EFBIG.
const MaxFileSize = store.MaxValueSize

// statusTTL bounds how long a status answer is reused for file modes
// (read-only while inquorate) and the virtual files. Write permission is
// always checked with a fresh answer.
const statusTTL = 500 * time.Millisecond

// FS is one mount of the store served through an agent's admin socket.
type FS struct {
	socket string
	gid    uint32
	start  time.Time
	log    *slog.Logger

	mu       sync.Mutex
	status   *agent.StatusInfo
	statusAt time.Time
}

// New returns the file system of the agent listening at socket. Files
// belong to root and the group www-data (gid 33 where the group is
// unknown), as pmxcfs presents them.
func New(socket string, log *slog.Logger) *FS {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	gid := uint32(33)
	if g, err := user.LookupGroup("www-data"); err == nil {
		if n, err := strconv.ParseUint(g.Gid, 10, 32); err == nil {
			gid = uint32(n)
		}
	}
	return &FS{socket: socket, gid: gid, start: time.Now(), log: log}
}

// call sends one admin request.
func (f *FS) call(ctx context.Context, req agent.Request) (*agent.Response, syscall.Errno) {
	resp, err := agent.Call(ctx, f.socket, req)
	if err != nil && ctx.Err() != nil {
		// The kernel interrupted the request: its caller took a signal (a
		// Go program does for preemption). EINTR lets the call be
		// restarted; ENOTCONN would say the agent is gone.
		return nil, syscall.EINTR
	}
	if err != nil {
		f.log.Warn("mount: the agent did not answer", "cmd", req.Cmd, "path", req.Path, "err", err)
		if errors.Is(err, agent.ErrUnreachable) {
			return nil, syscall.ENOTCONN
		}
		return nil, syscall.EIO
	}
	if !resp.OK {
		if resp.BadRequest {
			// An errno cannot say why: the log does.
			f.log.Warn("mount: the agent refused the request", "cmd", req.Cmd, "path", req.Path, "to", req.To, "err", resp.Error)
		}
		return resp, errnoOf(resp)
	}
	return resp, 0
}

// errnoOf maps a refusal to the errno pmxcfs returns for it.
func errnoOf(r *agent.Response) syscall.Errno {
	switch r.Code {
	case agent.CodeReadOnly:
		return syscall.EACCES
	case agent.CodeNotFound:
		return syscall.ENOENT
	case agent.CodeTooLarge:
		return syscall.EFBIG
	case agent.CodeLocked, agent.CodeConflict, agent.CodeAborted:
		return syscall.EBUSY
	case agent.CodeExists:
		return syscall.EEXIST
	case agent.CodeBadKey:
		return syscall.EINVAL
	}
	if r.BadRequest {
		// e.g. a corosync.conf that does not parse or does not raise
		// config_version: the agent's log and `quorate cfs put` say why.
		return syscall.EINVAL
	}
	return syscall.EIO
}

// getStatus returns the agent's status, reused for statusTTL unless fresh.
func (f *FS) getStatus(ctx context.Context, fresh bool) (*agent.StatusInfo, syscall.Errno) {
	f.mu.Lock()
	if !fresh && f.status != nil && time.Since(f.statusAt) < statusTTL {
		s := f.status
		f.mu.Unlock()
		return s, 0
	}
	f.mu.Unlock()
	resp, errno := f.call(ctx, agent.Request{Cmd: agent.CmdStatus})
	if errno != 0 {
		return nil, errno
	}
	if resp.Status == nil {
		return nil, syscall.EIO
	}
	f.mu.Lock()
	f.status, f.statusAt = resp.Status, time.Now()
	f.mu.Unlock()
	return resp.Status, 0
}

// writable is 0 when the node is quorate and EACCES otherwise (pmxcfs.md
// §2 step 2: the FUSE layer refuses at once).
func (f *FS) writable(ctx context.Context) syscall.Errno {
	s, errno := f.getStatus(ctx, true)
	if errno != 0 {
		return errno
	}
	if !s.Quorum.Quorate {
		return syscall.EACCES
	}
	return 0
}

// quorate reports the (possibly cached) quorum flag for file modes.
func (f *FS) quorate(ctx context.Context) bool {
	s, errno := f.getStatus(ctx, false)
	return errno == 0 && s.Quorum.Quorate
}

// list returns the store's entries at or under dir ("" for all).
func (f *FS) list(ctx context.Context, dir string) ([]agent.StoreEntry, syscall.Errno) {
	resp, errno := f.call(ctx, agent.Request{Cmd: agent.CmdCfsLs, Path: dir})
	if errno != 0 {
		return nil, errno
	}
	return resp.Entries, 0
}

// kind is what a path is in the store.
type kind int

const (
	absent kind = iota
	file
	dir
)

// stat says what p is, with the file's entry.
func (f *FS) stat(ctx context.Context, p string) (kind, agent.StoreEntry, syscall.Errno) {
	es, errno := f.list(ctx, p)
	if errno != 0 {
		return absent, agent.StoreEntry{}, errno
	}
	for _, e := range es {
		if e.Path == p {
			if e.Lock != "" {
				return dir, e, 0
			}
			return file, e, 0
		}
	}
	for _, e := range es {
		if strings.HasPrefix(e.Path, p+"/") {
			return dir, agent.StoreEntry{}, 0
		}
	}
	return absent, agent.StoreEntry{}, 0
}

// children lists the names directly in directory p with whether each is a
// directory, leaving out the markers.
func (f *FS) children(ctx context.Context, p string) (map[string]bool, syscall.Errno) {
	es, errno := f.list(ctx, p)
	if errno != 0 {
		return nil, errno
	}
	prefix := ""
	if p != "" {
		prefix = p + "/"
	}
	out := map[string]bool{}
	for _, e := range es {
		rest, ok := strings.CutPrefix(e.Path, prefix)
		if !ok || rest == "" {
			continue
		}
		name, sub, nested := strings.Cut(rest, "/")
		if name == DirMarker {
			continue
		}
		if !nested && sub == "" {
			out[name] = out[name] || e.Lock != ""
		} else {
			out[name] = true
		}
	}
	return out, 0
}

// private reports whether p is under a root-only directory (pmxcfs:
// priv/ and nodes/*/priv/).
func private(p string) bool {
	parts := strings.Split(p, "/")
	return parts[0] == "priv" || (len(parts) >= 3 && parts[0] == "nodes" && parts[2] == "priv")
}

// fill sets the attributes pmxcfs presents: root:www-data, 0640 files and
// 0755 directories (0600/0700 under priv/), read-only while inquorate.
func (f *FS) fill(ctx context.Context, a *fuse.Attr, k kind, p string, size int) {
	a.Uid, a.Gid = 0, f.gid
	q := f.quorate(ctx)
	switch k {
	case dir:
		a.Mode = syscall.S_IFDIR | 0o755
		if private(p) {
			a.Mode = syscall.S_IFDIR | 0o700
		}
		if !q {
			a.Mode &^= 0o222
		}
		a.Nlink = 2
	default:
		a.Mode = syscall.S_IFREG | 0o640
		if private(p) {
			a.Mode = syscall.S_IFREG | 0o600
		}
		if !q {
			a.Mode &^= 0o222
		}
		a.Nlink = 1
		a.Size = uint64(size)
		a.Blocks = (a.Size + 511) / 512
	}
	a.Blksize = 4096
	a.SetTimes(nil, &f.start, &f.start)
}

// Mount mounts the store at dir and returns the server; Unmount it (or
// call Serve) to stop. A stale mount left at dir by a killed agent is
// detached first.
func (f *FS) Mount(dir string) (*fuse.Server, error) {
	if err := RecoverStale(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("mount: %w", err)
	}
	zero := time.Duration(0)
	root := &dirNode{f: f}
	srv, err := fs.Mount(dir, root, &fs.Options{
		EntryTimeout:    &zero,
		AttrTimeout:     &zero,
		NegativeTimeout: &zero,
		MountOptions: fuse.MountOptions{
			FsName:        "quorate",
			Name:          "quorate",
			AllowOther:    os.Geteuid() == 0,
			DirectMount:   os.Geteuid() == 0,
			DisableXAttrs: true,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", dir, err)
	}
	return srv, nil
}

// Serve mounts the store at dir until ctx is done, then unmounts it.
func (f *FS) Serve(ctx context.Context, dir string) error {
	srv, err := f.Mount(dir)
	if err != nil {
		return err
	}
	f.log.Info("store mounted", "dir", dir, "admin", f.socket)
	done := make(chan struct{})
	go func() {
		srv.Wait()
		close(done)
	}()
	select {
	case <-ctx.Done():
	case <-done:
		return fmt.Errorf("mount %s: unmounted from outside", dir)
	}
	err = srv.Unmount()
	if err != nil {
		// A process holding a file open keeps the mount busy: detach it,
		// as umount -l does, so the directory is not left hanging.
		err = syscall.Unmount(dir, syscall.MNT_DETACH)
	}
	<-done
	if err != nil {
		return fmt.Errorf("unmount %s: %w", dir, err)
	}
	f.log.Info("store unmounted", "dir", dir)
	return nil
}

// RecoverStale detaches a dead FUSE mount at dir (the server process was
// killed: every access fails with ENOTCONN) so that it can be mounted
// again. A live mount or a plain directory is left alone.
func RecoverStale(dir string) error {
	_, err := os.Stat(dir)
	if err == nil || !errors.Is(err, syscall.ENOTCONN) {
		return nil
	}
	if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("mount: %s is a stale mount and cannot be detached: %w", dir, err)
	}
	return nil
}

// pathOf is n's path in the store ("" for the root).
func pathOf(n *fs.Inode) string { return n.Path(nil) }

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// dirNode is a directory of the store.
type dirNode struct {
	fs.Inode
	f *FS
}

var (
	_ fs.NodeLookuper  = (*dirNode)(nil)
	_ fs.NodeReaddirer = (*dirNode)(nil)
	_ fs.NodeGetattrer = (*dirNode)(nil)
	_ fs.NodeCreater   = (*dirNode)(nil)
	_ fs.NodeMkdirer   = (*dirNode)(nil)
	_ fs.NodeUnlinker  = (*dirNode)(nil)
	_ fs.NodeRmdirer   = (*dirNode)(nil)
	_ fs.NodeRenamer   = (*dirNode)(nil)
	_ fs.NodeStatfser  = (*dirNode)(nil)
	_ fs.NodeSetattrer = (*dirNode)(nil)
)

func (d *dirNode) isRoot() bool { return d.IsRoot() }

// Getattr reports the directory's attributes.
func (d *dirNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	d.f.fill(ctx, &out.Attr, dir, pathOf(&d.Inode), 0)
	return 0
}

// Setattr refuses chmod and chown (pmxcfs: EPERM) and accepts times.
func (d *dirNode) Setattr(ctx context.Context, _ fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if in.Valid&(fuse.FATTR_MODE|fuse.FATTR_UID|fuse.FATTR_GID) != 0 {
		return syscall.EPERM
	}
	d.f.fill(ctx, &out.Attr, dir, pathOf(&d.Inode), 0)
	return 0
}

// Statfs reports pmxcfs's fixed figures: 128 MiB in 4 KiB blocks, 256 Ki
// inodes, with what the store uses.
func (d *dirNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	es, errno := d.f.list(ctx, "")
	if errno != 0 {
		return errno
	}
	var used uint64
	for _, e := range es {
		used += uint64(e.Size)
	}
	const bsize = 4096
	out.Bsize, out.Frsize = bsize, bsize
	out.Blocks = 128 << 20 / bsize
	out.Bfree = out.Blocks - min(out.Blocks, (used+bsize-1)/bsize)
	out.Bavail = out.Bfree
	out.Files = 256 << 10
	out.Ffree = out.Files - min(out.Files, uint64(len(es)))
	out.NameLen = 255
	return 0
}

// Lookup finds a child: a virtual file or the symlink local at the root,
// else a file or directory of the store.
func (d *dirNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if d.isRoot() {
		if gen, ok := virtualFiles[name]; ok {
			v := &virtNode{f: d.f, gen: gen}
			b, errno := gen(ctx, d.f)
			if errno != 0 {
				return nil, errno
			}
			v.fillAttr(&out.Attr, len(b))
			return d.NewInode(ctx, v, fs.StableAttr{Mode: syscall.S_IFREG}), 0
		}
		if name == "local" {
			s, errno := d.f.getStatus(ctx, false)
			if errno != 0 {
				return nil, errno
			}
			l := &linkNode{f: d.f}
			l.fillAttr(&out.Attr, s.NodeName)
			return d.NewInode(ctx, l, fs.StableAttr{Mode: syscall.S_IFLNK}), 0
		}
	}
	if name == DirMarker {
		return nil, syscall.ENOENT
	}
	p := join(pathOf(&d.Inode), name)
	k, e, errno := d.f.stat(ctx, p)
	switch {
	case errno != 0:
		return nil, errno
	case k == absent:
		return nil, syscall.ENOENT
	case k == dir:
		d.f.fill(ctx, &out.Attr, dir, p, 0)
		return d.NewInode(ctx, &dirNode{f: d.f}, fs.StableAttr{Mode: syscall.S_IFDIR}), 0
	}
	d.f.fill(ctx, &out.Attr, file, p, e.Size)
	return d.NewInode(ctx, &fileNode{f: d.f}, fs.StableAttr{Mode: syscall.S_IFREG}), 0
}

// Readdir lists the directory.
func (d *dirNode) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	kids, errno := d.f.children(ctx, pathOf(&d.Inode))
	if errno != 0 {
		return nil, errno
	}
	var out []fuse.DirEntry
	if d.isRoot() {
		for _, name := range slices.Sorted(maps.Keys(virtualFiles)) {
			out = append(out, fuse.DirEntry{Name: name, Mode: syscall.S_IFREG})
		}
		out = append(out, fuse.DirEntry{Name: "local", Mode: syscall.S_IFLNK})
	}
	for _, name := range slices.Sorted(maps.Keys(kids)) {
		if d.isRoot() && (name == "local" || virtualFiles[name] != nil) {
			continue
		}
		mode := uint32(syscall.S_IFREG)
		if kids[name] {
			mode = syscall.S_IFDIR
		}
		out = append(out, fuse.DirEntry{Name: name, Mode: mode})
	}
	return fs.NewListDirStream(out), 0
}

// reserved refuses names the mount keeps for itself.
func (d *dirNode) reserved(name string) bool {
	return name == DirMarker || (d.isRoot() && (name == "local" || virtualFiles[name] != nil))
}

// Create makes an empty file through the total order and opens it.
func (d *dirNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if d.reserved(name) {
		return nil, nil, 0, syscall.EPERM
	}
	if errno := d.f.writable(ctx); errno != 0 {
		return nil, nil, 0, errno
	}
	p := join(pathOf(&d.Inode), name)
	k, _, errno := d.f.stat(ctx, p)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	var data []byte
	switch {
	case k == dir:
		return nil, nil, 0, syscall.EISDIR
	case k == file && flags&syscall.O_EXCL != 0:
		return nil, nil, 0, syscall.EEXIST
	case k == file && flags&syscall.O_TRUNC == 0:
		resp, errno := d.f.call(ctx, agent.Request{Cmd: agent.CmdCfsGet, Path: p})
		if errno != 0 {
			return nil, nil, 0, errno
		}
		data = resp.Entry.Value
	default:
		if _, errno := d.f.call(ctx, agent.Request{Cmd: agent.CmdCfsPut, Path: p, Value: []byte{}}); errno != 0 {
			return nil, nil, 0, errno
		}
	}
	d.f.fill(ctx, &out.Attr, file, p, len(data))
	n := d.NewInode(ctx, &fileNode{f: d.f}, fs.StableAttr{Mode: syscall.S_IFREG})
	return n, &handle{f: d.f, node: n, data: data}, fuse.FOPEN_DIRECT_IO, 0
}

// Mkdir keeps the new directory as a marker entry.
func (d *dirNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if d.reserved(name) {
		return nil, syscall.EPERM
	}
	if errno := d.f.writable(ctx); errno != 0 {
		return nil, errno
	}
	p := join(pathOf(&d.Inode), name)
	k, _, errno := d.f.stat(ctx, p)
	if errno != 0 {
		return nil, errno
	}
	if k != absent {
		return nil, syscall.EEXIST
	}
	if _, errno := d.f.call(ctx, agent.Request{Cmd: agent.CmdCfsPut, Path: join(p, DirMarker), Value: []byte{}}); errno != 0 {
		return nil, errno
	}
	d.f.fill(ctx, &out.Attr, dir, p, 0)
	return d.NewInode(ctx, &dirNode{f: d.f}, fs.StableAttr{Mode: syscall.S_IFDIR}), 0
}

// Unlink removes a file through the total order.
func (d *dirNode) Unlink(ctx context.Context, name string) syscall.Errno {
	if d.reserved(name) {
		return syscall.EPERM
	}
	if errno := d.f.writable(ctx); errno != 0 {
		return errno
	}
	p := join(pathOf(&d.Inode), name)
	k, _, errno := d.f.stat(ctx, p)
	switch {
	case errno != 0:
		return errno
	case k == absent:
		return syscall.ENOENT
	case k == dir:
		return syscall.EISDIR
	}
	_, errno = d.f.call(ctx, agent.Request{Cmd: agent.CmdCfsRm, Path: p})
	return errno
}

// Rmdir removes an empty directory: its marker, or the lock it shows.
func (d *dirNode) Rmdir(ctx context.Context, name string) syscall.Errno {
	if d.reserved(name) {
		return syscall.EPERM
	}
	if errno := d.f.writable(ctx); errno != 0 {
		return errno
	}
	p := join(pathOf(&d.Inode), name)
	k, e, errno := d.f.stat(ctx, p)
	switch {
	case errno != 0:
		return errno
	case k == absent:
		return syscall.ENOENT
	case k == file:
		return syscall.ENOTDIR
	case e.Lock != "":
		_, errno = d.f.call(ctx, agent.Request{Cmd: agent.CmdCfsRm, Path: p})
		return errno
	}
	kids, errno := d.f.children(ctx, p)
	if errno != 0 {
		return errno
	}
	if len(kids) > 0 {
		return syscall.ENOTEMPTY
	}
	_, errno = d.f.call(ctx, agent.Request{Cmd: agent.CmdCfsRm, Path: join(p, DirMarker)})
	return errno
}

// Rename moves a file or an empty directory in one operation of the total
// order (cfs-mv): every reader sees the old tree or the new one. A
// non-empty directory cannot be renamed (pmxcfs: ENOTEMPTY).
func (d *dirNode) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	const renameNoReplace, renameExchange = 1, 2
	np, ok := newParent.(*dirNode)
	if !ok || flags&renameExchange != 0 {
		return syscall.EINVAL
	}
	if d.reserved(name) || np.reserved(newName) {
		return syscall.EPERM
	}
	if errno := d.f.writable(ctx); errno != 0 {
		return errno
	}
	src, dst := join(pathOf(&d.Inode), name), join(pathOf(&np.Inode), newName)
	if src == dst {
		return 0
	}
	sk, se, errno := d.f.stat(ctx, src)
	if errno != 0 {
		return errno
	}
	dk, de, errno := d.f.stat(ctx, dst)
	if errno != 0 {
		return errno
	}
	switch {
	case sk == absent:
		return syscall.ENOENT
	case dk != absent && flags&renameNoReplace != 0:
		return syscall.EEXIST
	case sk == file && dk == dir:
		return syscall.EISDIR
	case sk == dir && dk == file:
		return syscall.ENOTDIR
	case sk == dir && (se.Lock != "" || de.Lock != ""):
		return syscall.EBUSY
	case sk == file:
		_, errno := d.f.call(ctx, agent.Request{Cmd: agent.CmdCfsMv, Path: src, To: dst})
		return errno
	}
	for _, p := range []string{src, dst} {
		kids, errno := d.f.children(ctx, p)
		if errno != 0 {
			return errno
		}
		if len(kids) > 0 {
			return syscall.ENOTEMPTY
		}
	}
	// An empty target directory's marker is replaced by the source's.
	_, errno = d.f.call(ctx, agent.Request{Cmd: agent.CmdCfsMv, Path: join(src, DirMarker), To: join(dst, DirMarker)})
	return errno
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// fileNode is a file of the store.
type fileNode struct {
	fs.Inode
	f *FS
}

var (
	_ fs.NodeOpener    = (*fileNode)(nil)
	_ fs.NodeGetattrer = (*fileNode)(nil)
	_ fs.NodeSetattrer = (*fileNode)(nil)
)

// Getattr reads the entry's size from the local replica.
func (n *fileNode) Getattr(ctx context.Context, fh fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	p := pathOf(&n.Inode)
	if h, ok := fh.(*handle); ok {
		h.mu.Lock()
		size := len(h.data)
		h.mu.Unlock()
		n.f.fill(ctx, &out.Attr, file, p, size)
		return 0
	}
	k, e, errno := n.f.stat(ctx, p)
	switch {
	case errno != 0:
		return errno
	case k != file:
		return syscall.ENOENT
	}
	n.f.fill(ctx, &out.Attr, file, p, e.Size)
	return 0
}

// Setattr truncates (through the total order unless a handle buffers the
// file), refuses chmod and chown (EPERM) and accepts times.
func (n *fileNode) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if in.Valid&(fuse.FATTR_MODE|fuse.FATTR_UID|fuse.FATTR_GID) != 0 {
		return syscall.EPERM
	}
	p := pathOf(&n.Inode)
	if size, ok := in.GetSize(); ok {
		if size > MaxFileSize {
			return syscall.EFBIG
		}
		if h, ok := fh.(*handle); ok {
			h.truncate(int(size))
		} else {
			if errno := n.f.writable(ctx); errno != 0 {
				return errno
			}
			resp, errno := n.f.call(ctx, agent.Request{Cmd: agent.CmdCfsGet, Path: p})
			if errno != 0 {
				return errno
			}
			v := resize(resp.Entry.Value, int(size))
			if _, errno := n.f.call(ctx, agent.Request{Cmd: agent.CmdCfsPut, Path: p, Value: v}); errno != 0 {
				return errno
			}
		}
	}
	return n.Getattr(ctx, fh, out)
}

func resize(b []byte, n int) []byte {
	if n <= len(b) {
		return slices.Clone(b[:n])
	}
	return append(slices.Clone(b), make([]byte, n-len(b))...)
}

// Open reads the file into a handle; opening for writing needs quorum.
func (n *fileNode) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	p := pathOf(&n.Inode)
	write := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	if write {
		if errno := n.f.writable(ctx); errno != 0 {
			return nil, 0, errno
		}
	}
	h := &handle{f: n.f, node: &n.Inode}
	if flags&syscall.O_TRUNC != 0 && write {
		h.data, h.dirty = []byte{}, true
	} else {
		resp, errno := n.f.call(ctx, agent.Request{Cmd: agent.CmdCfsGet, Path: p})
		if errno != 0 {
			return nil, 0, errno
		}
		h.data = resp.Entry.Value
	}
	return h, fuse.FOPEN_DIRECT_IO, 0
}

// handle buffers one open file; a changed buffer is written through the
// total order as one value on flush (close) and fsync, and the call
// returns once the write was applied here.
type handle struct {
	f    *FS
	node *fs.Inode

	mu    sync.Mutex
	data  []byte
	dirty bool
	err   syscall.Errno // a write that failed, reported by flush
}

var (
	_ fs.FileReader  = (*handle)(nil)
	_ fs.FileWriter  = (*handle)(nil)
	_ fs.FileFlusher = (*handle)(nil)
	_ fs.FileFsyncer = (*handle)(nil)
)

func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if off >= int64(len(h.data)) {
		return fuse.ReadResultData(nil), 0
	}
	end := min(int64(len(h.data)), off+int64(len(dest)))
	return fuse.ReadResultData(slices.Clone(h.data[off:end])), 0
}

func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	end := off + int64(len(data))
	if end > MaxFileSize {
		// The file as written cannot be stored: nothing of it is.
		h.err = syscall.EFBIG
		return 0, syscall.EFBIG
	}
	if end > int64(len(h.data)) {
		h.data = resize(h.data, int(end))
	}
	copy(h.data[off:], data)
	h.dirty = true
	return uint32(len(data)), 0
}

func (h *handle) truncate(n int) {
	h.mu.Lock()
	h.data, h.dirty = resize(h.data, n), true
	h.mu.Unlock()
}

// commit writes a changed buffer.
func (h *handle) commit(ctx context.Context) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != 0 {
		return h.err
	}
	if !h.dirty {
		return 0
	}
	p := pathOf(h.node)
	if _, parent := h.node.Parent(); p == "" || parent == nil {
		return syscall.ENOENT // unlinked while open
	}
	if _, errno := h.f.call(ctx, agent.Request{Cmd: agent.CmdCfsPut, Path: p, Value: nonNil(h.data)}); errno != 0 {
		return errno
	}
	h.dirty = false
	return 0
}

func (h *handle) Flush(ctx context.Context) syscall.Errno { return h.commit(ctx) }

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno { return h.commit(ctx) }

// linkNode is the symlink local → nodes/<this node>.
type linkNode struct {
	fs.Inode
	f *FS
}

var _ fs.NodeReadlinker = (*linkNode)(nil)
var _ fs.NodeGetattrer = (*linkNode)(nil)

func (l *linkNode) fillAttr(a *fuse.Attr, node string) {
	a.Mode = syscall.S_IFLNK | 0o755
	a.Uid, a.Gid = 0, l.f.gid
	a.Nlink = 1
	a.Size = uint64(len("nodes/" + node))
	a.SetTimes(nil, &l.f.start, &l.f.start)
}

func (l *linkNode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	s, errno := l.f.getStatus(ctx, false)
	if errno != 0 {
		return nil, errno
	}
	return []byte(path.Join("nodes", s.NodeName)), 0
}

func (l *linkNode) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	s, errno := l.f.getStatus(ctx, false)
	if errno != 0 {
		return errno
	}
	l.fillAttr(&out.Attr, s.NodeName)
	return 0
}
