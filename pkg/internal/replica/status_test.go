package replica_test

import (
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/replica"
	"github.com/shoalmesh/shoal/pkg/internal/store"
)

// Members named by host, as containers on a docker network are: every
// member's status names the leader as the group was given it (its --raft
// address, among Members and equal to its Self), not the IP that
// hashicorp/raft resolves the name to. A follower matches that name with
// the leader's announcement to find its API.
func TestStatusNamesLeaderByHost(t *testing.T) {
	var peers []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ln.Close()
		peers = append(peers, "localhost:"+port)
	}
	var reps []*replica.Replica
	for _, p := range peers {
		dir := t.TempDir()
		st, err := store.Open(filepath.Join(dir, "gateway.db"), store.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := replica.Open(replica.Config{Dir: filepath.Join(dir, "raft"), Bind: p, Peers: peers, Store: st, Timeouts: 500 * time.Millisecond})
		if err != nil {
			st.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { rep.Close(); st.Close() })
		reps = append(reps, rep)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var leader string
		var views []string
		for _, r := range reps {
			st := r.Status()
			if st.State == "leader" {
				leader = st.Self
			}
			views = append(views, st.Leader)
		}
		if leader != "" && !slices.ContainsFunc(views, func(v string) bool { return v != leader }) {
			if !slices.Contains(peers, leader) {
				t.Fatalf("the leader %s is not among the members %v", leader, peers)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader that every member names as the group was given it (%s): leader %q, views %v", strings.Join(peers, ","), leader, views)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
