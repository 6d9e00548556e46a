package corosyncconf

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Defaults corosync applies (exec/totemconfig.c, exec/votequorum.c,
// corosync-qdevice qdevices/qnet-config.h).
const (
	defaultToken             = 3000 * time.Millisecond
	defaultTokenCoefficient  = 650 * time.Millisecond
	defaultJoin              = 50 * time.Millisecond
	defaultMerge             = 200 * time.Millisecond
	defaultDowncheck         = 1000 * time.Millisecond
	defaultMaxNetworkDelay   = 50 * time.Millisecond
	defaultKnetPMTUDInterval = 30 * time.Second
	defaultKeyFile           = "/etc/corosync/authkey"
	defaultPort              = 5405
	defaultLMSWindow         = 10 * time.Second
	defaultDeviceTimeout     = 10 * time.Second
	defaultDeviceSyncTimeout = 30 * time.Second
	defaultQnetdPort         = 5403
	knetMaxPacket            = 65536
	udpNetMTU                = 1500
)

// Load reads and parses a corosync.conf file. A file that cannot be read
// gives the *fs.PathError wrapped; a bad file gives an ErrorList.
func Load(path string) (*Config, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("corosyncconf: %w", err)
	}
	return Parse(path, src)
}

// Parse reads corosync.conf text and checks it as corosync 3 does at startup
// (parser, totem, votequorum and corosync-qdevice checks), plus the stricter
// checks listed in the package documentation. name is used in error
// messages. When the file is bad the error is an ErrorList: the single
// grammar error, or every type error, or every startup error, each with its
// line. Parse never panics.
func Parse(name string, src []byte) (*Config, error) {
	tree, err := ParseTree(name, src)
	if err != nil {
		return nil, err
	}
	p := &problems{file: name}
	w := &walker{problems: p, keys: map[string]entry{}, sections: map[string]int{}}
	w.walk(tree)
	if err := p.result(); err != nil {
		return nil, err
	}
	c := &Config{File: name, tree: tree, keys: w.keys, sections: w.sections}
	b := &builder{problems: p, c: c, w: w, badNode: map[int]bool{}}
	b.build()
	if err := p.result(); err != nil {
		return nil, err
	}
	sortErrors(p.warnings)
	c.Warnings = p.warnings
	return c, nil
}

// builder turns the flat cmap view into a Config and validates it.
type builder struct {
	*problems
	c       *Config
	w       *walker
	badNode map[int]bool // nodes with an unusable address; link checks skip them
}

// raw returns a key's text and whether the file sets it.
func (b *builder) raw(key string) (string, bool) {
	e, ok := b.c.keys[key]
	return e.value, ok
}

// str returns a key's text, or def.
func (b *builder) str(key, def string) string {
	if v, ok := b.raw(key); ok {
		return v
	}
	return def
}

// line returns the line of a key or, failing that, of the first of the
// fallback keys or sections that the file has.
func (b *builder) line(keys ...string) int {
	for _, k := range keys {
		if e, ok := b.c.keys[k]; ok {
			return e.line
		}
		if l, ok := b.w.sections[k]; ok {
			return l
		}
	}
	return 0
}

// num returns an integer key (already type-checked by the walker), or def.
// With keepZero false a configured 0 also gives def, as corosync's
// totem_volatile_config_set_uint32_value does for most timers.
func (b *builder) num(key string, def uint64, keepZero bool) uint64 {
	v, ok := b.raw(key)
	if !ok {
		return def
	}
	n, ok := cStrtoull(v)
	if !ok || n == 0 && !keepZero {
		return def
	}
	return n
}

// u32 is num for the many uint32 keys; values were range-checked when read.
func (b *builder) u32(key string, def uint32, keepZero bool) uint32 {
	return uint32(b.num(key, uint64(def), keepZero))
}

// msDur is num for millisecond keys.
func (b *builder) msDur(key string, def time.Duration, keepZero bool) time.Duration {
	return ms(b.num(key, toMS(def), keepZero))
}

