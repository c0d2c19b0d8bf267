package gateway

import (
	"testing"
	"time"
)

// TestGarbageBeforeDialReturns: an upstream whose reader delivers an invalid message while
// Dial is still returning (a child that prints garbage as it starts) has that connection
// closed and is dialled again; with -race, no race on the leg's connection.
func TestGarbageBeforeDialReturns(t *testing.T) {
	f := newFake("a", "echo")
	f.garbageDials.Store(1)
	newGateway(t, []UpstreamSpec{shared(f)})
	first := f.conn(t, 0)
	select {
	case <-first.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection that delivered garbage was not closed")
	}
	f.conn(t, 1) // dialled again
	if n := f.dials.Load(); n < 2 {
		t.Fatalf("%d dials, want a second one", n)
	}
}
