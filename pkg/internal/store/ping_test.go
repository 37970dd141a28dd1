package store_test

import (
	"strings"
	"testing"
)

func TestPing(t *testing.T) {
	s, _ := MustOpen(t)
	if err := s.Ping(); err != nil {
		t.Fatalf("open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(); err == nil || !strings.Contains(err.Error(), "not open") {
		t.Fatalf("closed store: %v, want an error saying it is not open", err)
	}
}
