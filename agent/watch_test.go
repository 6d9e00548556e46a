package agent

import (
	"reflect"
	"testing"

	"github.com/quorate/quorate/engine/store"
)

func snap(version uint64, kv ...any) store.Snapshot {
	s := store.Snapshot{Version: version}
	for i := 0; i < len(kv); i += 2 {
		s.Entries = append(s.Entries, store.Record{Key: kv[i].(string), Entry: store.Entry{Version: uint64(kv[i+1].(int))}})
	}
	return s
}

// TestStoreChanges: the watch stream's store events between two states.
func TestStoreChanges(t *testing.T) {
	for _, tt := range []struct {
		name     string
		old, cur store.Snapshot
		want     []storeChange
	}{
		{"nothing", snap(3, "a", 1, "b", 3), snap(3, "a", 1, "b", 3), nil},
		{"a new entry", snap(3, "b", 3), snap(4, "a", 4, "b", 3), []storeChange{{"a", "put", 4}}},
		{"changed and removed", snap(5, "a", 1, "b", 3, "c", 5), snap(7, "a", 6, "c", 5), []storeChange{{"a", "put", 6}, {"b", "delete", 7}}},
		{"everything gone", snap(2, "a", 1, "b", 2), snap(3), []storeChange{{"a", "delete", 3}, {"b", "delete", 3}}},
		{"from empty", snap(0), snap(2, "x", 1, "y", 2), []storeChange{{"x", "put", 1}, {"y", "put", 2}}},
		{"renamed", snap(4, "a.new", 4, "b", 2), snap(5, "a", 5, "b", 2), []storeChange{{"a", "put", 5}, {"a.new", "delete", 5}}},
	} {
		if got := storeChanges(tt.old, tt.cur); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
