package corosyncconf

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestMarshalTypedValues round-trips a file that sets most typed keys to
// non-default values, including the ones where 0 is meaningful.
func TestMarshalTypedValues(t *testing.T) {
	src := `logging {
  to_syslog: yes
  logger_subsys {
    subsys: QUORUM
    debug: on
  }
}
system {
  sched_rr: no
}
totem {
  version: 2
  cluster_name: big
  config_version: 18446744073709551615
  link_mode: active
  ip_version: ipv4-6
  token: 5000
  token_coefficient: 0
  token_retransmit: 1000
  hold: 700
  token_retransmits_before_loss_const: 6
  token_warning: 0
  join: 80
  send_join: 10
  consensus: 7000
  merge: 300
  downcheck: 2000
  fail_recv_const: 3000
  seqno_unchanged_const: 40
  heartbeat_failures_allowed: 2
  max_network_delay: 60
  window_size: 60
  max_messages: 20
  miss_count_const: 6
  cancel_token_hold_on_retransmit: yes
  secauth: on
  crypto_cipher: aes128
  crypto_hash: sha512
  crypto_model: openssl
  keyfile: /etc/corosync/other.key
  netmtu: 9000
  knet_mtu: 1400
  knet_pmtud_interval: 10
  knet_compression_model: zlib
  knet_compression_threshold: 200
  knet_compression_level: 5
  block_unlisted_ips: no
  ip_dscp: af41
  interface {
    linknumber: 0
    knet_link_priority: 0
    knet_ping_interval: 500
    knet_ping_timeout: 1000
    knet_ping_precision: 1024
    knet_pong_count: 3
    mcastport: 6000
  }
  interface {
    linknumber: 2
    knet_link_priority: 255
  }
}
nodelist {
  node {
    name: n1
    nodeid: 10
    quorum_votes: 2
    ring0_addr: 10.0.0.1
    ring2_addr: fd00::1
    custom_tag: rack1
  }
  node {
    name: n2
    nodeid: 20
    quorum_votes: 0
    ring0_addr: 10.0.0.2
    ring2_addr: fd00::2
  }
}
quorum {
  provider: corosync_votequorum
  expected_votes: 4
  wait_for_all: 1
  last_man_standing: 1
  last_man_standing_window: 0
  expected_votes_tracking: 1
}
`
	c := roundTrip(t, "typed.conf", []byte(src))
	tt := c.Totem
	eq(t, "token", tt.Token, 5*time.Second)
	eq(t, "coefficient", tt.TokenCoefficient, time.Duration(0))
	eq(t, "crypto", tt.CryptoCipher+"/"+tt.CryptoHash+"/"+tt.CryptoModel, "aes128/sha512/openssl")
	eq(t, "priority 0 kept", c.Interface(0).KnetLinkPriority, uint8(0))
	eq(t, "priority 255", c.Interface(2).KnetLinkPriority, uint8(255))
	eq(t, "pong count", c.Interface(0).KnetPongCount, uint32(3))
	eq(t, "ping", c.Interface(0).KnetPingTimeout, time.Second)
	eq(t, "port", c.Interface(0).MCastPort, uint16(6000))
	eq(t, "extra", c.Nodes[0].Extra["custom_tag"], "rack1")
	eq(t, "zero votes", c.Nodes[1].QuorumVotes, uint32(0))
	eq(t, "logger_subsys", c.Logging["logger_subsys.QUORUM.debug"], "on")
	eq(t, "window 0", c.Quorum.LastManStandingWindow, time.Duration(0))
}

// TestMarshalBuilt writes a Config assembled in code (no parsed keys) and
// checks that corosync's layout and defaults come out.
func TestMarshalBuilt(t *testing.T) {
	c := &Config{
		ClusterName: "built", ConfigVersion: 1,
		Totem:      Totem{Version: 2, Transport: "knet", LinkMode: "passive", IPVersion: "ipv4-6", Token: defaultToken, TokenCoefficient: defaultTokenCoefficient, TokenWarning: 75, TokenRetransmitsBeforeLossConst: 4, Join: defaultJoin, Merge: defaultMerge, Downcheck: defaultDowncheck, MaxNetworkDelay: defaultMaxNetworkDelay, FailRecvConst: 2500, SeqnoUnchangedConst: 30, WindowSize: 50, MaxMessages: 17, MissCountConst: 5, SecAuth: true, CryptoCipher: "aes256", CryptoHash: "sha256", CryptoModel: "nss", KeyFile: defaultKeyFile, NetMTU: knetMaxPacket, KnetPMTUDInterval: defaultKnetPMTUDInterval, KnetCompressionModel: "none", BlockUnlistedIPs: true},
		Interfaces: []Interface{{LinkNumber: 0, KnetLinkPriority: 1, KnetPingPrecision: 2048, KnetPongCount: 2, KnetTransport: "udp", MCastPort: 5405, TTL: 1}},
		Nodes:      []Node{{Name: "a", NodeID: 1, QuorumVotes: 1, RingAddrs: [MaxLinks]string{"10.0.0.1"}}},
		Quorum:     Quorum{Provider: "corosync_votequorum", LastManStandingWindow: defaultLMSWindow, WaitForAllAuto: true, AutoTieBreakerNode: TieBreaker{Mode: TieBreakerLowest}},
	}
	want := `nodelist {
  node {
    name: a
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.0.0.1
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: built
  config_version: 1
  ip_version: ipv4-6
  secauth: on
  version: 2
}

`
	got := string(c.Marshal())
	if got != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", got, want)
	}
	again, err := Parse("built.conf", []byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := typed(c), typed(again); !reflect.DeepEqual(a, b) {
		t.Errorf("typed values differ:\n%+v\n%+v", a, b)
	}
	if strings.Contains(got, "interface") {
		t.Error("a link with defaults only needs no interface section")
	}
}
