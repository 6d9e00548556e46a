package agent

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/totem"
)

// The delivery log (Options.Deliveries, `quorate agent --deliveries`): one
// JSON line per item of the total order the agent delivered (messages and
// configuration changes) and per load message it multicast, so that the
// simulator's ordering checkers (total order, agreement, virtual
// synchrony, self-delivery) can judge real agents (`quorate lab`). Like the
// journal, each line is one write(2) on a file opened with O_APPEND, so a
// killed agent loses at most the line being written, and nothing is
// fsynced.

// DeliveryRecord is one line of the delivery log.
type DeliveryRecord struct {
	// T is the wall clock, Unix nanoseconds.
	T int64 `json:"t"`
	// K is the kind: "m" message, "t" transitional and "r" regular
	// configuration, "s" a load message this agent multicast.
	K string `json:"k"`
	// Ring, Seq, Part and From place a message in the total order; Ring
	// is "rep.seq" in hex, Part the message's place in the Totem message
	// at Seq (0, left out, for the first or only one). Configurations
	// carry Ring and Members.
	Ring    string   `json:"ring,omitempty"`
	Seq     uint32   `json:"seq,omitempty"`
	Part    uint16   `json:"part,omitempty"`
	From    uint32   `json:"from,omitempty"`
	Svc     byte     `json:"svc,omitempty"`
	Members []uint32 `json:"members,omitempty"`
	// Origin and LSeq identify a load message (agent/load.go): the
	// sender's run and its sequence number.
	Origin int64  `json:"origin,omitempty"`
	LSeq   uint64 `json:"lseq,omitempty"`
}

// Delivery kinds of DeliveryRecord.K.
const (
	DeliveryMessage      = "m"
	DeliveryTransitional = "t"
	DeliveryRegular      = "r"
	DeliverySent         = "s"
)

type deliveryLog struct {
	f     *os.File
	log   *slog.Logger
	wrote bool // a write failure has been logged
}

func openDeliveryLog(path string, log *slog.Logger) (*deliveryLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("agent: delivery log: %w", err)
	}
	return &deliveryLog{f: f, log: log}, nil
}

func (d *deliveryLog) write(r DeliveryRecord) {
	if d == nil {
		return
	}
	r.T = time.Now().UnixNano()
	b, err := json.Marshal(r)
	if err == nil {
		_, err = d.f.Write(append(b, '\n'))
	}
	if err != nil && !d.wrote {
		d.wrote = true
		d.log.Error("delivery log write failed; the agent runs on", "err", err)
	}
}

// delivered records one item of the total order.
func (d *deliveryLog) delivered(dl engine.Delivery) {
	if d == nil {
		return
	}
	r := DeliveryRecord{Ring: fmt.Sprintf("%x.%x", uint32(dl.RingID.Rep), dl.RingID.Seq)}
	switch dl.Kind {
	case totem.DeliverMessage:
		r.K, r.Seq, r.Part, r.From, r.Svc = DeliveryMessage, dl.Seq, dl.Part, uint32(dl.Sender), dl.Service
		if p := dl.Payload; dl.Service == engine.ServiceApp && len(p) >= loadHeaderLen && [4]byte(p[:4]) == loadMagic {
			r.Origin, r.LSeq = int64(binary.BigEndian.Uint64(p[4:])), binary.BigEndian.Uint64(p[12:])
		}
	case totem.DeliverTransitional, totem.DeliverRegular:
		r.K = DeliveryTransitional
		if dl.Kind == totem.DeliverRegular {
			r.K = DeliveryRegular
		}
		for _, m := range dl.Members {
			r.Members = append(r.Members, uint32(m))
		}
	default:
		return
	}
	d.write(r)
}

// sent records a load message this agent multicast.
func (d *deliveryLog) sent(origin int64, seq uint64) {
	d.write(DeliveryRecord{K: DeliverySent, Origin: origin, LSeq: seq})
}

func (d *deliveryLog) close() {
	if d != nil {
		d.f.Close()
	}
}
