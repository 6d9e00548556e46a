package corosyncconf

import (
	"math"
	"math/bits"
	"strconv"
	"time"
)

// intKind is an integer type corosync's parser checks a key against
// (safe_atoq / str_to_ull in exec/coroparse.c).
type intKind int

const (
	kindU8 intKind = iota
	kindU16
	kindU32
	kindI32
	kindU64
)

// bounds returns the range safe_atoq accepts for a kind.
func (k intKind) bounds() (lo, hi int64) {
	switch k {
	case kindU8:
		return 0, math.MaxUint8
	case kindU16:
		return 0, math.MaxUint16
	case kindI32:
		return math.MinInt32, math.MaxInt32
	default:
		return 0, math.MaxUint32
	}
}

// parseInt checks value the way corosync does for key and returns it. On
// failure the message is corosync's, for the key name corosync prints
// (the numbered one for nodelist keys).
func parseInt(kind intKind, key, value string) (uint64, int64, string) {
	if kind == kindU64 {
		v, ok := cStrtoull(value)
		if !ok {
			return 0, 0, capMsg("Value of key \"" + key + "\" is expected to be unsigned integer, but \"" + value + "\" was given")
		}
		return v, 0, ""
	}
	lo, hi := kind.bounds()
	v, ok := cStrtoll(value, 10)
	if !ok || v < lo || v > hi {
		return 0, 0, capMsg("Value of key \"" + key + "\" is expected to be integer in range (" +
			strconv.FormatInt(lo, 10) + ".." + strconv.FormatInt(hi, 10) + "), but \"" + value + "\" was given")
	}
	return uint64(v), v, ""
}

// capMsg reproduces corosync's static char[256] message buffer: a message
// that does not fit is replaced by "Can't format parser error message".
func capMsg(msg string) string {
	if len(msg) >= 256 {
		return "Can't format parser error message"
	}
	return msg
}

// isCSpace is isspace() in the C locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// digitVal returns the value of an ASCII digit or letter, or 99.
func digitVal(c byte) uint64 {
	switch {
	case '0' <= c && c <= '9':
		return uint64(c - '0')
	case 'a' <= c && c <= 'z':
		return uint64(c-'a') + 10
	case 'A' <= c && c <= 'Z':
		return uint64(c-'A') + 10
	}
	return 99
}

// cScan is the shared part of strtoll/strtoull: leading C spaces, an
// optional sign, an optional "0x" prefix (base 0 or 16), then digits. It
// returns the magnitude, the sign, whether the magnitude overflowed uint64,
// and whether digits were found and the whole string was used.
func cScan(s string, base int) (mag uint64, neg, overflow, ok bool) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	hexPrefix := i+2 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X') && digitVal(s[i+2]) < 16
	switch {
	case (base == 0 || base == 16) && hexPrefix:
		i += 2
		base = 16
	case base == 0 && i < len(s) && s[i] == '0':
		base = 8
	case base == 0:
		base = 10
	}
	start := i
	for i < len(s) && digitVal(s[i]) < uint64(base) {
		if !overflow {
			hi, lo := bits.Mul64(mag, uint64(base))
			sum, carry := bits.Add64(lo, digitVal(s[i]), 0)
			if hi != 0 || carry != 0 {
				overflow = true
			} else {
				mag = sum
			}
		}
		i++
	}
	return mag, neg, overflow, i > start && i == len(s)
}

// cStrtoll is strtoll(s, &end, base) with *end == '\0' and errno == 0 required.
func cStrtoll(s string, base int) (int64, bool) {
	mag, neg, overflow, ok := cScan(s, base)
	switch {
	case !ok || overflow:
		return 0, false
	case neg && mag > 1<<63, !neg && mag > math.MaxInt64:
		return 0, false
	case neg:
		return int64(-mag), true // two's complement, also right for 1<<63
	}
	return int64(mag), true
}

// cStrtoull is strtoull(s, &end, 10) with *end == '\0' and errno == 0
// required. Like strtoull it accepts a minus sign and negates in uint64
// arithmetic, so "-1" is 18446744073709551615.
func cStrtoull(s string) (uint64, bool) {
	mag, neg, overflow, ok := cScan(s, 10)
	if !ok || overflow {
		return 0, false
	}
	if neg {
		return -mag, true
	}
	return mag, true
}

// dscpNames are the symbolic DSCP values corosync accepts for totem.ip_dscp
// (get_dscp_value in exec/coroparse.c, after the IANA registry).
var dscpNames = map[string]uint8{
	"cs0": 0, "cs1": 8, "cs2": 16, "cs3": 24, "cs4": 32, "cs5": 40, "cs6": 48, "cs7": 56,
	"af11": 10, "af12": 12, "af13": 14, "af21": 18, "af22": 20, "af23": 22,
	"af31": 26, "af32": 28, "af33": 30, "af41": 34, "af42": 36, "af43": 38, "ef": 46,
}

// parseDSCP accepts a symbolic name or a number 0..63 in C notation
// (decimal, 0x hex, 0 octal).
func parseDSCP(s string) (uint8, bool) {
	if v, ok := dscpNames[s]; ok {
		return v, true
	}
	v, ok := cStrtoll(s, 0)
	if !ok || v < 0 || v > 63 {
		return 0, false
	}
	return uint8(v), true
}

// validCmapKey reports whether icmap would store a key of this name
// (icmap_check_key_name in exec/icmap.c): 3 to 255 characters from
// [a-zA-Z0-9._/:-].
func validCmapKey(k string) bool {
	if len(k) < 3 || len(k) > maxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '/' || c == ':') {
			return false
		}
	}
	return true
}

// ms converts a millisecond count from the file.
func ms(v uint64) time.Duration { return time.Duration(v) * time.Millisecond }

// toMS converts back to whole milliseconds for messages and Marshal.
func toMS(d time.Duration) uint64 { return uint64(d / time.Millisecond) }

// uitoa formats an unsigned integer.
func uitoa(v uint64) string { return strconv.FormatUint(v, 10) }

// parseQdeviceBool is utils_parse_bool_str of corosync-qdevice: yes/on/1 and
// no/off/0, case-insensitive. ok is false for anything else.
func parseQdeviceBool(s string) (v, ok bool) {
	switch lower(s) {
	case "yes", "on", "1":
		return true, true
	case "no", "off", "0":
		return false, true
	}
	return false, false
}

// lower is an ASCII-only strings.ToLower, as strcasecmp compares.
func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// utilsStrtonum is corosync-qdevice's utils_strtonum: a decimal integer
// in [lo, hi], whole string.
func utilsStrtonum(s string, lo, hi int64) (int64, bool) {
	v, ok := cStrtoll(s, 10)
	if !ok || v < lo || v > hi {
		return 0, false
	}
	return v, true
}
