package experiment

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"runtime/debug"
)

// BuildVersion is what a lodsim binary knows of its own build.
type BuildVersion struct {
	Module   string // module version, "(devel)" for a build from a checkout
	Revision string // VCS revision, "" when not built from a repository
	Time     string // VCS commit time (RFC 3339): the date of the source built
	Modified bool   // the working tree had uncommitted changes
	Go       string // Go toolchain version
}

// Version reads the build information the Go toolchain embeds.
func Version() BuildVersion {
	v := BuildVersion{Module: "(unknown)"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	v.Go = bi.GoVersion
	if bi.Main.Version != "" {
		v.Module = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is "MODULE (REVISION[+dirty], TIME)", or the module version alone
// without VCS information.
func (v BuildVersion) String() string {
	s := "lodsim " + v.Module
	if v.Revision == "" {
		return s
	}
	rev := v.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if v.Modified {
		rev += "+dirty"
	}
	return s + " (" + rev + ", " + v.Time + ")"
}

// Long is the version in full, one fact a line, as lodsim --version prints it.
func (v BuildVersion) Long() string {
	or := func(s string) string {
		if s == "" {
			return "unknown (not built from a repository checkout)"
		}
		return s
	}
	return fmt.Sprintf("%s\nmodule %s\nrevision %s\ncommitted %s\nbuilt with %s\n", v, v.Module, or(v.Revision), or(v.Time), v.Go)
}

type hasher struct{ hash.Hash }

func newHash() hasher { return hasher{sha256.New()} }

func (h hasher) hex() string { return hex.EncodeToString(h.Sum(nil)) }
