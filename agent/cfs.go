package agent

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// The cfs commands read and write the replicated configuration store
// (pmxcfs's /etc/pve). A local get answers at once from this node's
// replica, as a pmxcfs read does: possibly stale, and available without
// quorum. put, rm and an ordered get go through the total order: the
// engine takes them at once (or refuses them, e.g. without quorum) and
// completes them in a later Ready's Results. The loop keeps each such call
// in pending, keyed by the engine's OpID, and answers it when its Result
// comes: after the Persist of that Ready was written, so an acknowledged
// write is on this node's disk (and, by the store's rule, applied by every
// member of the configuration) before the client hears of it.

// cfsSubmit hands a put, rm or ordered get to the engine. It answers at
// once (async false) when the request is bad or the engine refuses it, and
// otherwise keeps reply under the operation's OpID until its Result comes.
func (l *loop) cfsSubmit(req Request, reply func(Response)) (Response, bool) {
	path, err := cleanPath(req.Path, false)
	if err != nil {
		return Response{Error: err.Error(), BadRequest: true}, false
	}
	if req.Cmd == CmdCfsMv && (path == ConfigKey || req.To == ConfigKey || req.To == "/"+ConfigKey) {
		return l.moveConf(path, reply)
	}
	if path == ConfigKey && req.Cmd != CmdCfsGet {
		return l.installConf(req, reply)
	}
	now := l.now()
	var id store.OpID
	switch req.Cmd {
	case CmdCfsPut:
		if req.Value == nil {
			return Response{Error: "put " + path + ": missing value", BadRequest: true}, false
		}
		if len(req.Value) > store.MaxValueSize {
			return Response{Error: fmt.Sprintf("put %s: the value has %d bytes, more than the limit of %d", path, len(req.Value), store.MaxValueSize),
				BadRequest: true}, false
		}
		if req.IfVersion != nil {
			id, err = l.node.CompareAndSet(now, path, *req.IfVersion, req.Value)
		} else {
			id, err = l.node.Put(now, path, req.Value)
		}
	case CmdCfsRm:
		id, err = l.node.Delete(now, path)
	case CmdCfsLock:
		holder := req.Holder
		if holder == "" {
			holder = l.cl.name
		}
		if req.TTL <= 0 || len(holder) > store.MaxHolderSize {
			return Response{Error: fmt.Sprintf("lock %s: want a ttl of at least 1 s and a holder of at most %d bytes", path, store.MaxHolderSize), BadRequest: true}, false
		}
		id, err = l.node.Lock(now, path, holder, time.Duration(req.TTL)*time.Second)
	case CmdCfsMv:
		to, terr := cleanPath(req.To, false)
		if terr != nil {
			return Response{Error: terr.Error(), BadRequest: true}, false
		}
		if to == path {
			return Response{Error: "mv " + path + ": the source and the target are the same", BadRequest: true}, false
		}
		id, err = l.node.Rename(now, path, to)
	default:
		id, err = l.node.ReadOrdered(now, path)
	}
	if err != nil {
		msg, bad := storeWords(err, path)
		return Response{Error: msg, BadRequest: bad, Code: storeCode(err)}, false
	}
	size := len(req.Value)
	submitted := time.Now()
	l.pending[id] = func(r store.Result) {
		if m := l.metrics; m != nil {
			op, outcome := strings.TrimPrefix(req.Cmd, "cfs-"), "ok"
			if r.Err != nil {
				outcome = "error"
			}
			m.storeOp.WithLabelValues(op, outcome).Observe(time.Since(submitted).Seconds())
		}
		l.log.Debug("store operation completed", "node", l.cl.name, "op", uint64(r.Op), "kind", r.Kind.String(),
			"path", path, "ok", r.OK, "err", r.Err, "revision", r.Revision)
		reply(cfsResponse(req.Cmd, path, size, r))
	}
	l.log.Debug("store operation submitted", "node", l.cl.name, "cmd", req.Cmd, "path", path, "op", uint64(id))
	return Response{}, true
}

