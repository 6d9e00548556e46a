package netmodel

import "github.com/quorate/quorate/engine/wire"

// Transport is one node's view of the network, as the engine's driver sees
// it. The simulator's per-node adapter over a Model and the real UDP
// transport in netmodel/udp both satisfy it, and both promise only what UDP
// promises: a datagram may be lost, duplicated or (on a link with reorder)
// overtaken, and none of that is reported.
//
// Receiving is deliberately not part of the interface, because each driver
// delivers differently: the simulator schedules each Arrival from
// Model.Route as an event on its queue and calls the node's Step when it
// fires, while the real agent reads its sockets and hands each datagram to
// its single loop goroutine. Each transport documents its own receive side.
type Transport interface {
	// Send hands d to the network and returns at once; it never blocks.
	// d.From must be the node that owns the transport. Loss is silent: Send
	// has no error. d.Payload is immutable (engine.Ready): the transport may
	// keep it after the call, and neither it nor the caller modifies it.
	Send(d wire.Datagram)
	// Close releases the transport. Send after Close drops the datagram.
	Close() error
}
