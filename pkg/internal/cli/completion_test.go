package cli_test

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// MustCompletion writes `shoal completion SHELL` to a file and checks its
// syntax with SHELL -n.
func MustCompletion(tb testing.TB, shell string) string {
	tb.Helper()
	r := shoal(tb, "completion", shell)
	r.want(tb, 0, []string{"_shoal"}, nil)
	file := MustWriteFile(tb, "shoal."+shell, []byte(r.stdout))
	if out, err := exec.Command(shell, "-n", file).CombinedOutput(); err != nil {
		tb.Fatalf("%s -n: %v\n%s", shell, err, out)
	}
	return file
}

// complete runs the bash completion function on words with the cursor on
// the last word, and returns what it offers.
func complete(tb testing.TB, script string, words ...string) []string {
	tb.Helper()
	const run = `source "$1"; COMP_CWORD=$2; shift 2; COMP_WORDS=("$@"); _shoal; printf '%s\n' "${COMPREPLY[@]}"`
	args := append([]string{"--norc", "--noprofile", "-c", run, "bash", script, strconv.Itoa(len(words) - 1)}, words...)
	out, err := exec.Command("bash", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("completing %q: %v\n%s", words, err, out)
	}
	return strings.Fields(string(out))
}

func TestCompletionBash(t *testing.T) {
	script := MustCompletion(t, "bash")

	// Every command of `shoal help`, and nothing else.
	var commands []string
	inList := false
	for _, line := range strings.Split(shoal(t, "help").stdout, "\n") {
		switch {
		case line == "Commands:":
			inList = true
		case inList && strings.HasPrefix(line, "  "):
			commands = append(commands, strings.Fields(line)[0])
		default:
			inList = false
		}
	}
	if got := complete(t, script, "shoal", ""); len(commands) < 10 || !slices.Equal(got, commands) {
		t.Errorf("commands: %q, want %q", got, commands)
	}

	for _, c := range []struct {
		words []string
		want  []string
	}{
		{[]string{"shoal", "ga"}, []string{"gateway", "gateways"}},
		{[]string{"shoal", "cluster", ""}, []string{"clean-up", "create", "deploy", "destroy", "list", "run", "status", "stop"}},
		{[]string{"shoal", "cluster", "run", "--d"}, []string{"--detached"}},
		{[]string{"shoal", "work"}, []string{"worker", "workers"}},
		{[]string{"shoal", "gateway", "--task-t"}, []string{"--task-timeout"}},
		{[]string{"shoal", "worker", "--slots", "2", "--con"}, []string{"--config"}},
		{[]string{"shoal", "logs", "ID", "-"}, []string{"--ca-file", "-f", "--gateway", "--raw", "--token-file"}},
		{[]string{"shoal", "gateway", "--config", ""}, nil}, // file names, by complete -o default
		{[]string{"shoal", "submit", "--json", ""}, nil},
		{[]string{"shoal", "version", "-"}, nil},
		{[]string{"shoal", "job", ""}, []string{"cancel", "get", "submit"}},
		{[]string{"shoal", "job", "-"}, []string{"--ca-file", "--gateway", "--json", "--token-file"}},
		{[]string{"shoal", "job", "submit", "job.json", "--w"}, []string{"--wait"}},
		{[]string{"shoal", "job", "get", "ID", "--o"}, []string{"--output"}},
		{[]string{"shoal", "module", "p"}, []string{"put"}},
		{[]string{"shoal", "module", "put", "--n"}, []string{"--name"}},
	} {
		if got := complete(t, script, c.words...); !slices.Equal(got, c.want) {
			t.Errorf("completing %q: %q, want %q", c.words, got, c.want)
		}
	}
}

func TestCompletionZsh(t *testing.T) {
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("zsh is not installed")
	}
	MustCompletion(t, "zsh")
}

func TestCompletionUsage(t *testing.T) {
	shoal(t, "completion").want(t, 2, nil, []string{"Usage: shoal completion bash|zsh"})
	shoal(t, "completion", "fish").want(t, 2, nil, []string{"Usage: shoal completion bash|zsh"})
}