// yesNo reads a boolean that corosync compares with strcmp: "yes" is true,
// "no" false, and anything else leaves the default (with a warning).
func (b *builder) yesNo(key string, def bool) bool {
	v, ok := b.raw(key)
	switch {
	case !ok:
		return def
	case v == "yes":
		return true
	case v == "no":
		return false
	}
	b.warn(b.line(key), key, "%s: %q is neither yes nor no; corosync uses the default (%s)", key, v, yesNoText(def))
	return def
}

func yesNoText(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

// build fills the Config and runs every check.
func (b *builder) build() {
	c := b.c
	c.ClusterName = b.str("totem.cluster_name", "")
	c.ConfigVersion = b.num("totem.config_version", 0, true)
	b.buildTotem()
	b.buildNodes()
	b.buildInterfaces()
	b.validateTotem()
	b.buildQuorum()
	c.Logging = b.prefixed("logging.")
	c.System = b.prefixed("system.")
}

// prefixed returns the keys under a prefix, without it; nil when none.
func (b *builder) prefixed(prefix string) map[string]string {
	var m map[string]string
	for k, e := range b.c.keys {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			if m == nil {
				m = map[string]string{}
			}
			m[rest] = e.value
		}
	}
	return m
}

func (b *builder) buildTotem() {
	t := &b.c.Totem
	t.Version = b.u32("totem.version", 0, true)
	t.Transport = b.str("totem.transport", "knet")
	t.LinkMode = b.str("totem.link_mode", "passive")
	t.IPVersion = b.str("totem.ip_version", "ipv6-4")
	if t.Transport == "udp" && !b.c.Has("totem.ip_version") {
		t.IPVersion = "ipv4"
	}
	t.Token = b.msDur("totem.token", defaultToken, false)
	t.TokenCoefficient = b.msDur("totem.token_coefficient", defaultTokenCoefficient, true)
	t.TokenRetransmit = b.msDur("totem.token_retransmit", 0, false)
	t.Hold = b.msDur("totem.hold", 0, false)
	t.TokenRetransmitsBeforeLossConst = b.u32("totem.token_retransmits_before_loss_const", 4, false)
	t.TokenWarning = b.u32("totem.token_warning", 75, true)
	t.Join = b.msDur("totem.join", defaultJoin, false)
	t.SendJoin = b.msDur("totem.send_join", 0, true)
	t.Consensus = b.msDur("totem.consensus", 0, false)
	t.Merge = b.msDur("totem.merge", defaultMerge, false)
	t.Downcheck = b.msDur("totem.downcheck", defaultDowncheck, false)
	t.FailRecvConst = b.u32("totem.fail_recv_const", 2500, false)
	t.SeqnoUnchangedConst = b.u32("totem.seqno_unchanged_const", 30, false)
	t.HeartbeatFailuresAllowed = b.u32("totem.heartbeat_failures_allowed", 0, true)
	t.MaxNetworkDelay = b.msDur("totem.max_network_delay", defaultMaxNetworkDelay, false)
	t.WindowSize = b.u32("totem.window_size", 50, false)
	t.MaxMessages = b.u32("totem.max_messages", 17, false)
	t.MissCountConst = b.u32("totem.miss_count_const", 5, false)
	t.CancelTokenHoldOnRetransmit = b.yesNo("totem.cancel_token_hold_on_retransmit", false)
	t.BlockUnlistedIPs = b.yesNo("totem.block_unlisted_ips", true)
	t.ClearNodeHighBit = b.str("totem.clear_node_high_bit", "") == "yes"
	b.buildCrypto(t)
	t.NetMTU = b.u32("totem.netmtu", 0, true)
	if t.NetMTU == 0 {
		t.NetMTU = udpNetMTU
		if t.Transport == "knet" {
			t.NetMTU = knetMaxPacket
		}
	}
	t.KnetMTU = b.u32("totem.knet_mtu", 0, true)
	t.KnetPMTUDInterval = time.Duration(b.num("totem.knet_pmtud_interval", 30, false)) * time.Second
	t.KnetCompressionModel = b.str("totem.knet_compression_model", "none")
	t.KnetCompressionThreshold = b.u32("totem.knet_compression_threshold", 0, true)
	if v, ok := b.raw("totem.knet_compression_level"); ok {
		n, _ := cStrtoll(v, 10)
		t.KnetCompressionLevel = int32(n)
	}
	if v, ok := b.raw("totem.ip_dscp"); ok {
		t.IPDSCP, _ = parseDSCP(v)
	}
	b.legacyTotemKeys()
}

