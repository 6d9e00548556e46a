package totem

import (
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// TestJoinRestartsSender: the one case where a JOIN that changes nothing
// does not restart GATHER is when my JOIN would restart its sender in turn,
// so that the two would restart each other for ever.
func TestJoinRestartsSender(t *testing.T) {
	ids := func(v ...wire.NodeID) []wire.NodeID { return v }
	r := &Ring{self: 2}
	for _, tc := range []struct {
		name             string
		jProc, jFailed   []wire.NodeID
		myProc, myFailed []wire.NodeID
		want             bool
	}{
		{"sender fails more: my JOIN is a subset of its", ids(1, 2, 3, 4), ids(4), ids(1, 2, 3, 4), nil, false},
		{"sender knows more nodes too", ids(1, 2, 3, 4, 5), ids(4), ids(1, 2, 3, 4), ids(4), false},
		{"equal lists", ids(1, 2, 3), ids(3), ids(1, 2, 3), ids(3), false},
		{"incomparable failed lists", ids(1, 2, 3, 4, 5), ids(4), ids(1, 2, 3, 4, 5), ids(5), true},
		{"I know a node the sender does not", ids(1, 2, 3), ids(3), ids(1, 2, 3, 4), ids(3), true},
		{"sender failed me: it ignores my JOIN", ids(1, 2, 3, 4, 5), ids(2, 4), ids(1, 2, 3, 4, 5), ids(5), false},
	} {
		j := &Join{Sender: 1, Origin: 1, ProcList: tc.jProc, FailedList: tc.jFailed}
		if got := r.joinRestartsSender(j, tc.myProc, tc.myFailed); got != tc.want {
			t.Errorf("%s: joinRestartsSender = %v, want %v", tc.name, got, tc.want)
		}
	}
}
