package agent

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel/udp"
)

// forge throws garbage and forged packets at alpha while charlie is
// stopped (the test takes charlie's link-0 address), and checks that
// every one is rejected for its reason, counted in the admin stats and the
// metrics, and that the ring of alpha and bravo does not notice.
func forge(t *testing.T, c *testCluster) {
	alpha, bravo := c.agents[0], c.agents[1]
	ringBefore := mustCall(t, alpha, Request{Cmd: CmdMembers}).Members.Ring
	before := mustCall(t, alpha, Request{Cmd: CmdStats}).Stats

	target := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: c.port}
	asCharlie, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 3), Port: c.port})
	if err != nil {
		t.Fatalf("bind charlie's address: %v", err)
	}
	defer asCharlie.Close()
	stranger, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 9)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()

	wrongKey := bytes.Repeat([]byte{0x5a}, udp.DefaultKeySize)
	realKey, err := os.ReadFile(filepath.Join(filepath.Dir(c.conf), "authkey"))
	if err != nil {
		t.Fatal(err)
	}
	seal := func(key []byte, from, to wire.NodeID, link wire.LinkNo, payload string) []byte {
		s, err := udp.NewSealer(key, from, []wire.NodeID{1, 2, 3})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.Seal(nil, to, link, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	send := func(conn *net.UDPConn, b []byte) {
		if _, err := conn.WriteToUDP(b, target); err != nil {
			t.Fatal(err)
		}
	}

	send(stranger, seal(realKey, 3, 1, 0, "hello"))                        // unknown_source
	send(asCharlie, []byte("short"))                                       // bad_size
	send(asCharlie, bytes.Repeat([]byte{0xab}, 100))                       // bad_header
	send(asCharlie, seal(wrongKey, 3, 1, 1, "link 1 packet on link 0"))    // wrong_link
	send(asCharlie, seal(wrongKey, 2, 1, 0, "bravo's name, charlie's IP")) // sender_mismatch
	send(asCharlie, seal(wrongKey, 3, 2, 0, "for bravo"))                  // wrong_destination
	for i := range 5 {
		send(asCharlie, seal(wrongKey, 3, 1, 0, fmt.Sprint("not our key ", i))) // auth_failed
	}
	// With the cluster's key the packet passes the transport; its payload
	// is no link-layer frame, so the engine drops it. The same bytes again
	// are a replay.
	genuine := seal(realKey, 3, 1, 0, "not a frame")
	send(asCharlie, genuine)
	send(asCharlie, genuine) // replayed

	reasons := []string{"unknown_source", "bad_size", "bad_header", "wrong_link", "sender_mismatch",
		"wrong_destination", "auth_failed", "replayed"}
	waitFor(t, "alpha counts every forged packet", func() (bool, string) {
		now := mustCall(t, alpha, Request{Cmd: CmdStats}).Stats
		for _, r := range reasons {
			if now.Rejected[r] <= before.Rejected[r] {
				return false, fmt.Sprintf("rejected %v", now.Rejected)
			}
		}
		if now.Links["rejected"] <= before.Links["rejected"] {
			return false, fmt.Sprintf("link layer %v", now.Links)
		}
		return true, ""
	})
	// The packets with another key are counted for charlie and logged
	// once, with charlie's address.
	waitFor(t, "alpha counts charlie's packets with another key", func() (bool, string) {
		now := mustCall(t, alpha, Request{Cmd: CmdStats}).Stats
		return now.AuthFailed["charlie"] >= before.AuthFailed["charlie"]+5, fmt.Sprint(now.AuthFailed)
	})
	warning := "packets from a peer fail authentication"
	if n := strings.Count(alpha.log.String(), warning); n != 1 {
		t.Errorf("alpha logged %q %d times for 5 packets, want once", warning, n)
	}
	for line := range strings.SplitSeq(alpha.log.String(), "\n") {
		if strings.Contains(line, warning) && (!strings.Contains(line, "peer=charlie") ||
			!strings.Contains(line, fmt.Sprintf("address=127.0.0.3:%d", c.port)) || !strings.Contains(line, "rejected=1")) {
			t.Errorf("the warning does not name charlie and its address: %s", line)
		}
	}
	waitFor(t, "alpha's metrics count the rejections", func() (bool, string) {
		m := scrape(t, alpha.metrics)
		ok := m[`quorate_udp_packets_rejected_total{reason="auth_failed"}`] >= 1 &&
			m[`quorate_udp_auth_failed_total{peer="charlie"}`] >= 5 &&
			m[`quorate_udp_packets_rejected_total{reason="replayed"}`] >= 1 &&
			m[`quorate_knet_packets_total{kind="rejected"}`] >= 1 &&
			m["quorate_quorate"] == 1 && m["quorate_membership_size"] == 2
		return ok, fmt.Sprint(m)
	})
	waitQuorate(t, 2, alpha, bravo)
	if ring := mustCall(t, alpha, Request{Cmd: CmdMembers}).Members.Ring; ring != ringBefore {
		t.Errorf("the forged packets changed the ring: %s, was %s", ring, ringBefore)
	}
	if s := mustCall(t, bravo, Request{Cmd: CmdStats}).Stats; s.Received == 0 {
		t.Errorf("bravo received nothing: %+v", s)
	}
}
