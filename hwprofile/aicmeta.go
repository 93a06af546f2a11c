package hwprofile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Engines are the serving engines whose kernel tables aiconfigurator
// collects, as Measurement.Engine and CalibrateOptions.Engine name them.
var Engines = []string{"sglang", "trtllm", "vllm"}

// collectionMeta is aiconfigurator's collection_meta.yaml, which sits
// beside the tables of one <op>/<engine>/<version> directory: the runtime
// that was measured and the completeness of each table.
type collectionMeta struct {
	SchemaVersion int    `yaml:"schema_version"`
	Provenance    string `yaml:"provenance"`
	Runtime       struct {
		Framework string `yaml:"framework"`
		Version   string `yaml:"version"`
	} `yaml:"runtime"`
	Tables map[string]struct {
		Status string `yaml:"status"`
	} `yaml:"tables"`
}

// reuseDecl is aiconfigurator's reuse.yaml: tables of this version that are
// (partly) the collection of another version of the same engine.
type reuseDecl struct {
	SchemaVersion int `yaml:"schema_version"`
	Reuse         []struct {
		Table       string `yaml:"table"`
		FromVersion string `yaml:"from_version"`
	} `yaml:"reuse"`
}

// dirInfo is what the side files of one table directory say.
type dirInfo struct {
	engine, version string
	status          map[string]string // table name -> status
}

// engineOf maps a framework name (collection_meta runtime.framework, a
// directory name, the tables' framework column) to an engine; nccl and
// unknown names give "".
func engineOf(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "vllm":
		return "vllm"
	case "sglang":
		return "sglang"
	case "trtllm", "tensorrt-llm", "tensorrt_llm":
		return "trtllm"
	}
	return ""
}

// tableDir reads the side files of dir once: collection_meta.yaml for the
// engine and version (else the directory names <engine>/<version>), and
// reuse.yaml, whose references to versions that are not on disk become
// notes (the tables read are then the collection of this version alone).
func (ms *Measurements) tableDir(dir string) (*dirInfo, error) {
	if d, ok := ms.dirs[dir]; ok {
		return d, nil
	}
	d := &dirInfo{}
	if ms.dirs == nil {
		ms.dirs = map[string]*dirInfo{}
	}
	ms.dirs[dir] = d
	up := filepath.Base(filepath.Dir(dir))
	if e := engineOf(up); e != "" {
		d.engine, d.version = e, filepath.Base(dir)
	}
	metaPath := filepath.Join(dir, "collection_meta.yaml")
	if data, err := os.ReadFile(metaPath); err == nil {
		var m collectionMeta
		if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&m); err != nil {
			return nil, fmt.Errorf("%s: not an aiconfigurator collection_meta.yaml: %w", metaPath, err)
		}
		if m.SchemaVersion != 1 {
			return nil, fmt.Errorf("%s: schema_version: found %d, expected 1", metaPath, m.SchemaVersion)
		}
		fw := m.Runtime.Framework
		if e := engineOf(fw); e != "" {
			d.engine = e
		} else if strings.ToLower(fw) == "nccl" {
			d.engine = ""
		} else {
			return nil, fmt.Errorf("%s: runtime.framework: found %q, expected vllm, sglang, trtllm or nccl", metaPath, fw)
		}
		if m.Runtime.Version != "" {
			d.version = m.Runtime.Version
		}
		d.status = map[string]string{}
		for name, t := range m.Tables {
			d.status[name] = t.Status
		}
	}
	reusePath := filepath.Join(dir, "reuse.yaml")
	if data, err := os.ReadFile(reusePath); err == nil {
		var r reuseDecl
		if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&r); err != nil {
			return nil, fmt.Errorf("%s: not an aiconfigurator reuse.yaml: %w", reusePath, err)
		}
		if r.SchemaVersion != 1 {
			return nil, fmt.Errorf("%s: schema_version: found %d, expected 1", reusePath, r.SchemaVersion)
		}
		for i, u := range r.Reuse {
			if u.Table == "" || u.FromVersion == "" {
				return nil, fmt.Errorf("%s: reuse[%d]: found table %q from_version %q, expected both", reusePath, i, u.Table, u.FromVersion)
			}
			from := filepath.Join(filepath.Dir(dir), u.FromVersion)
			if _, err := os.Stat(filepath.Join(from, u.Table+".parquet")); err != nil {
				ms.Notes = append(ms.Notes, fmt.Sprintf("%s: %s reuses version %s, which is not in the tables read: only this version's rows are used",
					ms.relDir(reusePath), u.Table, u.FromVersion))
			}
			// Otherwise the reused version's directory is a sibling and is
			// read with the rest: its rows join this version's, and
			// duplicate shapes are merged by their median.
		}
	}
	return d, nil
}

// relDir shortens a side-file path for notes: from the GPU directory down.
func (ms *Measurements) relDir(path string) string {
	parts := strings.Split(filepath.ToSlash(path), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if gpuKeyFromLabel(parts[i]) != "" && !strings.Contains(parts[i], " ") {
			return strings.Join(parts[i:], "/")
		}
	}
	return filepath.Base(path)
}

// Engines lists the engines of the rows, sorted ("" excluded).
func (ms *Measurements) Engines() []string {
	seen := map[string]bool{}
	for i := range ms.Rows {
		if e := ms.Rows[i].Engine; e != "" {
			seen[e] = true
		}
	}
	out := make([]string, 0, len(seen))
	for e := range seen {
		out = append(out, e)
	}
	sort.Strings(out)
	return out
}
