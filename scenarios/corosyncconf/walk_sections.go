package corosyncconf

func (w *walker) walkQuorum(s *Section, path string) {
	for _, it := range s.Items {
		key := path + "." + it.Key
		if kind, ok := quorumInts[key]; ok {
			w.checkInt(kind, key, key, it)
			continue
		}
		w.store(key, it.Value, it.Line, it.Line)
	}
	for _, sub := range s.Sections {
		p := path + "." + sub.Name
		w.mark(p, sub.Line)
		if p == "quorum.device" {
			w.walkQuorum(sub, p)
			continue
		}
		w.walkLoose(sub, p)
	}
}

func (w *walker) walkNodelist(s *Section) {
	if w.nodelist != 0 {
		w.invalid(s.Line, "nodelist", "nodelist section appears twice (first at line %d); corosync would merge their nodes by position", w.nodelist)
		return
	}
	w.nodelist = s.Line
	for _, it := range s.Items {
		w.store("nodelist."+it.Key, it.Value, it.Line, it.Line)
		w.warn(it.Line, "nodelist."+it.Key, "key %q directly in nodelist is ignored", it.Key)
	}
	for _, sub := range s.Sections {
		if sub.Name != "node" {
			p := "nodelist." + sub.Name
			w.mark(p, sub.Line)
			w.warn(sub.Line, p, "unknown section %q in nodelist is ignored", sub.Name)
			w.walkLoose(sub, p)
			continue
		}
		prefix := "nodelist.node." + itoa(w.nodes)
		w.mark(prefix, sub.Line)
		w.walkNode(sub, prefix)
		w.nodes++
	}
}

// walkNode stores a node's keys numbered by position; nodeid and
// quorum_votes are type-checked, and the error names the numbered key, as
// corosync's does.
func (w *walker) walkNode(s *Section, prefix string) {
	for _, it := range s.Items {
		key := prefix + "." + it.Key
		if it.Key == "nodeid" || it.Key == "quorum_votes" {
			w.checkInt(kindU32, key, key, it)
			continue
		}
		w.store(key, it.Value, it.Line, it.Line)
	}
	for _, sub := range s.Sections {
		p := prefix + "." + sub.Name
		w.mark(p, sub.Line)
		w.walkLoose(sub, p)
	}
}

func (w *walker) walkSystem(s *Section) {
	for _, it := range s.Items {
		key := "system." + it.Key
		if e, ok := systemEnums[key]; ok && !inList(it.Value, e.list) {
			w.syntax(it.Line, key, e.msg)
			continue
		}
		w.store(key, it.Value, it.Line, it.Line)
	}
	for _, sub := range s.Sections {
		p := "system." + sub.Name
		w.mark(p, sub.Line)
		w.walkLoose(sub, p)
	}
}

// walkUidgid accepts only uid and gid items and no subsections. The user
// and group names are not looked up.
func (w *walker) walkUidgid(s *Section) {
	for _, it := range s.Items {
		if it.Key != "uid" && it.Key != "gid" {
			w.syntax(it.Line, "uidgid."+it.Key, "uidgid: Only uid and gid are allowed items")
			continue
		}
		w.store("uidgid."+it.Key, it.Value, it.Line, it.Line)
	}
	for _, sub := range s.Sections {
		w.syntax(sub.Line, "uidgid."+sub.Name, "Subsections are not allowed within uidgid section")
	}
}

// kv is one key of a logging subsection, relative to that subsection.
type kv struct {
	key, value string
	line       int
}

// collect gathers the items of s and of its subsections as keys relative to
// s, as corosync's logger_subsys and logging_daemon states do.
func collect(s *Section, rel string, out []kv) []kv {
	for _, it := range s.Items {
		out = append(out, kv{joinPath(rel, it.Key), it.Value, it.Line})
	}
	for _, sub := range s.Sections {
		out = collect(sub, joinPath(rel, sub.Name), out)
	}
	return out
}

func (w *walker) walkLogging(s *Section) {
	for _, it := range s.Items {
		w.store("logging."+it.Key, it.Value, it.Line, it.Line)
	}
	for _, sub := range s.Sections {
		switch sub.Name {
		case "logger_subsys", "logging_daemon":
			w.walkLogSubsection(sub)
		default:
			p := "logging." + sub.Name
			w.mark(p, sub.Line)
			w.walkLoose(sub, p)
		}
	}
}

// walkLogSubsection handles logger_subsys (which needs subsys) and the
// legacy logging_daemon (which needs name), storing their keys at the
// closing brace under the names corosync gives them. Corosync keeps these
// keys in a list it fills at the head, so for a repeated key the first
// value in the file wins; they are stored in reverse to match.
func (w *walker) walkLogSubsection(s *Section) {
	var subsys, name *kv
	var items []kv
	for _, it := range collect(s, "", nil) {
		switch {
		case it.key == "subsys":
			subsys = &it
		case it.key == "name" && s.Name == "logging_daemon":
			name = &it
		default:
			items = append(items, it)
		}
	}
	if s.Name == "logger_subsys" {
		if subsys == nil {
			w.syntax(s.End, "logging.logger_subsys", "No subsys key in logger_subsys directive")
			return
		}
		prefix := "logging.logger_subsys." + subsys.value + "."
		for i := len(items) - 1; i >= 0; i-- {
			w.store(prefix+items[i].key, items[i].value, items[i].line, s.End)
		}
		w.store(prefix+"subsys", subsys.value, subsys.line, s.End)
		return
	}
	if name == nil {
		w.syntax(s.End, "logging.logging_daemon", "No name key in logging_daemon directive")
		return
	}
	var prefix string
	switch {
	case subsys == nil && name.value == "corosync":
		prefix = "logging."
	case subsys == nil:
		prefix = "logging.logging_daemon." + name.value + "."
	case name.value == "corosync":
		prefix = "logging.logger_subsys." + subsys.value + "."
	default:
		prefix = "logging.logging_daemon." + name.value + "." + subsys.value + "."
	}
	for i := len(items) - 1; i >= 0; i-- {
		w.store(prefix+items[i].key, items[i].value, items[i].line, s.End)
	}
	switch {
	case subsys == nil && name.value != "corosync":
		w.store(prefix+"name", name.value, name.line, s.End)
	case subsys != nil:
		w.store(prefix+"subsys", subsys.value, subsys.line, s.End)
		if name.value != "corosync" {
			w.store(prefix+"name", name.value, name.line, s.End)
		}
	}
}
