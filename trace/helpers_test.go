package trace

import (
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func mustOpen(t testing.TB, path string, opt Options) Reader {
	t.Helper()
	r, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// collect returns a function that drains an (Reader, error) pair, so that
// collect(t)(Open(path, opt)) reads a whole trace or fails the test.
func collect(t testing.TB) func(Reader, error) []Request {
	return func(r Reader, err error) []Request {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		reqs, err := ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return reqs
	}
}

func requireEqual(t testing.TB, got, want []Request) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d requests, want %d", len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("request %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// requireError fails unless err mentions every part.
func requireError(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
}

func newGenericWriterForTest[T any](w io.Writer) *parquet.GenericWriter[T] {
	return parquet.NewGenericWriter[T](w)
}

func readFileTB(tb testing.TB, path string) ([]byte, error) {
	tb.Helper()
	return os.ReadFile(path)
}

// readAllErr drains an (Reader, error) pair and returns the first error,
// from opening or reading.
func readAllErr(r Reader, err error) ([]Request, error) {
	if err != nil {
		return nil, err
	}
	return ReadAll(r)
}
