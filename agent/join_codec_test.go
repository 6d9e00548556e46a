package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func validHello(mode byte) hello {
	h := hello{mode: mode}
	for i := range h.nonce {
		h.nonce[i] = byte(i)
	}
	if mode == modeToken {
		h.tokenID = "0123456789abcdef"
	}
	return h
}

func TestDecodeHello(t *testing.T) {
	good := validHello(modeToken).encode()[5:]
	tests := []struct {
		name string
		body []byte
		ok   bool
	}{
		{"authkey mode", validHello(modeAuthKey).encode()[5:], true},
		{"token mode", good, true},
		{"empty", nil, false},
		{"short nonce", good[:20], false},
		{"wrong version", append([]byte{9}, good[1:]...), false},
		{"unknown mode", append([]byte{joinVersion, 7}, good[2:]...), false},
		{"token id cut", good[:len(good)-1], false},
		{"trailing byte", append(bytes.Clone(good), 'x'), false},
		{"token id not hex", append(bytes.Clone(good[:len(good)-16]), []byte("0123456789abcdeZ")...), false},
		{"authkey mode with a token id", append([]byte{joinVersion, modeAuthKey}, good[2:]...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := decodeHello(tt.body)
			if (err == nil) != tt.ok {
				t.Fatalf("decodeHello: %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, errMalformed) {
				t.Fatalf("error %v does not wrap errMalformed", err)
			}
			if tt.ok && h.nonce != validHello(modeAuthKey).nonce {
				t.Fatalf("nonce %x", h.nonce)
			}
		})
	}
}

func TestReadFrame(t *testing.T) {
	hello := validHello(modeAuthKey).encode()
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"whole", hello, nil},
		{"empty", nil, errTruncated},
		{"header cut", hello[:3], errTruncated},
		{"body cut", hello[:len(hello)-1], errTruncated},
		{"unknown type", append([]byte{9}, hello[1:]...), errMalformed},
		{"type zero", append([]byte{0}, hello[1:]...), errMalformed},
		{"oversized", []byte{frameReply, 0xff, 0xff, 0xff, 0xff}, errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := readFrame(bytes.NewReader(tt.in))
			if !errors.Is(err, tt.want) || tt.want == nil && err != nil {
				t.Fatalf("readFrame: %v, want %v", err, tt.want)
			}
			if err == nil && (f.typ != frameHello || !bytes.Equal(f.raw, hello)) {
				t.Fatalf("frame %d %x", f.typ, f.raw)
			}
		})
	}
}

// The sealed messages authenticate both ends and bind them to the
// connection: another PSK, another server nonce (a replay on a new
// connection), a flipped bit or a frame type swap all fail.
func TestSealedMessages(t *testing.T) {
	psk := bytes.Repeat([]byte{7}, 256)
	h := validHello(modeAuthKey).encode()
	ch1 := appendFrame(nil, frameChallenge, append([]byte{joinVersion}, bytes.Repeat([]byte{1}, nonceSize)...))
	ch2 := appendFrame(nil, frameChallenge, append([]byte{joinVersion}, bytes.Repeat([]byte{2}, nonceSize)...))
	client, _ := deriveKeys(psk, h, ch1)
	server, _ := deriveKeys(psk, h, ch1)
	other, _ := deriveKeys(psk, h, ch2)
	wrong, _ := deriveKeys(bytes.Repeat([]byte{8}, 256), h, ch1)
	msg := []byte(`{"name":"n"}`)
	sealed := client.seal(client.client, frameRequest, msg)[5:]
	if got, err := server.open(server.client, frameRequest, sealed); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("open: %q %v", got, err)
	}
	flipped := bytes.Clone(sealed)
	flipped[3] ^= 1
	for _, tt := range []struct {
		name string
		open func() ([]byte, error)
	}{
		{"wrong psk", func() ([]byte, error) { return wrong.open(wrong.client, frameRequest, sealed) }},
		{"replayed on another connection", func() ([]byte, error) { return other.open(other.client, frameRequest, sealed) }},
		{"flipped bit", func() ([]byte, error) { return server.open(server.client, frameRequest, flipped) }},
		{"other direction's key", func() ([]byte, error) { return server.open(server.server, frameRequest, sealed) }},
		{"other frame type", func() ([]byte, error) { return server.open(server.client, frameReply, sealed) }},
		{"truncated", func() ([]byte, error) { return server.open(server.client, frameRequest, sealed[:len(sealed)-1]) }},
	} {
		if _, err := tt.open(); !errors.Is(err, errAuth) {
			t.Errorf("%s: %v, want errAuth", tt.name, err)
		}
	}
}

