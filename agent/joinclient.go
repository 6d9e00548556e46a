package agent

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quorate/quorate/internal/fsx"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// DefaultJoinPort is the join listener's TCP port when `quorate add` is
// given a host without a port: the default mcastport of link 0, on which
// the agent listens for joins by default (same number, TCP).
const DefaultJoinPort = 5405

// ErrJoinRefused is wrapped when the existing agent refuses the join (bad
// token, wrong key, a name or address already in use, no quorum).
var ErrJoinRefused = errors.New("join refused")

// AddOptions is `quorate add`.
type AddOptions struct {
	// Existing is a running agent's join listener: host or host:port.
	Existing string
	Name     string // default: the host name
	NodeID   uint32 // 0: the lowest free id
	Votes    uint32 // 0: 1
	Links    []LinkSpec
	// Token is a join token from `quorate join-token`; without one,
	// KeyFile is the cluster authkey to authenticate with.
	Token   string
	KeyFile string
	// ConfigPath is where the new corosync.conf goes; AuthKeyPath where
	// the authkey goes (default: the keyfile the received config names;
	// with KeyFile and no AuthKeyPath the key is not written again).
	ConfigPath  string
	AuthKeyPath string
	// BundlePath, when set, is where the qnetd client bundle goes: the
	// add then takes it with the configuration, which lets a cluster
	// with a quorum device add this node (the agent's --qdevice-bundle,
	// or DATA-DIR/qdevice.pem).
	BundlePath string
	// Force overwrites an existing config or key.
	Force   bool
	Timeout time.Duration // default 30 s
}

// AddResult is what Add wrote.
type AddResult struct {
	NodeID      uint32
	Name        string
	ConfigPath  string
	AuthKeyPath string // "" when the key was not written
	BundlePath  string // "" when no qdevice bundle came with the configuration
	Config      *corosyncconf.Config
}

// Add is `pvecm add`: it checks that it will be able to write its files,
// authenticates to the existing agent with the join token or the authkey,
// asks it to add this node to the cluster's corosync.conf, and writes the
// corosync.conf and authkey it gets back. Bad input (flags, a malformed
// token, files in the way) wraps ErrConfig; a refusal wraps ErrJoinRefused.
func Add(ctx context.Context, opt AddOptions) (*AddResult, error) {
	if opt.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent: host name: %w", err)
		}
		opt.Name, _, _ = strings.Cut(h, ".")
	}
	if !nameRE.MatchString(opt.Name) {
		return nil, badConfig(fmt.Errorf("node name %q: use letters, digits, '-' or '.'", opt.Name))
	}
	if err := checkLinkSpecs(opt.Links); err != nil {
		return nil, err
	}
	if opt.ConfigPath == "" {
		return nil, badConfig(errors.New("the config path is required"))
	}
	if err := checkTarget(opt.ConfigPath, nil, opt.Force); err != nil {
		return nil, err
	}
	var (
		mode  = modeAuthKey
		psk   []byte
		tokID string
	)
	switch {
	case opt.Token != "" && opt.KeyFile != "":
		return nil, badConfig(errors.New("give either --token or --keyfile, not both"))
	case opt.Token != "":
		id, secret, err := parseToken(opt.Token)
		if err != nil {
			return nil, badConfig(fmt.Errorf("--token: %w (want qjt1.<id>.<secret> as `quorate join-token` prints it)", err))
		}
		mode, tokID, psk = modeToken, id, tokenPSK(id, secret)
	case opt.KeyFile != "":
		key, err := udp.LoadKey(opt.KeyFile)
		if err != nil {
			return nil, badConfig(err)
		}
		psk = key
	default:
		return nil, badConfig(errors.New("--token TOKEN or --keyfile PATH is required to authenticate to the cluster"))
	}
	if opt.AuthKeyPath != "" {
		if err := checkTarget(opt.AuthKeyPath, nil, opt.Force); err != nil {
			return nil, err
		}
	}
	addr := opt.Existing
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), fmt.Sprint(DefaultJoinPort))
	}
	if opt.BundlePath != "" {
		if err := checkTarget(opt.BundlePath, nil, opt.Force); err != nil {
			return nil, err
		}
	}
	req := JoinRequest{Name: opt.Name, NodeID: opt.NodeID, Votes: opt.Votes, AcceptBundle: opt.BundlePath != ""}
	for _, l := range sortedLinks(opt.Links) {
		req.Links = append(req.Links, JoinLink{Link: l.Number, Addr: l.Addr})
	}
	if opt.Timeout == 0 {
		opt.Timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	reply, err := joinExchange(ctx, addr, hello{mode: mode, tokenID: tokID}, psk, req)
	if err != nil {
		return nil, err
	}
	c, err := corosyncconf.Parse(opt.ConfigPath, []byte(reply.Config))
	if err != nil {
		return nil, fmt.Errorf("the cluster sent a corosync.conf that does not parse: %w", err)
	}
	if err := checkTarget(opt.ConfigPath, nil, opt.Force); err != nil {
		return nil, err
	}
	res := &AddResult{NodeID: reply.NodeID, Name: opt.Name, ConfigPath: opt.ConfigPath, Config: c}
	keyPath := opt.AuthKeyPath
	if keyPath == "" && opt.KeyFile == "" {
		keyPath = cmp.Or(c.Totem.KeyFile, "/etc/corosync/authkey")
		if err := checkTarget(keyPath, reply.AuthKey, opt.Force); err != nil {
			return nil, err
		}
	}
	if keyPath != "" {
		if err := os.MkdirAll(filepath.Dir(keyPath), 0o755); err != nil {
			return nil, err
		}
		if err := fsx.WriteFileAtomic(keyPath, reply.AuthKey, 0o400); err != nil {
			return nil, err
		}
		res.AuthKeyPath = keyPath
	}
	if len(reply.QdeviceBundle) > 0 && opt.BundlePath != "" {
		if err := os.MkdirAll(filepath.Dir(opt.BundlePath), 0o755); err != nil {
			return nil, err
		}
		if err := fsx.WriteFileAtomic(opt.BundlePath, reply.QdeviceBundle, 0o600); err != nil {
			return nil, err
		}
		res.BundlePath = opt.BundlePath
	}
	if err := os.MkdirAll(filepath.Dir(opt.ConfigPath), 0o755); err != nil {
		return nil, err
	}
	if err := fsx.WriteFileAtomic(opt.ConfigPath, []byte(reply.Config), 0o644); err != nil {
		return nil, err
	}
	return res, nil
}

