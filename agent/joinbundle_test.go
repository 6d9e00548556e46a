package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// TestAddCarriesBundle: a cluster with a quorum device refuses an add
// that does not take the qdevice client bundle, and accepts one that does
// (quorate add --qdevice-bundle), sending the store's bundle with the
// configuration.
func TestAddCarriesBundle(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	port := freePorts(t)
	d := filepath.Join(dir, "alpha")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	alpha := &joinAgent{
		testAgent: testAgent{name: "alpha", admin: filepath.Join(d, "admin.sock"), data: filepath.Join(d, "data"), log: &syncBuffer{}},
		conf:      filepath.Join(d, "corosync.conf"), key: filepath.Join(d, "authkey"),
	}
	t.Cleanup(func() {
		stopJoinAgent(t, alpha)
		if t.Failed() {
			t.Logf("log of alpha:\n%s", alpha.log.String())
		}
	})
	if _, err := CreateCluster(CreateOptions{ClusterName: "lab", NodeName: "alpha",
		Links:      []LinkSpec{{Number: 0, Addr: "127.0.0.1", Priority: -1}},
		ConfigPath: alpha.conf, KeyFile: alpha.key, Port: uint16(port), Token: time.Second}); err != nil {
		t.Fatal(err)
	}
	runJoinAgent(t, alpha)
	waitQuorate(t, 1, &alpha.testAgent)

	// The device and its bundle, as qdevice setup leaves them: the bundle
	// in the store, the device (lms: votes follow the node count) in the
	// cluster's corosync.conf.
	bundle := []byte("the qnetd client bundle\n")
	mustCall(t, &alpha.testAgent, Request{Cmd: CmdCfsPut, Path: BundleKey, Value: bundle})
	var withDevice []byte
	waitFor(t, "the device in the cluster's corosync.conf", func() (bool, string) {
		e, err := ask(&alpha.testAgent, Request{Cmd: CmdCfsGet, Path: ConfigKey})
		if err != nil || !e.OK || e.Entry == nil {
			return false, fmt.Sprint(e, err)
		}
		if withDevice, err = corosyncconf.AddDevice(e.Entry.Value, "127.0.0.1", 5403, "lms", true); err != nil {
			t.Fatal(err)
		}
		resp, err := ask(&alpha.testAgent, Request{Cmd: CmdCfsPut, Path: ConfigKey, Value: withDevice})
		return err == nil && resp.OK, fmt.Sprint(resp, err)
	})

	ctx := context.Background()
	add := AddOptions{Existing: fmt.Sprintf("127.0.0.1:%d", port), Name: "bravo", KeyFile: alpha.key,
		Links:      []LinkSpec{{Number: 0, Addr: "127.0.0.2", Priority: -1}},
		ConfigPath: filepath.Join(dir, "bravo.conf"), Timeout: 20 * time.Second}
	if _, err := Add(ctx, add); !errors.Is(err, ErrJoinRefused) || !strings.Contains(err.Error(), "client bundle") {
		t.Fatalf("add without the bundle: %v, want a refusal naming the client bundle", err)
	}
	if _, err := os.Stat(add.ConfigPath); err == nil {
		t.Fatal("a refused add wrote a config")
	}
	add.BundlePath = filepath.Join(dir, "bravo", "qdevice.pem")
	res, err := Add(ctx, add)
	if err != nil {
		t.Fatalf("add with the bundle: %v", err)
	}
	if got := mustRead(t, add.BundlePath); res.BundlePath != add.BundlePath || !bytes.Equal(got, bundle) {
		t.Fatalf("bundle written to %q: %q", res.BundlePath, got)
	}
	if c := res.Config; c.Quorum.Device == nil || len(c.Nodes) != 2 || c.NodeByName("bravo") == nil {
		t.Fatalf("configuration sent: %s", c.Marshal())
	}
}
