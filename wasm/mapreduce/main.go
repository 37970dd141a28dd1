// Command mapreduce solves the hash puzzle of wasm/hash with a process
// tree: the parent spawns children that each search a share of the
// counters, and gathers their answers (docs/PROCESSES.md, "Examples").
//
// Puzzle: starting at counter 1, find the first counter for which the
// lowercase hex SHA-256 of decimal(input) immediately followed by
// decimal(counter) starts with difficulty '0' characters. The answer is
// the one a search in order finds: input 0 at difficulty 3 gives 2832.
//
// argv of the parent, a task's run: [id] for input 0 at difficulty 3, or
// [id, input, difficulty] as for any hash command, or [id, input,
// difficulty, children] (children 1 to 64, default 4). It prints
// "the answer is COUNTER" and exits 0.
//
// argv of a child: [key, "map", input, difficulty, start, step]. It tests
// counters start, start+step, ... in rounds (search.go), sending the
// parent one message per round: "-" for none, or the decimal counter of
// its first hit, after which it stops searching. The parent reads the
// rounds in order from every child; the smallest hit of the first round
// with any is the answer. It then sends each child "stop", reads what
// the child sent meanwhile until the child closes its side, and waits
// for it.
//
// Built natively, the program compiles and fails at its first spawn with
// shoal.ErrUnsupported.
package main

import (
	"errors"
	"io"
	"os"
	"strconv"

	"github.com/shoalmesh/shoal/wasm/shoal"
)

const usage = "usage: mapreduce ID [INPUT DIFFICULTY [CHILDREN]] (DIFFICULTY 0 to 64, CHILDREN 1 to 64)\n" +
	"       mapreduce KEY map INPUT DIFFICULTY START STEP (a child)\n"

const (
	defaultChildren = 4
	maxChildren     = 64
	maxDifficulty   = 64
)

// Messages from the parent to a child.
const stopMsg = "stop"

// noHit is a child's report of a round without an answer.
const noHit = "-"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run runs the parent or a child for args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	var err error
	switch {
	case len(args) == 6 && args[1] == "map":
		var input, difficulty, start, step int64
		if parseInts(args[2:], &input, &difficulty, &start, &step) && validDifficulty(difficulty) && start >= 1 && step >= 1 {
			err = child(input, int(difficulty), share{start: start, step: step})
			break
		}
		return badUsage(stderr)
	case len(args) <= 4:
		input, difficulty, children := int64(0), int64(3), int64(defaultChildren)
		ok := true
		switch len(args) {
		case 3:
			ok = parseInts(args[1:], &input, &difficulty)
		case 4:
			ok = parseInts(args[1:], &input, &difficulty, &children)
		case 2:
			ok = false
		}
		if !ok || !validDifficulty(difficulty) || children < 1 || children > maxChildren {
			return badUsage(stderr)
		}
		var answer int64
		if answer, err = parent(input, int(difficulty), int(children)); err == nil {
			io.WriteString(stdout, "the answer is "+strconv.FormatInt(answer, 10)+"\n")
		}
	default:
		return badUsage(stderr)
	}
	if err != nil {
		io.WriteString(stderr, "mapreduce: "+err.Error()+"\n")
		return 1
	}
	return 0
}

func badUsage(stderr io.Writer) int {
	io.WriteString(stderr, usage)
	return 2
}

func validDifficulty(d int64) bool { return d >= 0 && d <= maxDifficulty }

// parseInts parses each of args into the matching pointer.
func parseInts(args []string, into ...*int64) bool {
	for i, p := range into {
		v, err := strconv.ParseInt(args[i], 10, 64)
		if err != nil {
			return false
		}
		*p = v
	}
	return true
}

// parent spawns n children, gathers their rounds until one has a hit,
// stops them and returns the smallest hit.
func parent(input int64, difficulty, n int) (int64, error) {
	children := make([]*shoal.Process, n)
	for i := range children {
		c, err := shoal.Spawn(shoal.SpawnOptions{Args: []string{"map",
			strconv.FormatInt(input, 10), strconv.Itoa(difficulty), strconv.Itoa(i + 1), strconv.Itoa(n)}})
		if err != nil {
			return 0, err
		}
		children[i] = c
	}
	var answer int64
	for answer == 0 {
		for _, c := range children {
			msg, err := c.Recv()
			if err != nil {
				return 0, err
			}
			if string(msg) == noHit {
				continue
			}
			hit, err := strconv.ParseInt(string(msg), 10, 64)
			if err != nil || hit < 1 {
				return 0, errors.New("child " + strconv.Itoa(c.Handle()) + " sent " + strconv.Quote(string(msg)))
			}
			if answer == 0 || hit < answer {
				answer = hit
			}
		}
	}
	for _, c := range children {
		if err := stop(c); err != nil {
			return 0, err
		}
	}
	return answer, nil
}

// stop tells child c to stop, drops the rounds it reports meanwhile (it
// may be blocked sending one) until it closes its side, and waits for it.
func stop(c *shoal.Process) error {
	if err := c.Send([]byte(stopMsg)); err != nil {
		return err
	}
	for {
		if _, err := c.Recv(); errors.Is(err, shoal.ErrClosed) {
			break
		} else if err != nil {
			return err
		}
	}
	code, err := c.Wait()
	if err == nil && code != 0 {
		err = errors.New("child " + strconv.Itoa(c.Handle()) + " exited with code " + strconv.Itoa(code))
	}
	return err
}

// child searches its share round by round, reporting each round to the
// parent, until it has a hit or the parent says stop; it then waits for
// stop and closes its side.
func child(input int64, difficulty int, s share) error {
	p := shoal.Parent()
	for r := 0; ; r++ {
		msg, err := p.RecvTimeout(0)
		if err == nil && string(msg) == stopMsg {
			return p.Close()
		}
		if err == nil {
			return errors.New("the parent sent " + strconv.Quote(string(msg)))
		}
		if !errors.Is(err, shoal.ErrTimeout) {
			return err
		}
		report := noHit
		hit := s.searchRound(input, difficulty, r)
		if hit != 0 {
			report = strconv.FormatInt(hit, 10)
		}
		if err := p.Send([]byte(report)); err != nil {
			return err
		}
		if hit != 0 {
			break
		}
	}
	// The parent needs nothing more: every later counter of this share
	// is larger than the hit.
	if msg, err := p.Recv(); err != nil {
		return err
	} else if string(msg) != stopMsg {
		return errors.New("the parent sent " + strconv.Quote(string(msg)))
	}
	return p.Close()
}
