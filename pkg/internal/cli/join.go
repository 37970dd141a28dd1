package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/shoalmesh/shoal/pkg/internal/join"
	"github.com/shoalmesh/shoal/pkg/internal/worker"
)

// whereTokens says where a gateway's join token is, for messages.
const whereTokens = "the gateway writes it to DATA/join-token (DATA: its --data) and prints it on its start line as join-token=..."

// joinFlags are a worker's flags for its gateway's join token.
type joinFlags struct {
	token, file string
}

func (j *joinFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&j.token, "join-token", "", "the gateway's join token (SHOAL1....): proves this worker belongs to its cluster; "+whereTokens+" (not needed on a private network: --swarm-key)")
	fs.StringVar(&j.file, "join-token-file", "", "read the join token from this file, e.g. the gateway's DATA/join-token; a file that does not exist yet is waited for")
}

// tokenPoll is how often a worker looks for a join token file that does
// not exist yet.
const tokenPoll = 200 * time.Millisecond

// load returns the join token the flags give, nil for none. A token file
// that does not exist yet (a gateway that has not started, on a volume
// both share) is waited for until ctx ends.
func (j *joinFlags) load(ctx context.Context, log *slog.Logger) (*join.Token, error) {
	switch {
	case j.token != "" && j.file != "":
		return nil, errors.New("--join-token and --join-token-file: give one of them")
	case j.token != "":
		t, err := join.Parse(j.token)
		if err != nil {
			return nil, fmt.Errorf("--join-token: %w", err)
		}
		return &t, nil
	case j.file == "":
		return nil, nil
	}
	waiting := false
	for {
		t, err := join.ReadFile(j.file)
		switch {
		case err == nil:
			return &t, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("--join-token-file: %w", err)
		case !waiting:
			log.Info("waiting for the join token file", "file", j.file)
			waiting = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("--join-token-file %s: stopped while waiting for it to exist", j.file)
		case <-time.After(tokenPoll):
		}
	}
}

// notAdmitted is a worker's message when its gateway refused it: why, and
// what to do about it.
func notAdmitted(e *worker.NotAdmittedError) string {
	if !e.HadToken {
		return fmt.Sprintf("%v\n  give the worker the gateway's join token: --join-token TOKEN or --join-token-file FILE; %s", e, whereTokens)
	}
	return fmt.Sprintf("%v\n  check the worker's join token: it must be the one of this gateway; %s", e, whereTokens)
}

// gatewayJoin loads (or on the first start makes) the gateway's join
// token in its data directory and, with export, writes a copy there too.
func gatewayJoin(dataDir, export string, nd *node) (join.Token, error) {
	t, created, err := join.LoadOrCreate(dataDir, nd.host.ID())
	if err != nil {
		return join.Token{}, err
	}
	if created {
		nd.log.Info("made the cluster's join token; workers need it to join", "file", filepath.Join(dataDir, join.File))
	}
	if export != "" {
		if err := join.Export(export, t); err != nil {
			return join.Token{}, fmt.Errorf("--export-join-token: %w", err)
		}
	}
	return t, nil
}