// checkTarget refuses to overwrite path unless force, or unless it already
// holds exactly same.
func checkTarget(path string, same []byte, force bool) error {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist), force:
		return nil
	case err != nil:
		return fmt.Errorf("agent: %w", err)
	case same != nil && bytes.Equal(b, same):
		return nil
	}
	return badConfig(fmt.Errorf("%w: %s already exists; this node seems to be in a cluster already (use --force to overwrite)", ErrExists, path))
}

// joinExchange runs the client side of the join protocol (join.go).
func joinExchange(ctx context.Context, addr string, h hello, psk []byte, req JoinRequest) (*JoinReply, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot reach the join listener at %s: %w", ErrUnreachable, addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	rand.Read(h.nonce[:])
	helloRaw := h.encode()
	if _, err := conn.Write(helloRaw); err != nil {
		return nil, fmt.Errorf("join: send hello to %s: %w", addr, err)
	}
	f, err := readFrame(conn)
	if err != nil {
		return nil, fmt.Errorf("join: %s: %w", addr, err)
	}
	if f.typ == frameRefused {
		return nil, fmt.Errorf("%w by %s: %s", ErrJoinRefused, addr, decodeRefusal(f.body))
	}
	if f.typ != frameChallenge {
		return nil, fmt.Errorf("join: %s: %w: frame type %d where a challenge was due", addr, errMalformed, f.typ)
	}
	if _, err := decodeChallenge(f.body); err != nil {
		return nil, fmt.Errorf("join: %s: %w", addr, err)
	}
	keys, err := deriveKeys(psk, helloRaw, f.raw)
	if err != nil {
		return nil, err
	}
	plain, _ := json.Marshal(req)
	if _, err := conn.Write(keys.seal(keys.client, frameRequest, plain)); err != nil {
		return nil, fmt.Errorf("join: send request to %s: %w", addr, err)
	}
	f, err = readFrame(conn)
	if err != nil {
		return nil, fmt.Errorf("join: %s: %w", addr, err)
	}
	if f.typ == frameRefused {
		return nil, fmt.Errorf("%w by %s: %s", ErrJoinRefused, addr, decodeRefusal(f.body))
	}
	if f.typ != frameReply {
		return nil, fmt.Errorf("join: %s: %w: frame type %d where a reply was due", addr, errMalformed, f.typ)
	}
	b, err := keys.open(keys.server, frameReply, f.body)
	if err != nil {
		return nil, fmt.Errorf("join: %s did not prove it knows the key (not this cluster's agent?): %w", addr, err)
	}
	var reply JoinReply
	if err := json.Unmarshal(b, &reply); err != nil {
		return nil, fmt.Errorf("join: %s: %w: reply: %v", addr, errMalformed, err)
	}
	if !reply.OK {
		return nil, fmt.Errorf("%w by %s: %s", ErrJoinRefused, addr, reply.Error)
	}
	if n := len(reply.AuthKey); n < udp.MinKeySize || n > udp.MaxKeySize {
		return nil, fmt.Errorf("join: %s sent an authkey of %d bytes", addr, n)
	}
	return &reply, nil
}
