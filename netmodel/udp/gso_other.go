//go:build !linux

package udp

import (
	"errors"
	"net"
	"net/netip"
)

var errNoGSO = errors.New("udp: no segmentation offload on this system")

func writeSegments(*net.UDPConn, []byte, int, netip.AddrPort) error { return errNoGSO }

func gsoUnsupported(err error) bool { return errors.Is(err, errNoGSO) }
