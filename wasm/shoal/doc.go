// Package shoal is the guest side of Shoal's processes (docs/PROCESSES.md)
// for Go programs built with GOOS=wasip1 GOARCH=wasm: a run spawns
// children anywhere in the cluster, talks with each over a pair of
// ordered, reliable channels, and waits for them.
//
// A parent spawns a copy of its own module, telling it by its arguments
// that it is the child, and trades a message with it:
//
//	if len(os.Args) > 1 && os.Args[1] == "child" {
//		msg, err := shoal.Parent().Recv()
//		if err != nil {
//			log.Fatal(err)
//		}
//		shoal.Parent().Send(append([]byte("echo "), msg...))
//		return
//	}
//	child, err := shoal.Spawn(shoal.SpawnOptions{Args: []string{"child"}, Cores: "1/16", Memory: "32MiB"})
//	if err != nil {
//		log.Fatal(err) // say "shoal: spawn: spawn refused: no worker has the label gpu=1"
//	}
//	child.Send([]byte("hi"))
//	reply, err := child.RecvTimeout(10 * time.Second)
//	...
//	code, err := child.Wait()
//
// Every failure is an *Error wrapping one of the ErrXxx values, with the
// host's explanation: test it with errors.Is(err, shoal.ErrClosed), print
// it to learn why.
//
// The calls take no context.Context: a call blocks the whole module (Go's
// wasip1 port runs every goroutine on one thread), so nothing in the guest
// could cancel it. They end when their run is canceled or reaches its time
// limit, and the run then ends.
//
// Built for any other GOOS, the package compiles and every call fails with
// ErrUnsupported, so that code using it can be tested natively; so does a
// module run by a worker without a process host.
//
// Other languages use the same host functions: wasm/include/shoal.h
// declares them for C.
package shoal
