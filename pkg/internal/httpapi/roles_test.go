package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shoalmesh/shoal/pkg/api"
	"github.com/shoalmesh/shoal/pkg/internal/meshtest"
)

const rootToken = "root-0123456789abcdef0"

// taskIDs are the ids of GET /tasks as token.
func taskIDs(t *testing.T, url, token string) string {
	t.Helper()
	code, _, b := doAuth(t, "GET", url+"/tasks?order=asc", bearer(token), "", nil)
	var ts []api.Task
	if code != 200 || json.Unmarshal(b, &ts) != nil {
		t.Fatalf("GET /tasks: %d %s", code, b)
	}
	ids := make([]string, len(ts))
	for i, x := range ts {
		ids[i] = x.ID
	}
	return strings.Join(ids, " ")
}

// An owner's token sees, follows and cancels only its own tasks: another
// owner's is not found, exactly as a task that does not exist, so a token
// cannot even tell it exists. An admin's token sees and cancels all, and
// alone reads the metrics.
func TestOwnersSeeOnlyTheirTasks(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{Tokens: MustTokens(t,
		"alice "+aliceToken+"\nbob "+bobToken+"\nroot "+rootToken+" role=admin\n")})
	for _, c := range []struct{ id, token string }{{"a1", aliceToken}, {"b1", bobToken}, {"r1", rootToken}} {
		ct, body := multipartBody(hash, part{name: "id", value: c.id}, part{name: "start", value: "3600"})
		if code, _, b := doAuth(t, "POST", m.URL+"/tasks", bearer(c.token), ct, body); code != 201 {
			t.Fatalf("submit %s: %d %s", c.id, code, b)
		}
	}
	for token, want := range map[string]string{aliceToken: "a1", bobToken: "b1", rootToken: "a1 b1 r1"} {
		if got := taskIDs(t, m.URL, token); got != want {
			t.Errorf("GET /tasks as %s: %q, want %q", token[:4], got, want)
		}
	}

	// What alice gets for bob's task is what she gets for no task at all.
	_, _, none := doAuth(t, "GET", m.URL+"/tasks/zz", bearer(aliceToken), "", nil)
	wantBody := strings.ReplaceAll(string(none), "zz", "b1")
	for _, c := range []struct{ method, path string }{
		{"GET", "/tasks/b1"},
		{"GET", "/tasks/b1?wait=30"}, // answered at once, not after waiting
		{"GET", "/tasks/b1/logs"},
		{"GET", "/tasks/b1/logs?follow=1"},
		{"DELETE", "/tasks/b1"},
	} {
		code, _, b := doAuth(t, c.method, m.URL+c.path, bearer(aliceToken), "", nil)
		if code != 404 || string(b) != wantBody {
			t.Errorf("alice %s %s: %d %s, want 404 %s", c.method, c.path, code, b, wantBody)
		}
	}
	if v := getTaskAuth(t, m.URL, "b1", rootToken); v.Status != "scheduled" || v.Owner != "bob" {
		t.Fatalf("b1 after alice's cancel: %s owner %q, want scheduled, bob's", v.Status, v.Owner)
	}

	// Her own task, and every task for the admin.
	for _, c := range []struct{ method, path, token string }{
		{"GET", "/tasks/a1", aliceToken},
		{"GET", "/tasks/a1/logs", aliceToken},
		{"GET", "/tasks/b1", rootToken},
		{"GET", "/tasks/b1/logs", rootToken},
		{"DELETE", "/tasks/a1", rootToken},
		{"DELETE", "/tasks/b1", bobToken},
		{"GET", "/workers", aliceToken},
		{"GET", "/metrics", rootToken},
	} {
		if code, _, b := doAuth(t, c.method, m.URL+c.path, bearer(c.token), "", nil); code != 200 {
			t.Errorf("%s %s as %s: %d %s, want 200", c.method, c.path, c.token[:4], code, b)
		}
	}
	if v := getTaskAuth(t, m.URL, "a1", aliceToken); v.Status != "canceled" {
		t.Errorf("a1 after the admin's cancel: %s", v.Status)
	}

	// The metrics count every owner's runs: an admin's only.
	code, _, b := doAuth(t, "GET", m.URL+"/metrics", bearer(aliceToken), "", nil)
	var e api.Error
	if code != 403 || json.Unmarshal(b, &e) != nil || e.Code != api.CodeForbidden || !strings.Contains(e.Message, "role admin") {
		t.Errorf("GET /metrics as alice: %d %s, want 403 forbidden", code, b)
	}
}

// Without a token file every request sees every task, as before roles.
func TestNoTokensSeeEverything(t *testing.T) {
	m := meshtest.Start(t, meshtest.Options{})
	for _, id := range []string{"x", "y"} {
		ct, body := multipartBody(hash, part{name: "id", value: id}, part{name: "start", value: "3600"})
		if code, _, b := doAuth(t, "POST", m.URL+"/tasks", "", ct, body); code != 201 {
			t.Fatalf("submit %s: %d %s", id, code, b)
		}
	}
	for _, path := range []string{"/tasks/x", "/tasks/y/logs", "/metrics"} {
		if code, _, b := doAuth(t, "GET", m.URL+path, "", "", nil); code != 200 {
			t.Errorf("GET %s: %d %s", path, code, b)
		}
	}
	if code, _, b := doAuth(t, "DELETE", m.URL+"/tasks/y", "", "", nil); code != 200 {
		t.Errorf("DELETE /tasks/y: %d %s", code, b)
	}
}
