package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/itchyny/gojq"
)

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: gojq FILTER < JSON")
		return 2
	}
	q, err := gojq.Parse(args[0])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 3
	}
	code, err := gojq.Compile(q)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 3
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	dec := json.NewDecoder(bufio.NewReader(stdin))
	dec.UseNumber()
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return 0
		} else if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		iter := code.Run(normalize(v))
		for {
			out, ok := iter.Next()
			if !ok {
				break
			}
			if err, ok := out.(error); ok {
				fmt.Fprintln(stderr, err)
				return 5
			}
			if err := enc.Encode(out); err != nil {
				fmt.Fprintln(stderr, err)
				return 2
			}
		}
	}
}

// normalize turns json.Number into what gojq takes: int or float64.
func normalize(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil && int64(int(i)) == i {
			return int(i)
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i, e := range v {
			v[i] = normalize(e)
		}
	case map[string]any:
		for k, e := range v {
			v[k] = normalize(e)
		}
	}
	return v
}
