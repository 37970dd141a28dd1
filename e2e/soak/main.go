// Command soak runs a gateway and workers of the real shoal binary on
// 127.0.0.1 under mixed load for a while (make soak, SOAK=10m): task
// submits (the C hash puzzle, hello), output floods up to the gateway's
// --max-output, tasks with 10-60 MB of stdin, a browser's polling of the
// dashboard, and a worker killed with kill -9 and restarted every
// -kill-every. Every accepted task is checked when it ends: exactly its
// repeats, all succeeded, the right results; then it is purged
// (DELETE /tasks/{id}?purge=1). Every 10 s it samples the gateway's RSS
// and its database file's size, and at the end prints them, the first
// minute against the last, and the lost and duplicated runs: all should be
// flat and zero. It exits 1 if a run was lost, duplicated, failed or wrong.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/shoalmesh/shoal/wasm"
)

func main() {
	bin := flag.String("shoal", "bin/shoal", "the shoal binary (make build)")
	duration := flag.Duration("duration", 10*time.Minute, "how long the load runs")
	workers := flag.Int("workers", 3, "workers")
	slots := flag.Int("slots", 2, "slots per worker")
	killEvery := flag.Duration("kill-every", 30*time.Second, "kill -9 a worker this often, and restart it")
	maxOutput := flag.Int("max-output", 1<<20, "the gateway's --max-output; floods print up to twice this")
	drain := flag.Duration("drain", 3*time.Minute, "after the load, how long to wait for the tasks in flight")
	dir := flag.String("dir", "", "where the nodes keep their data and logs (default: a new temporary directory, removed if all went well)")
	flag.Parse()
	os.Exit(run(*bin, *dir, *duration, *workers, *slots, *killEvery, *maxOutput, *drain))
}

// sample is one row of the table.
type sample struct {
	at                       time.Duration
	rss, db                  float64
	accepted, checked, queue int
}

func run(bin, dir string, duration time.Duration, workers, slots int, killEvery time.Duration, maxOutput int, drain time.Duration) int {
	if _, err := os.Stat(bin); err != nil {
		fmt.Fprintf(os.Stderr, "soak: %v (make build first)\n", err)
		return 2
	}
	keep := dir != ""
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "shoal-soak"); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 2
		}
	}
	c, err := startCluster(bin, dir, workers, slots, maxOutput)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 2
	}
	defer c.stop()
	hc := &http.Client{Timeout: 5 * time.Minute}
	led := newLedger(c.url, maxOutput)
	ld := &load{url: c.url, hc: hc, ledger: led, modules: map[kind]string{}}
	for k, m := range map[kind][]byte{kindHash: wasm.HashC, kindHello: wasm.Hello, kindStdin: wasm.Hello, kindFlood: wasm.Flood} {
		if ld.modules[k], err = putModule(hc, c.url, m); err != nil {
			fmt.Fprintln(os.Stderr, "soak:", err)
			return 2
		}
	}
	if err := waitWorkers(hc, c.url, workers); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		return 2
	}
	fmt.Printf("soak: %v of mixed load on a gateway (%s) and %d workers of %d slots; a worker killed every %v; data and logs in %s\n",
		duration, c.url, workers, slots, killEvery, dir)

	start := time.Now()
	ctx, stopLoad := context.WithTimeout(context.Background(), duration)
	defer stopLoad()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Println("soak: interrupted: stopping the load, then the report")
		stopLoad()
	}()

	var samples []sample
	var smu sync.Mutex
	take := func() {
		s := sample{at: time.Since(start), rss: c.rssMB(), db: c.dbMB(), accepted: led.count("accepted"), checked: led.count("checked"), queue: led.inFlight()}
		smu.Lock()
		samples = append(samples, s)
		smu.Unlock()
		fmt.Printf("%7s  rss %6.1f MiB  db %7.1f MiB  accepted %6d  checked %6d  in flight %5d\n",
			s.at.Round(time.Second), s.rss, s.db, s.accepted, s.checked, s.queue)
	}

	var wg sync.WaitGroup
	kills := 0
	for _, fn := range []func(context.Context){ld.hashes, ld.hashes, ld.hellos, ld.floods, ld.bigStdin, ld.browse, ld.browse,
		func(ctx context.Context) { every(ctx, time.Second, func() { led.checkEnded() }) },
		func(ctx context.Context) {
			t := time.NewTicker(killEvery)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				w := c.workers[rand.IntN(len(c.workers))]
				w.kill()
				kills++
				time.Sleep(2 * time.Second)
				if err := w.run(); err != nil {
					led.note("restart %s: %v", w.name, err)
				}
			}
		},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx)
		}()
	}
	go every(ctx, 10*time.Second, take)
	wg.Wait()

	fmt.Printf("soak: load stopped after %v; waiting up to %v for the %d tasks in flight\n", time.Since(start).Round(time.Second), drain, led.inFlight())
	deadline := time.Now().Add(drain)
	for led.inFlight() > 0 && time.Now().Before(deadline) {
		led.checkEnded()
		time.Sleep(time.Second)
	}
	take()
	led.mu.Lock()
	for _, e := range led.pending {
		led.counts["lost"] += e.repeats
		if len(led.notes) < 20 {
			led.notes = append(led.notes, fmt.Sprintf("%s (%s): not ended %v after the load", e.id, e.kind, drain))
		}
	}
	led.mu.Unlock()

	code := report(samples, led, ld, kills)
	if code == 0 && !keep {
		c.stop()
		os.RemoveAll(dir)
	} else {
		fmt.Printf("the nodes' data and logs are kept in %s\n", dir)
	}
	return code
}

// waitWorkers waits until the gateway's pool has n workers.
func waitWorkers(hc *http.Client, url string, n int) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var ws []json.RawMessage
		if resp, err := hc.Get(url + "/workers"); err == nil {
			json.NewDecoder(resp.Body).Decode(&ws)
			resp.Body.Close()
		}
		if len(ws) >= n {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%d workers did not join the gateway in 30 s", n)
}