// buildCrypto applies totem_get_crypto (exec/totemconfig.c) as built with
// ENABLE_UNENCRYPTED, the corosync 3.1 behaviour Proxmox ships: cipher and
// hash default to none, "secauth: on" means aes256 + sha256, explicit
// crypto_cipher / crypto_hash override it.
func (b *builder) buildCrypto(t *Totem) {
	t.CryptoModel = b.str("totem.crypto_model", "nss")
	t.KeyFile = b.str("totem.keyfile", defaultKeyFile)
	t.Key = b.str("totem.key", "")
	t.CryptoCipher, t.CryptoHash = "none", "none"
	if v, ok := b.raw("totem.secauth"); ok {
		t.SecAuth = v == "on"
		if t.SecAuth {
			t.CryptoCipher, t.CryptoHash = "aes256", "sha256"
		} else if v != "off" {
			b.warn(b.line("totem.secauth"), "totem.secauth", "secauth: %q turns encryption off; corosync only enables it for \"on\"", v)
		}
	}
	if v, ok := b.raw("totem.crypto_cipher"); ok {
		t.CryptoCipher = v
	}
	if v, ok := b.raw("totem.crypto_hash"); ok {
		t.CryptoHash = v
	}
	if t.CryptoCipher != "none" && t.CryptoHash == "none" {
		b.invalid(b.line("totem.crypto_hash", "totem.crypto_cipher", "totem.secauth"), "totem.crypto_hash",
			"crypto_cipher requires crypto_hash with value other than none")
	}
}

// legacyTotemKeys warns about totem keys corosync 3 reads but ignores.
func (b *builder) legacyTotemKeys() {
	for _, k := range b.c.Keys() {
		rest, ok := strings.CutPrefix(k, "totem.")
		if !ok || strings.HasPrefix(rest, "interface.") {
			continue
		}
		switch {
		case rest == "rrp_mode" || strings.HasPrefix(rest, "rrp_"):
			b.warn(b.line(k), k, "%s is a corosync 2 (RRP) option and is ignored by corosync 3 (see link_mode)", k)
		case rest == "nodeid":
			b.warn(b.line(k), k, "totem.nodeid is deprecated and ignored; nodeids come from the nodelist")
		case !knownTotemKeys[rest] && !strings.Contains(rest, "."):
			b.warn(b.line(k), k, "unknown key %q in totem is ignored", rest)
		}
	}
}

// knownTotemKeys are the totem keys corosync 3 reads.
var knownTotemKeys = map[string]bool{
	"version": true, "cluster_name": true, "config_version": true, "transport": true,
	"link_mode": true, "ip_version": true, "secauth": true, "crypto_cipher": true,
	"crypto_hash": true, "crypto_model": true, "keyfile": true, "key": true,
	"token": true, "token_coefficient": true, "token_retransmit": true, "hold": true,
	"token_retransmits_before_loss_const": true, "token_warning": true, "join": true,
	"send_join": true, "consensus": true, "merge": true, "downcheck": true,
	"fail_recv_const": true, "seqno_unchanged_const": true, "heartbeat_failures_allowed": true,
	"max_network_delay": true, "window_size": true, "max_messages": true,
	"miss_count_const": true, "cancel_token_hold_on_retransmit": true, "netmtu": true,
	"knet_mtu": true, "knet_pmtud_interval": true, "knet_compression_model": true,
	"knet_compression_threshold": true, "knet_compression_level": true,
	"block_unlisted_ips": true, "clear_node_high_bit": true, "ip_dscp": true, "threads": true,
}
