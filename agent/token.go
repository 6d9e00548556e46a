package agent

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/store"
)

// Join tokens let a new node prove it may join without holding the cluster
// authkey: `quorate join-token` on a member draws a token id and a 256-bit
// secret, keeps only a key derived from the secret in the replicated store
// under tokenPrefix+id with an expiry, and prints "qjt1.<id>.<secret>". The
// token is single use: the join consumes it with a compare-and-set before
// it changes the cluster configuration, so two joins with one token cannot
// both succeed, whichever members they talk to.

// DefaultTokenTTL is how long a join token stays valid unless --ttl says
// otherwise.
const DefaultTokenTTL = time.Hour

// maxTokenTTL bounds --ttl.
const maxTokenTTL = 7 * 24 * time.Hour

// tokenPrefix is where the tokens live in the store (pmxcfs keeps its
// secrets under priv/).
const tokenPrefix = "priv/join-token/"

const tokenVersion = "qjt1"

// tokenRecord is a token's value in the store.
type tokenRecord struct {
	PSK     []byte    `json:"psk"` // tokenPSK of the secret
	Expires time.Time `json:"expires"`
	Issuer  string    `json:"issuer"`
	UsedBy  string    `json:"used_by,omitempty"` // the node that joined with it
}

// Token errors, as the join server logs and counts them.
var (
	errTokenFormat  = errors.New("malformed join token")
	errTokenUnknown = errors.New("unknown join token")
	errTokenExpired = errors.New("join token expired")
	errTokenUsed    = errors.New("join token already used")
)

// parseToken splits "qjt1.<id>.<secret>" into the id and the secret.
func parseToken(s string) (id string, secret []byte, err error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 3 || parts[0] != tokenVersion || len(parts[1]) != 16 {
		return "", nil, errTokenFormat
	}
	if _, err := hex.DecodeString(parts[1]); err != nil {
		return "", nil, errTokenFormat
	}
	secret, err = base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(secret) != 32 {
		return "", nil, errTokenFormat
	}
	return parts[1], secret, nil
}

// tokenPSK is the key both ends of a token join authenticate with: it is
// derived from the secret, so the store never holds the secret itself.
func tokenPSK(id string, secret []byte) []byte {
	k, err := hkdf.Key(sha256.New, secret, []byte("quorate join token"), id, 32)
	if err != nil {
		panic("agent: hkdf with a fixed length failed: " + err.Error())
	}
	return k
}

// newToken draws a token: its printed form, id and store record.
func newToken(issuer string, now time.Time, ttl time.Duration) (string, string, tokenRecord, error) {
	var raw [8 + 32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", "", tokenRecord{}, fmt.Errorf("agent: draw join token: %w", err)
	}
	id := hex.EncodeToString(raw[:8])
	secret := raw[8:]
	tok := tokenVersion + "." + id + "." + base64.RawURLEncoding.EncodeToString(secret)
	return tok, id, tokenRecord{PSK: tokenPSK(id, secret), Expires: now.Add(ttl).UTC().Truncate(time.Second), Issuer: issuer}, nil
}

// joinToken is `quorate join-token`: the token is written through the
// total order (so it needs quorum) and printed once committed.
func (l *loop) joinToken(ttlSeconds int, reply func(Response)) (Response, bool) {
	ttl := time.Duration(ttlSeconds) * time.Second
	switch {
	case ttlSeconds == 0:
		ttl = DefaultTokenTTL
	case ttl < 0 || ttl > maxTokenTTL:
		return Response{Error: fmt.Sprintf("the token lifetime must be between 1 s and %v", maxTokenTTL), BadRequest: true}, false
	}
	now := time.Now()
	tok, id, rec, err := newToken(l.cl.name, now, ttl)
	if err != nil {
		return Response{Error: err.Error()}, false
	}
	l.pruneTokens(now)
	b, _ := json.Marshal(rec)
	op, err := l.node.CompareAndSet(l.now(), tokenPrefix+id, 0, b)
	if err != nil {
		return Response{Error: storeErrWords(err)}, false
	}
	l.pending[op] = func(r store.Result) {
		if !r.OK {
			reply(Response{Error: "join token not stored: " + storeErrWords(r.Err)})
			return
		}
		l.log.Info("join token issued", "node", l.cl.name, "token_id", id, "expires", rec.Expires.Format(time.RFC3339))
		reply(Response{OK: true, Token: tok, Expires: rec.Expires.Format(time.RFC3339)})
	}
	return Response{}, true
}

// pruneTokens removes the tokens that expired before now from the store,
// so that issuing tokens does not grow it without bound. A used token stays
// until it expires, so that a second join with it is told "already used".
// The removals go through the total order like any write; their results
// are not waited for (a lost one is retried at the next issue).
func (l *loop) pruneTokens(now time.Time) {
	for _, r := range l.disk.Store.Entries {
		if !strings.HasPrefix(r.Key, tokenPrefix) {
			continue
		}
		var rec tokenRecord
		if err := json.Unmarshal(r.Value, &rec); err == nil && !now.After(rec.Expires) {
			continue
		}
		if _, err := l.node.Delete(l.now(), r.Key); err != nil {
			return
		}
		l.log.Debug("expired join token removed", "node", l.cl.name, "key", r.Key)
	}
}

// lookupToken reads token id's record from the local replica (loop
// goroutine) and checks it is still usable.
func (l *loop) lookupToken(id string, now time.Time) (tokenRecord, uint64, error) {
	e, ok := l.node.ReadLocal(tokenPrefix + id)
	if !ok {
		return tokenRecord{}, 0, errTokenUnknown
	}
	var rec tokenRecord
	if err := json.Unmarshal(e.Value, &rec); err != nil || len(rec.PSK) != 32 {
		return tokenRecord{}, 0, errTokenUnknown
	}
	switch {
	case rec.UsedBy != "":
		return rec, e.Version, errTokenUsed
	case now.After(rec.Expires):
		return rec, e.Version, errTokenExpired
	}
	return rec, e.Version, nil
}

// consumeToken marks token id used by node name, if its record is still at
// version; done gets errTokenUsed when another join took it first.
func (l *loop) consumeToken(id string, version uint64, rec tokenRecord, name string, done func(error)) {
	rec.UsedBy = name
	b, _ := json.Marshal(rec)
	op, err := l.node.CompareAndSet(l.now(), tokenPrefix+id, version, b)
	if err != nil {
		done(errors.New(storeErrWords(err)))
		return
	}
	l.pending[op] = func(r store.Result) {
		switch {
		case r.OK:
			done(nil)
		case errors.Is(r.Err, store.ErrConflict):
			done(errTokenUsed)
		default:
			done(errors.New(storeErrWords(r.Err)))
		}
	}
}
