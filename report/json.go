package report

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteJSON writes the report as one indented JSON document (schema
// SchemaVersion, documented in docs/report-schema.md). HTML-significant
// characters in strings are escaped (\u003c), so the document is safe to
// embed or serve. It returns the first write error.
func (r *Report) WriteJSON(w io.Writer) error {
	if err := writeJSONValue(w, r); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}

func writeJSONValue(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
