//go:build !linux

package udp

import (
	"net"
	"net/netip"
)

// Outside Linux the transport does not read ICMP errors; dead peers are
// found by the heartbeat alone.
func enableRecvErr(*net.UDPConn, bool) error    { return nil }
func peerErrno(error) bool                      { return false }
func drainErrors(*net.UDPConn) []netip.AddrPort { return nil }
