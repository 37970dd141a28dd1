package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/shoalmesh/shoal/pkg/client"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
)

// testTimeout bounds every wait; tests normally finish far sooner.
const testTimeout = 30 * time.Second

func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

// MustGateway runs a real gateway and its HTTP API (package meshtest)
// until the test ends, and returns a client of it and the mesh, whose
// workers have one slot each.
func MustGateway(tb testing.TB) (*client.Client, *meshtest.Mesh) {
	tb.Helper()
	m := meshtest.Start(tb, meshtest.Options{Slots: 1})
	c, err := client.New(m.URL, m.API.Client())
	if err != nil {
		tb.Fatal(err)
	}
	return c, m
}

func ptr[T any](v T) *T { return &v }
