package shoal_test

import (
	"errors"
	"log"
	"os"
	"time"

	"github.com/shoalmesh/shoal/wasm/shoal"
)

// A parent spawns its own module as a child, sends it work and reads the
// answer; the child tells itself apart by its argument.
func Example() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		work, err := shoal.Parent().Recv()
		if err != nil {
			log.Fatal(err)
		}
		if err := shoal.Parent().Send(append([]byte("done: "), work...)); err != nil {
			log.Fatal(err)
		}
		return
	}
	child, err := shoal.Spawn(shoal.SpawnOptions{
		Args:    []string{"child"},
		Cores:   "1/16",
		Memory:  "32MiB",
		Near:    "parent",
		Timeout: time.Minute,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := child.Send([]byte("work")); err != nil {
		log.Fatal(err)
	}
	answer, err := child.RecvTimeout(10 * time.Second)
	if errors.Is(err, shoal.ErrTimeout) {
		log.Fatal("the child is slow")
	} else if err != nil {
		log.Fatal(err)
	}
	os.Stdout.Write(append(answer, '\n'))
	if code, err := child.Wait(); err != nil || code != 0 {
		log.Fatalf("child: exit code %d, %v", code, err)
	}
}

// A task's run is the root of its process tree: it has no parent, and its
// calls on Parent fail with ErrInvalid.
func ExampleParent() {
	if _, err := shoal.Parent().RecvTimeout(0); errors.Is(err, shoal.ErrInvalid) {
		os.Stdout.WriteString("a root process\n")
	}
}
