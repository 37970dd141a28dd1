package meshtest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics are the metric families of one scrape or gather, by name, for
// tests to read values from.
type Metrics struct {
	tb       testing.TB
	families map[string]*dto.MetricFamily
}

// Scrape GETs url, a /metrics endpoint, and parses the text exposition.
func Scrape(tb testing.TB, url string) Metrics {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: not the Prometheus text format: %v", url, err)
	}
	return Metrics{tb: tb, families: families}
}

// Gather collects g's metrics, as a scrape would, without HTTP.
func Gather(tb testing.TB, g prometheus.Gatherer) Metrics {
	tb.Helper()
	fs, err := g.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	m := Metrics{tb: tb, families: make(map[string]*dto.MetricFamily, len(fs))}
	for _, f := range fs {
		m.families[f.GetName()] = f
	}
	return m
}

// Has reports whether the metric family name is there.
func (m Metrics) Has(name string) bool {
	_, ok := m.families[name]
	return ok
}

// Value is the value of the counter, gauge or untyped metric name with
// exactly these labels, given as pairs ("status", "queued"); the test
// fails if there is no such metric.
func (m Metrics) Value(name string, labels ...string) float64 {
	m.tb.Helper()
	x := m.metric(name, labels)
	switch {
	case x.Counter != nil:
		return x.Counter.GetValue()
	case x.Gauge != nil:
		return x.Gauge.GetValue()
	case x.Untyped != nil:
		return x.Untyped.GetValue()
	}
	m.tb.Fatalf("%s%v is neither a counter nor a gauge", name, labels)
	return 0
}

// Count is the number of observations of the histogram name with these
// labels.
func (m Metrics) Count(name string, labels ...string) uint64 {
	m.tb.Helper()
	x := m.metric(name, labels)
	if x.Histogram == nil {
		m.tb.Fatalf("%s%v is not a histogram", name, labels)
	}
	return x.Histogram.GetSampleCount()
}

func (m Metrics) metric(name string, labels []string) *dto.Metric {
	m.tb.Helper()
	if len(labels)%2 != 0 {
		m.tb.Fatalf("labels of %s: %v are not name, value pairs", name, labels)
	}
	f, ok := m.families[name]
	if !ok {
		names := make([]string, 0, len(m.families))
		for n := range m.families {
			if strings.HasPrefix(n, "shoal_") {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		m.tb.Fatalf("no metric %s; there are %s", name, strings.Join(names, ", "))
	}
	want := map[string]string{}
	for i := 0; i < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	var seen []string
	for _, x := range f.Metric {
		got := map[string]string{}
		for _, l := range x.Label {
			got[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return x
		}
		seen = append(seen, fmt.Sprint(got))
	}
	m.tb.Fatalf("no metric %s with labels %v; there are %s", name, want, strings.Join(seen, " "))
	return nil
}

// Eventually polls check until it holds, for what a node records on its
// own time (after the API has answered, after a reload), and fails tb after
// 20 seconds, naming what.
func Eventually(tb testing.TB, what string, check func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not after 20s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
