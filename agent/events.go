package agent

import (
	"context"
	"log/slog"
	"strings"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
)

// logEvent writes one engine event as one slog line. The message says what
// happened in corosync's terms; the attributes carry the local node, the
// peer, the link and, for membership, the ring.
func (l *loop) logEvent(e wire.Event) {
	level, msg := eventLevel(e)
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{slog.String("node", l.cl.name), slog.String("event", e.Kind.String())}
	if e.Peer != 0 {
		attrs = append(attrs, slog.String("peer", l.cl.nameOf(e.Peer)), slog.Uint64("peer_id", uint64(e.Peer)))
	}
	switch e.Kind {
	case wire.EventLinkUp, wire.EventLinkDown, wire.EventPacketRejected:
		attrs = append(attrs, slog.Int("link", int(e.Link)))
	case wire.EventActiveLink:
		attrs = append(attrs, slog.Int("active_link", int(e.Active)))
	case wire.EventMembership:
		if !e.Ring.IsZero() {
			attrs = append(attrs, slog.String("ring", e.Ring.String()))
		}
	}
	if len(e.Nodes) > 0 {
		names := make([]string, len(e.Nodes))
		for i, id := range e.Nodes {
			names[i] = l.cl.nameOf(id)
		}
		attrs = append(attrs, slog.Any("nodes", names))
	}
	if detail := strings.TrimPrefix(e.Detail, e.Kind.String()+" "); detail != "" {
		attrs = append(attrs, slog.String("detail", detail))
	}
	l.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// eventLevel chooses the level and message of an event: what an operator
// must notice (a link or quorum lost, a token lost) is a warning, routine
// protocol chatter (retransmit lists, dropped duplicates) is debug.
func eventLevel(e wire.Event) (slog.Level, string) {
	switch e.Kind {
	case wire.EventLinkUp:
		return slog.LevelInfo, "link up"
	case wire.EventLinkDown:
		return slog.LevelWarn, "link down"
	case wire.EventActiveLink:
		if e.Active == wire.NoLink {
			return slog.LevelWarn, "host has no active links"
		}
		return slog.LevelInfo, "active link changed"
	case wire.EventPacketRejected:
		return slog.LevelWarn, "packet rejected"
	case wire.EventMembership:
		return slog.LevelInfo, "membership"
	case wire.EventTotem:
		switch e.Sub {
		case totem.EventRetransmitList.String(), totem.EventDropped.String(), totem.EventMergeDetect.String():
			return slog.LevelDebug, "totem"
		case totem.EventTokenLost.String(), totem.EventConsensusTimeout.String(), totem.EventFailedToReceive.String():
			return slog.LevelWarn, "totem"
		}
		return slog.LevelInfo, "totem"
	case wire.EventQuorum:
		if e.Sub == quorum.EventInquorate.String() {
			return slog.LevelWarn, "quorum"
		}
		return slog.LevelInfo, "quorum"
	case wire.EventQuorumInfo:
		switch e.Sub {
		case quorum.EventDropped.String():
			return slog.LevelDebug, "quorum info"
		case quorum.EventConfigWarning.String(), quorum.EventDeviceLost.String():
			return slog.LevelWarn, "quorum info"
		}
		return slog.LevelInfo, "quorum info"
	case wire.EventStore:
		return slog.LevelInfo, "store"
	case wire.EventSync:
		// corosync logs "Completed service synchronization, ready to
		// provide service." at notice level; an aborted one is routine
		// under churn, a config_version difference is corosync's exit.
		switch {
		case strings.HasPrefix(e.Detail, "completed"):
			return slog.LevelInfo, "service synchronization completed"
		case strings.HasPrefix(e.Detail, "aborted"):
			return slog.LevelDebug, "service synchronization aborted"
		}
		return slog.LevelWarn, "service synchronization"
	}
	return slog.LevelInfo, "event"
}
