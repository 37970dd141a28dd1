// Command hellospawn is the smallest Shoal process tree: a parent spawns a
// copy of its own module and the two trade a message each way
// (docs/PROCESSES.md, "Examples").
//
// Run as a task it is the parent; its child runs with argv [key, "child"].
// The two print to different streams of the task's log, so the messages
// also order the prints: each side prints before the send that lets the
// other go on, and the log reads, whichever workers run them:
//
//	parent start
//	child start
//	child received: parent
//	parent received: child
//	parent end
//	child end
//
// The parent waits for the child and exits 0; any failure is printed to
// stderr with exit code 1; built natively, it fails so at its spawn
// (shoal.ErrUnsupported). It writes with os.Stdout, unbuffered, and avoids
// fmt to keep the module small.
package main

import (
	"errors"
	"os"
	"strconv"

	"github.com/shoalmesh/shoal/wasm/shoal"
)

func main() {
	var err error
	if len(os.Args) > 1 && os.Args[1] == "child" {
		err = child()
	} else {
		err = parent()
	}
	if err != nil {
		os.Stderr.WriteString("hello-spawn: " + err.Error() + "\n")
		os.Exit(1)
	}
}

func parent() error {
	say("parent start")
	c, err := shoal.Spawn(shoal.SpawnOptions{Args: []string{"child"}})
	if err != nil {
		return err
	}
	// The child prints "child received: parent" before it answers.
	if err := c.Send([]byte("parent")); err != nil {
		return err
	}
	msg, err := c.Recv()
	if err != nil {
		return err
	}
	say("parent received: " + string(msg))
	say("parent end")
	// Only now may the child print its last line.
	if err := c.Send([]byte("end")); err != nil {
		return err
	}
	code, err := c.Wait()
	if err != nil {
		return err
	}
	if code != 0 {
		return errors.New("the child exited with code " + strconv.Itoa(code))
	}
	return nil
}

func child() error {
	say("child start")
	p := shoal.Parent()
	msg, err := p.Recv()
	if err != nil {
		return err
	}
	say("child received: " + string(msg))
	if err := p.Send([]byte("child")); err != nil {
		return err
	}
	if _, err := p.Recv(); err != nil { // "end": the parent has printed its last line
		return err
	}
	say("child end")
	return nil
}

// say prints a line to stdout, which is unbuffered: the line is written
// when say returns.
func say(line string) { os.Stdout.WriteString(line + "\n") }
