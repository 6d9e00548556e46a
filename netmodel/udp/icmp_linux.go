//go:build linux

package udp

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// enableRecvErr asks the kernel to report ICMP errors for datagrams sent
// on conn (IP_RECVERR / IPV6_RECVERR, as knet sets on its sockets): without
// it an unconnected UDP socket never hears of them. With it the error is
// queued on the socket's error queue, and the next read or write returns
// it once.
func enableRecvErr(conn *net.UDPConn, v4 bool) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if v4 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_RECVERR, 1)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVERR, 1)
		}
	})
	return errors.Join(err, serr)
}

// peerErrno reports whether err is one of the errors knet 1.25 takes as
// "the peer cannot be reached on this link" (transport_udp.c,
// read_errs_from_sock): port, host or network unreachable, host or
// network down.
func peerErrno(err error) bool {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return false
	}
	switch en {
	case unix.ECONNREFUSED, unix.ECONNABORTED, unix.ENONET, unix.ENETUNREACH,
		unix.EHOSTUNREACH, unix.EHOSTDOWN, unix.ENETDOWN:
		return true
	}
	return false
}

// drainErrors reads conn's error queue until it is empty and returns, for
// each ICMP error of the kinds peerErrno accepts, the destination of the
// datagram it answers (the queued message's address).
func drainErrors(conn *net.UDPConn) []netip.AddrPort {
	rc, err := conn.SyscallConn()
	if err != nil {
		return nil
	}
	var out []netip.AddrPort
	buf := make([]byte, 512)
	oob := make([]byte, 512)
	_ = rc.Control(func(fd uintptr) {
		for range 1024 { // bounded: the kernel caps the queue anyway
			_, oobn, _, from, err := unix.Recvmsg(int(fd), buf, oob, unix.MSG_ERRQUEUE|unix.MSG_DONTWAIT)
			if err != nil {
				return // EAGAIN: the queue is empty
			}
			if ap, ok := icmpDest(oob[:oobn], from); ok {
				out = append(out, ap)
			}
		}
	})
	return out
}

// icmpDest decodes one error-queue message: an ICMP (or ICMPv6) error with
// an accepted errno, for a datagram sent to from.
func icmpDest(oob []byte, from unix.Sockaddr) (netip.AddrPort, bool) {
	cms, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return netip.AddrPort{}, false
	}
	for _, cm := range cms {
		v4 := cm.Header.Level == unix.IPPROTO_IP && cm.Header.Type == unix.IP_RECVERR
		v6 := cm.Header.Level == unix.IPPROTO_IPV6 && cm.Header.Type == unix.IPV6_RECVERR
		// struct sock_extended_err: ee_errno (u32), ee_origin (u8), …
		if !v4 && !v6 || len(cm.Data) < 16 {
			continue
		}
		errno, origin := binary.NativeEndian.Uint32(cm.Data), cm.Data[4]
		if origin != unix.SO_EE_ORIGIN_ICMP && origin != unix.SO_EE_ORIGIN_ICMP6 {
			continue
		}
		if !peerErrno(syscall.Errno(errno)) {
			continue
		}
		switch sa := from.(type) {
		case *unix.SockaddrInet4:
			return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), true
		case *unix.SockaddrInet6:
			return unmap(netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port))), true
		}
	}
	return netip.AddrPort{}, false
}
