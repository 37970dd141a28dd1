package appconfig

import (
	"errors"
	"fmt"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// decode reads a TOML document into its values, and indexes the line of
// every key by its path (pathKey): a table header's line for the table,
// the first part of a dotted key's for each table it opens. go-toml
// decodes the values and rejects what is not TOML (a duplicate key
// included); its parser, walked again, gives the lines.
func decode(name string, data []byte) (map[string]any, map[string]int, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, _ := de.Position()
			return nil, nil, &Error{File: name, Line: line, Err: de}
		}
		return nil, nil, &Error{File: name, Err: err}
	}
	lines := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = indexKey(&p, lines, nil, e.Key())
		case unstable.KeyValue:
			indexKeyValue(&p, lines, table, e)
		}
	}
	if err := p.Error(); err != nil {
		// go-toml's decoder took what its parser refuses: name the file.
		return nil, nil, &Error{File: name, Err: fmt.Errorf("toml: %w", err)}
	}
	return doc, lines, nil
}

// indexKeyValue indexes the key of a key/value under table, and the keys
// of an inline table its value is.
func indexKeyValue(p *unstable.Parser, lines map[string]int, table []string, kv *unstable.Node) {
	path := indexKey(p, lines, table, kv.Key())
	if v := kv.Value(); v.Kind == unstable.InlineTable {
		for it := v.Children(); it.Next(); {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				indexKeyValue(p, lines, path, c)
			}
		}
	}
}

// indexKey indexes each path a dotted key opens under prefix, at the line
// of its part, unless it is indexed already, and returns the key's path.
func indexKey(p *unstable.Parser, lines map[string]int, prefix []string, it unstable.Iterator) []string {
	path := append([]string(nil), prefix...)
	for it.Next() {
		k := it.Node()
		path = append(path, string(k.Data))
		if pk := pathKey(path); lines[pk] == 0 {
			lines[pk] = p.Shape(k.Raw).Start.Line
		}
	}
	return path
}
