package corosyncconf

import (
	"strings"
	"testing"
)

// twoNodesDev is a Proxmox-style two-node corosync.conf.
const twoNodesDev = `# written by hand
logging {
  debug: off
  to_syslog: yes
}

nodelist {
  node {
    name: pve1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.0.0.1
  }
  node {
    name: pve2
    nodeid: 2
    quorum_votes: 1
    ring0_addr: 10.0.0.2
  }
}

quorum {
  provider: corosync_votequorum
}

totem {
  cluster_name: lab
  config_version: 7
  interface {
    linknumber: 0
  }
  ip_version: ipv4-6
  link_mode: passive
  secauth: on
  version: 2
}
`

// threeNodesDev adds a third node to twoNodesDev.
var threeNodesDev = strings.Replace(twoNodesDev, "}\n\nquorum", `  node {
    name: pve3
    nodeid: 3
    quorum_votes: 1
    ring0_addr: 10.0.0.3
  }
}

quorum`, 1)

func TestAddDevice(t *testing.T) {
	cases := []struct {
		name, src, host string
		port            int
		algorithm       string
		wantAlgo        string
		wantVotes       uint32 // 0: corosync's default (votes auto)
		err             string
		noForce         bool
	}{
		{name: "even, default algorithm", src: twoNodesDev, host: "10.0.0.9", port: 5403, wantAlgo: "ffsplit", wantVotes: 1},
		{name: "odd, default algorithm", src: threeNodesDev, host: "qnetd.example", port: 5403, wantAlgo: "lms"},
		{name: "even, lms, other port", src: twoNodesDev, host: "10.0.0.9", port: 15403, algorithm: "lms", wantAlgo: "lms"},
		{name: "ipv6 host", src: twoNodesDev, host: "fd00::9", port: 5403, wantAlgo: "ffsplit", wantVotes: 1},
		{name: "odd without force", src: threeNodesDev, host: "qnetd.example", port: 5403, noForce: true, err: "odd node count (3)"},
		{name: "even without force", src: twoNodesDev, host: "10.0.0.9", port: 5403, noForce: true, wantAlgo: "ffsplit", wantVotes: 1},
		{name: "odd with ffsplit", src: threeNodesDev, host: "10.0.0.9", port: 5403, algorithm: "ffsplit", err: "even node count"},
		{name: "unknown algorithm", src: twoNodesDev, host: "10.0.0.9", port: 5403, algorithm: "2nodelms", err: "want ffsplit or lms"},
		{name: "bad port", src: twoNodesDev, host: "10.0.0.9", port: 0, err: "not in 1-65535"},
		{name: "bad host", src: twoNodesDev, host: "a b", port: 5403, err: "not a usable host"},
		{name: "two_node", src: strings.Replace(twoNodesDev, "provider: corosync_votequorum", "provider: corosync_votequorum\n  two_node: 1", 1),
			host: "10.0.0.9", port: 5403, err: "corosync.conf:24: two_node is set"},
		{name: "already configured", src: strings.Replace(twoNodesDev, "provider: corosync_votequorum",
			"provider: corosync_votequorum\n  device {\n    model: net\n    votes: 1\n    net {\n      host: x\n    }\n  }", 1),
			host: "10.0.0.9", port: 5403, err: "corosync.conf:24: a quorum device is already configured"},
		{name: "invalid file", src: "totem {\n", host: "10.0.0.9", port: 5403, err: "corosync.conf:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := AddDevice([]byte(c.src), c.host, c.port, c.algorithm, !c.noForce)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("AddDevice error = %v; want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			before, _ := Parse("before", []byte(c.src))
			after, err := Parse("after", out)
			if err != nil {
				t.Fatalf("result does not parse: %v\n%s", err, out)
			}
			d := after.Quorum.Device
			if d == nil || d.Model != "net" || d.Net.Host != c.host || int(d.Net.Port) != c.port ||
				d.Net.Algorithm != c.wantAlgo || d.Net.TLS != "on" {
				t.Fatalf("device %+v\n%s", d, out)
			}
			if c.wantVotes != 0 && (d.VotesAuto || d.Votes != c.wantVotes) || c.wantVotes == 0 && !d.VotesAuto {
				t.Errorf("votes %d (auto %v), want %d", d.Votes, d.VotesAuto, c.wantVotes)
			}
			if after.ConfigVersion != before.ConfigVersion+1 {
				t.Errorf("config_version %d, want %d", after.ConfigVersion, before.ConfigVersion+1)
			}
			// Everything else is unchanged.
			after.Quorum.Device, after.ConfigVersion = nil, before.ConfigVersion
			if string(after.Marshal()) != string(before.Marshal()) {
				t.Errorf("other settings changed:\n%s\nvs\n%s", after.Marshal(), before.Marshal())
			}
			// And removing the device gives back the original settings.
			back, err := RemoveDevice(out)
			if err != nil {
				t.Fatal(err)
			}
			restored, err := Parse("restored", back)
			if err != nil {
				t.Fatal(err)
			}
			if restored.Quorum.Device != nil || restored.ConfigVersion != before.ConfigVersion+2 {
				t.Errorf("after RemoveDevice: device %+v, config_version %d", restored.Quorum.Device, restored.ConfigVersion)
			}
			restored.ConfigVersion = before.ConfigVersion
			if string(restored.Marshal()) != string(before.Marshal()) {
				t.Errorf("RemoveDevice changed other settings:\n%s", back)
			}
		})
	}
}

// TestAddDeviceLayout pins the text pvecm-style tools expect.
func TestAddDeviceLayout(t *testing.T) {
	out, err := AddDevice([]byte(twoNodesDev), "10.0.0.9", 5403, "", false)
	if err != nil {
		t.Fatal(err)
	}
	want := `quorum {
  provider: corosync_votequorum
  device {
    model: net
    net {
      algorithm: ffsplit
      host: 10.0.0.9
      tls: on
    }
    votes: 1
  }
}
`
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "config_version: 8\n") {
		t.Errorf("layout:\n%s", out)
	}
}

func TestDeviceEditNoQuorumOrVersion(t *testing.T) {
	src := strings.Replace(strings.Replace(twoNodesDev, "quorum {\n  provider: corosync_votequorum\n}\n", "", 1),
		"  config_version: 7\n", "", 1)
	out, err := AddDevice([]byte(src), "10.0.0.9", 5403, "ffsplit", false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse("out", out)
	if err != nil {
		t.Fatal(err)
	}
	if c.ConfigVersion != 1 || c.Quorum.Provider != "corosync_votequorum" || c.Quorum.Device == nil {
		t.Errorf("config_version %d, provider %q, device %+v\n%s", c.ConfigVersion, c.Quorum.Provider, c.Quorum.Device, out)
	}
	if _, err := RemoveDevice([]byte(twoNodesDev)); err == nil || !strings.Contains(err.Error(), "no quorum device") {
		t.Errorf("RemoveDevice without a device: %v", err)
	}
}