// moveConf is mv onto corosync.conf (pmxcfs's documented edit: cp to
// corosync.conf.new, edit, mv into place): the source's text is installed
// exactly as `cfs put corosync.conf` installs it, with the same checks,
// and once installed the source is removed. The configuration changes in
// one step; the source's removal is a second write (left behind if this
// node loses quorum or stops in between). corosync.conf itself cannot be
// moved away.
func (l *loop) moveConf(src string, reply func(Response)) (Response, bool) {
	if src == ConfigKey {
		return Response{Error: "mv " + ConfigKey + ": the cluster's configuration cannot be moved away", BadRequest: true}, false
	}
	e, ok := l.node.ReadLocal(src)
	if !ok {
		return Response{Error: src + ": no such entry", Code: CodeNotFound}, false
	}
	if e.IsLock() {
		return Response{Error: src + " is a lock", Code: CodeLocked}, false
	}
	return l.installConf(Request{Cmd: CmdCfsPut, Path: ConfigKey, Value: nonNilBytes(e.Value)}, func(installed Response) {
		if !installed.OK {
			installed.Error = strings.Replace(installed.Error, "put "+ConfigKey, "mv "+src+" "+ConfigKey, 1)
			reply(installed)
			return
		}
		id, err := l.node.Delete(l.now(), src)
		if err != nil {
			reply(Response{Error: ConfigKey + " installed, but " + src + " was not removed: " + err.Error(), Code: storeCode(err)})
			return
		}
		l.pending[id] = func(r store.Result) {
			if r.Err != nil {
				reply(Response{Error: ConfigKey + " installed, but " + src + " was not removed: " + r.Err.Error(), Code: storeCode(r.Err)})
				return
			}
			reply(installed)
		}
	})
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// cfsResponse is the answer to a cfs call whose store operation completed
// with r. The loop runs it after the Persist of r's Ready was written, so
// an acknowledged write is on this node's disk.
func cfsResponse(cmd, path string, size int, r store.Result) Response {
	switch {
	case errors.Is(r.Err, errAgentStopped) && cmd == CmdCfsGet:
		return Response{Error: "the agent stopped before the operation completed: the read did not complete", Code: CodeStopped}
	case errors.Is(r.Err, errAgentStopped):
		return Response{Error: "the agent stopped before the operation completed: the write may or may not take effect (read " + path + " to find out)", Code: CodeStopped}
	case r.Err != nil:
		msg, bad := storeWords(r.Err, path)
		resp := Response{Error: msg, BadRequest: bad, Code: storeCode(r.Err)}
		if errors.Is(r.Err, store.ErrConflict) {
			// The version the entry has now, for the next compare-and-set.
			resp.Entry = &StoreEntry{Path: path, Version: r.Version}
		}
		return resp
	case r.Kind == store.OpRead && !r.Found:
		return Response{Error: path + ": no such entry", Code: CodeNotFound}
	case r.Kind == store.OpRead:
		return Response{OK: true, Entry: &StoreEntry{Path: path, Size: len(r.Value), Version: r.Version, Value: r.Value}}
	case r.Kind == store.OpPut || r.Kind == store.OpCAS || r.Kind == store.OpLock:
		return Response{OK: true, Entry: &StoreEntry{Path: path, Size: size, Version: r.Version}}
	}
	return Response{OK: true}
}

// cfsGet reads the local replica.
func (l *loop) cfsGet(req Request) Response {
	path, err := cleanPath(req.Path, false)
	if err != nil {
		return Response{Error: err.Error(), BadRequest: true}
	}
	e, ok := l.node.ReadLocal(path)
	if !ok {
		return Response{Error: path + ": no such entry", Code: CodeNotFound}
	}
	return Response{OK: true, Entry: &StoreEntry{Path: path, Size: len(e.Value), Version: e.Version, Lock: e.Holder, Value: e.Value}}
}

// cfsLs lists the entries under a directory: the entry of that name, if
// any, and every entry whose path continues it with "/". It reads the
// State last persisted, which after every flush is the local replica.
func (l *loop) cfsLs(req Request) Response {
	dir, err := cleanPath(req.Path, true)
	if err != nil {
		return Response{Error: err.Error(), BadRequest: true}
	}
	var out []StoreEntry
	for _, r := range l.disk.Store.Entries {
		if dir != "" && r.Key != dir && !strings.HasPrefix(r.Key, dir+"/") {
			continue
		}
		out = append(out, StoreEntry{Path: r.Key, Size: len(r.Value), Version: r.Version, Lock: r.Holder})
	}
	return Response{OK: true, Entries: out}
}

// cleanPath checks a store path and returns it without a leading "/":
// components separated by single slashes, none "." or "..", valid UTF-8
// without control characters, at most store.MaxKeySize bytes. A directory
// (cfs ls) may end with "/" and may be empty (the root).
func cleanPath(p string, dir bool) (string, error) {
	k := strings.TrimPrefix(p, "/")
	if dir {
		k = strings.TrimSuffix(k, "/")
		if k == "" {
			return "", nil
		}
	}
	bad := func(why string) (string, error) { return "", fmt.Errorf("bad path %q: %s", p, why) }
	switch {
	case k == "":
		return bad("a path is required")
	case len(k) > store.MaxKeySize:
		return bad(fmt.Sprintf("longer than %d bytes", store.MaxKeySize))
	case !utf8.ValidString(k):
		return bad("not valid UTF-8")
	case strings.ContainsFunc(k, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return bad("contains a control character")
	}
	for part := range strings.SplitSeq(k, "/") {
		if part == "" || part == "." || part == ".." {
			return bad(`empty, "." or ".." component`)
		}
	}
	return k, nil
}

// storeCode classifies a store error for programs (Response.Code).
func storeCode(err error) string {
	switch {
	case errors.Is(err, store.ErrReadOnly):
		return CodeReadOnly
	case errors.Is(err, store.ErrNotFound):
		return CodeNotFound
	case errors.Is(err, store.ErrConflict):
		return CodeConflict
	case errors.Is(err, store.ErrAborted):
		return CodeAborted
	case errors.Is(err, store.ErrIndeterminate):
		return CodeIndeterminate
	case errors.Is(err, store.ErrLocked):
		return CodeLocked
	case errors.Is(err, store.ErrExists):
		return CodeExists
	case errors.Is(err, store.ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, store.ErrBadKey):
		return CodeBadKey
	}
	return ""
}

// storeWords turns a store error into words for the operator, and says
// whether it is the request's fault (exit 2) rather than a refusal.
func storeWords(err error, path string) (msg string, badRequest bool) {
	switch {
	case errors.Is(err, store.ErrReadOnly):
		return "the cluster is not quorate: the configuration store is read-only", false
	case errors.Is(err, store.ErrNotFound):
		return path + ": no such entry", false
	case errors.Is(err, store.ErrLocked):
		return path + " is a lock held by another node", false
	case errors.Is(err, store.ErrExists):
		return path + " exists and is not a lock", false
	case errors.Is(err, store.ErrConflict):
		return path + " was changed in the meantime (version conflict)", false
	case errors.Is(err, store.ErrAborted):
		return "a membership change aborted the operation; nothing was changed, try again", false
	case errors.Is(err, store.ErrIndeterminate):
		return "a membership change came while the write was in flight: it may or may not have taken effect (read " + path + " to find out)", false
	case errors.Is(err, store.ErrTooLarge):
		return fmt.Sprintf("the value is larger than the limit of %d bytes", store.MaxValueSize), true
	case errors.Is(err, store.ErrBadKey):
		return fmt.Sprintf("bad path %q", path), true
	}
	return err.Error(), false
}

// installConf is `cfs put corosync.conf`, the documented way to change the
// cluster's configuration (edit a copy, raise config_version, move it into
// place): the text must pass checkConfEdit against the cluster's current
// one, and it is written by compare-and-set on the version read, so that
// a concurrent edit is never overwritten unseen. A bad text is refused at
// once, naming its line, and nothing changes. The cluster's corosync.conf
// cannot be removed.
func (l *loop) installConf(req Request, reply func(Response)) (Response, bool) {
	if req.Cmd == CmdCfsRm {
		return Response{Error: "rm " + ConfigKey + ": the cluster's configuration cannot be removed", BadRequest: true}, false
	}
	if req.Value == nil {
		return Response{Error: "put " + ConfigKey + ": missing value", BadRequest: true}, false
	}
	value := bytes.Clone(req.Value)
	if e, ok := l.node.ReadLocal(ConfigKey); ok {
		if old, err := corosyncconf.Parse(ConfigKey, e.Value); err == nil {
			if _, err := checkConfEdit(old, value); err != nil {
				return Response{Error: "put " + ConfigKey + ": " + err.Error(), BadRequest: true}, false
			}
		}
	}
	l.editConfig(func([]byte) ([]byte, error) { return value, nil }, func(out []byte, err error) {
		if err != nil {
			reply(Response{Error: "put " + ConfigKey + ": " + err.Error(), BadRequest: errors.Is(err, ErrBadConf)})
			return
		}
		reply(Response{OK: true, Entry: &StoreEntry{Path: ConfigKey, Size: len(out)}, ConfigVersion: configVersionOf(out)})
	})
	return Response{}, true
}
