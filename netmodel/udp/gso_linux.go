//go:build linux

package udp

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gsoControl returns the control message asking the kernel to cut a send
// into datagrams of seg bytes (UDP_SEGMENT, generic segmentation offload:
// one pass through the UDP and IP layers for all of them).
func gsoControl(seg int) []byte {
	oob := make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(seg))
	return oob
}

// writeSegments sends buf to addr as datagrams of seg bytes each (the
// last may be shorter) with one system call.
func writeSegments(conn *net.UDPConn, buf []byte, seg int, addr netip.AddrPort) error {
	_, _, err := conn.WriteMsgUDPAddrPort(buf, gsoControl(seg), addr)
	return err
}

// gsoUnsupported reports whether err says the kernel or the route cannot
// segment (an old kernel, a device without checksum offload).
func gsoUnsupported(err error) bool {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return false
	}
	switch en {
	case unix.EIO, unix.EINVAL, unix.ENOPROTOOPT, unix.EOPNOTSUPP:
		return true
	}
	return false
}
