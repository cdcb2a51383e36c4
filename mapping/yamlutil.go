package mapping

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/otsweep/otsweep/internal/yamlx"
)

// decodeStrict decodes data into v, rejecting unknown fields and duplicate
// keys. The error names the file and line.
func decodeStrict(name string, data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict(), yaml.DisallowUnknownField())
	if err := yamlx.Decode(dec, v); err != nil {
		return fmt.Errorf("%s: %s", name, strings.TrimSpace(yaml.FormatError(err, false, false)))
	}
	return nil
}

// posError is a definition error at file:line.
type posError struct {
	File string
	Line int
	Msg  string
}

func (e *posError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func errAt(file string, data []byte, path, format string, args ...any) error {
	return &posError{File: file, Line: yamlx.LineOf(data, path), Msg: fmt.Sprintf(format, args...)}
}

// source is one definition file.
type source struct {
	Name string
	Data []byte
}

// readDefinitionDir returns the *.yaml and *.yml files of dir, sorted by name.
func readDefinitionDir(fsys fs.FS, dir string) ([]source, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []source
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		ext := filepath.Ext(e.Name())
		if ext != ".yaml" && ext != ".yml" {
			continue
		}
		p := dir + "/" + e.Name()
		if dir == "." {
			p = e.Name()
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		out = append(out, source{Name: p, Data: b})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// readUserDir reads a user override folder from disk; the names are real paths.
func readUserDir(dir string) ([]source, error) {
	if dir == "" {
		return nil, nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("definitions folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("definitions folder %s: not a directory", dir)
	}
	srcs, err := readDefinitionDir(os.DirFS(dir), ".")
	if err != nil {
		return nil, fmt.Errorf("definitions folder %s: %w", dir, err)
	}
	for i := range srcs {
		srcs[i].Name = filepath.Join(dir, srcs[i].Name)
	}
	return srcs, nil
}

// joinErrors returns nil for no errors.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}