func TestDecodeJoinRequest(t *testing.T) {
	tests := []struct {
		name, in, err string
	}{
		{"good", `{"name":"n2","links":[{"link":0,"addr":"10.0.0.2"},{"link":1,"addr":"n2-ring1"}]}`, ""},
		{"not json", `{"name":`, "malformed"},
		{"no name", `{"links":[{"link":0,"addr":"10.0.0.2"}]}`, "node name"},
		{"bad name", `{"name":"a b","links":[{"link":0,"addr":"10.0.0.2"}]}`, "node name"},
		{"no links", `{"name":"n2"}`, "no link"},
		{"link twice", `{"name":"n2","links":[{"link":0,"addr":"a"},{"link":0,"addr":"b"}]}`, "given twice"},
		{"link out of range", `{"name":"n2","links":[{"link":8,"addr":"a"}]}`, "out of range"},
		{"bad address", `{"name":"n2","links":[{"link":0,"addr":"x y{"}]}`, "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeJoinRequest([]byte(tt.in))
			if (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("decodeJoinRequest: %v, want %q", err, tt.err)
			}
		})
	}
}

func TestParseToken(t *testing.T) {
	tok, id, rec, err := newToken("n1", fixedNow, DefaultTokenTTL)
	if err != nil {
		t.Fatal(err)
	}
	gid, secret, err := parseToken(tok)
	if err != nil || gid != id || !bytes.Equal(tokenPSK(gid, secret), rec.PSK) {
		t.Fatalf("parseToken(%q) = %q, %v", tok, gid, err)
	}
	for _, bad := range []string{"", "qjt1", "qjt2." + tok[5:], tok + "x", strings.Replace(tok, ".", ":", 1), tok[:len(tok)-2]} {
		if _, _, err := parseToken(bad); !errors.Is(err, errTokenFormat) {
			t.Errorf("parseToken(%q): %v, want errTokenFormat", bad, err)
		}
	}
}

// FuzzJoinDecode feeds untrusted bytes to everything the join listener
// and client decode before authentication: frames, hello, challenge,
// refusal, the (authenticated) request, and tokens. None may panic.
func FuzzJoinDecode(f *testing.F) {
	f.Add(validHello(modeAuthKey).encode())
	f.Add(validHello(modeToken).encode())
	f.Add(appendFrame(nil, frameChallenge, append([]byte{joinVersion}, make([]byte, nonceSize)...)))
	f.Add(appendFrame(nil, frameRefused, []byte("no")))
	req, _ := json.Marshal(JoinRequest{Name: "n2", Links: []JoinLink{{Link: 0, Addr: "10.0.0.2"}}})
	f.Add(req)
	f.Add([]byte("qjt1.0123456789abcdef.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			fr, err := readFrame(r)
			if err != nil {
				break
			}
			if len(fr.raw) != 5+len(fr.body) {
				t.Fatalf("frame of %d bytes with a %d-byte body", len(fr.raw), len(fr.body))
			}
			switch fr.typ {
			case frameHello:
				if h, err := decodeHello(fr.body); err == nil && !bytes.Equal(h.encode(), fr.raw) {
					t.Fatalf("hello does not re-encode to its bytes")
				}
			case frameChallenge:
				decodeChallenge(fr.body)
			case frameRefused:
				decodeRefusal(fr.body)
			}
		}
		decodeJoinRequest(b)
		if id, secret, err := parseToken(string(b)); err == nil && (len(id) != 16 || len(secret) != 32) {
			t.Fatalf("parseToken accepted id %q and a %d-byte secret", id, len(secret))
		}
	})
}
