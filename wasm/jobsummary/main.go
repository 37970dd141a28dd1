// Command jobsummary is the last step of the example job pipeline
// (examples/jobs/pipeline.json): it reads /shared/transformed.csv, written
// by jobtransform, and writes /shared/summary.json.
//
// The summary holds the rows' count, the sum, minimum, maximum and mean of
// their value column, the sum of their square column, and how many rows
// carry each word; with the environment variable JOB_TITLE set (a job's
// metadata reaches every step as environment variables) it holds that too,
// as title. No rows give a count of 0 and zeros. It prints the summary,
// the same JSON as the file, to stdout. A missing or malformed input is a
// message on stderr and exit code 1; arguments after argv[0] are a usage
// line and exit code 2.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

const (
	inPath  = "/shared/transformed.csv"
	outPath = "/shared/summary.json"
	header  = "id,value,word,square"
)

// summary is the content of summary.json. Words marshals with its keys
// sorted, so the same input gives the same bytes.
type summary struct {
	Title      string         `json:"title,omitempty"`
	Count      int64          `json:"count"`
	Sum        int64          `json:"sum"`
	Min        int64          `json:"min"`
	Max        int64          `json:"max"`
	Mean       float64        `json:"mean"`
	SumSquares int64          `json:"sum_squares"`
	Words      map[string]int `json:"words"`
}

func main() {
	if len(os.Args) > 1 {
		os.Stderr.WriteString("usage: jobsummary  (reads " + inPath + ", writes " + outPath + "; env JOB_TITLE)\n")
		os.Exit(2)
	}
	if err := run(); err != nil {
		os.Stderr.WriteString("jobsummary: " + err.Error() + "\n")
		os.Exit(1)
	}
}

func run() error {
	f, err := os.Open(inPath)
	if err != nil {
		return err
	}
	defer f.Close()
	s, err := summarize(bufio.NewScanner(f))
	if err != nil {
		return err
	}
	s.Title = os.Getenv("JOB_TITLE")
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := os.WriteFile(outPath, b, 0o644); err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

// summarize reads the rows after the header.
func summarize(sc *bufio.Scanner) (summary, error) {
	s := summary{Words: map[string]int{}}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			if text != header {
				return s, fmt.Errorf("%s:1: want the header %s", inPath, header)
			}
			continue
		}
		if text == "" {
			continue
		}
		value, word, square, err := parseRow(text)
		if err != nil {
			return s, fmt.Errorf("%s:%d: %w", inPath, line, err)
		}
		if s.Count == 0 || value < s.Min {
			s.Min = value
		}
		if s.Count == 0 || value > s.Max {
			s.Max = value
		}
		s.Count++
		s.Sum += value
		s.SumSquares += square
		s.Words[word]++
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("%s: %w", inPath, err)
	}
	if line == 0 {
		return s, fmt.Errorf("%s: empty, want the header %s", inPath, header)
	}
	if s.Count > 0 {
		s.Mean = float64(s.Sum) / float64(s.Count)
	}
	return s, nil
}

var errRow = errors.New("want id,value,word,square with decimal numbers")

func parseRow(text string) (value int64, word string, square int64, err error) {
	f := strings.Split(text, ",")
	if len(f) != 4 || f[2] == "" {
		return 0, "", 0, errRow
	}
	if _, err := strconv.ParseInt(f[0], 10, 64); err != nil {
		return 0, "", 0, errRow
	}
	if value, err = strconv.ParseInt(f[1], 10, 64); err != nil {
		return 0, "", 0, errRow
	}
	if square, err = strconv.ParseInt(f[3], 10, 64); err != nil {
		return 0, "", 0, errRow
	}
	return value, f[2], square, nil
}
