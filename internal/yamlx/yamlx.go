// Package yamlx holds the two YAML helpers every definition loader needs: a
// strict decode that never panics, and the line of a node for errors that
// are found after decoding (a duplicate id, an unknown reference).
package yamlx

import (
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"
)

// Decode runs dec.Decode(v). goccy/go-yaml (v1.19.2) panics on some malformed
// input, such as a tag where a sequence is expected ("requirements: !x"); a
// file written by a user must never crash otsweep, so such a panic becomes
// an error.
func Decode(dec *yaml.Decoder, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed YAML: the parser failed (%v)", r)
		}
	}()
	return dec.Decode(v)
}

// LineOf returns the line of the node at a YAML path ("$[3].id") in data, or
// 0 when the path does not resolve.
func LineOf(data []byte, path string) int {
	p, err := yaml.PathString(path)
	if err != nil {
		return 0
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return 0
	}
	n, err := p.FilterFile(f)
	if err != nil || n == nil {
		return 0
	}
	if t := n.GetToken(); t != nil && t.Position != nil {
		return t.Position.Line
	}
	return 0
}
