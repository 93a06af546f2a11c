package trace

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Expected values computed independently with Python's csv and datetime
// modules from the unmodified Azure files.
var azure2023 = []struct {
	name                  string
	file                  string
	rows                  int
	spanNs                int64
	prompt, output        int64
	firstUnixNs           int64
	firstPrompt, firstOut int32
}{
	{"azure-code-2023", "AzureLLMInferenceTrace_code.csv", 8819, 3435948056000, 18059974, 245896, 1700158623979960000, 4808, 10},
	{"azure-conv-2023", "AzureLLMInferenceTrace_conv.csv", 19366, 3501721937000, 22361870, 4088665, 1700158546680590000, 374, 44},
}

func TestEmbeddedAzure2023(t *testing.T) {
	for _, tc := range azure2023 {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Embedded(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			reqs, err := ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(reqs) != tc.rows {
				t.Fatalf("rows = %d, want %d", len(reqs), tc.rows)
			}
			var p, o int64
			for i, q := range reqs {
				if q.ID != RequestID(i) {
					t.Fatalf("row %d: id %d, want the row index", i, q.ID)
				}
				p += int64(q.PromptTokens)
				o += int64(q.OutputTokens)
			}
			if p != tc.prompt || o != tc.output {
				t.Errorf("token sums = %d, %d; want %d, %d", p, o, tc.prompt, tc.output)
			}
			if reqs[0].Arrival != 0 || reqs[len(reqs)-1].Arrival != tc.spanNs {
				t.Errorf("span = [%d, %d] ns, want [0, %d]", reqs[0].Arrival, reqs[len(reqs)-1].Arrival, tc.spanNs)
			}
			if reqs[0].PromptTokens != tc.firstPrompt || reqs[0].OutputTokens != tc.firstOut {
				t.Errorf("first request = %+v", reqs[0])
			}
		})
	}
}

func TestEmbeddedKeepOffset(t *testing.T) {
	// Unix time is 54 years after 0: beyond the default span, so a
	// simulation cannot start in 1970 by accident.
	if _, err := readAllErr(OpenEmbedded("azure-code-2023", Options{KeepOffset: true})); !errors.Is(err, ErrSpan) || !strings.Contains(err.Error(), "keep-offset") {
		t.Fatalf("keep-offset on a calendar trace: %v, want ErrSpan naming keep-offset", err)
	}
	r, err := OpenEmbedded("azure-code-2023", Options{KeepOffset: true, MaxSpan: NoSpanLimit})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	q, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if q.Arrival != azure2023[0].firstUnixNs {
		t.Fatalf("first arrival = %d, want Unix ns %d", q.Arrival, azure2023[0].firstUnixNs)
	}
}

func TestEmbeddedUnknown(t *testing.T) {
	if _, err := Embedded("azure-nope"); err == nil {
		t.Fatal("unknown name accepted")
	}
	if got := EmbeddedNames(); len(got) != 2 || got[0] != "azure-code-2023" || got[1] != "azure-conv-2023" {
		t.Fatalf("EmbeddedNames = %v", got)
	}
}

// The embedded copies must equal the shared originals byte for byte.
func TestEmbeddedMatchesShared(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "traces", "azure-2023")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("../shared not present")
	}
	for _, tc := range azure2023 {
		want, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		got, err := embedded.ReadFile("data/azure2023/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from ../shared", tc.file)
		}
	}
}

func TestOpenPathAndEmbeddedPrefix(t *testing.T) {
	a, err := ReadAll(mustOpen(t, "data/azure2023/AzureLLMInferenceTrace_code.csv", Options{}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadAll(mustOpen(t, EmbeddedPrefix+"azure-code-2023", Options{}))
	if err != nil {
		t.Fatal(err)
	}
	requireEqual(t, a, b)
}

func TestEmbeddedLengths(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows int
		p0   int32
		o0   int32
	}{{"sharegpt", 30731, 74, 918}, {"arxiv", 28257, 3772, 54}} {
		p, o, err := EmbeddedLengths(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) != tc.rows || len(o) != tc.rows || p[0] != tc.p0 || o[0] != tc.o0 {
			t.Errorf("%s: %d/%d rows, first %d,%d; want %d rows, first %d,%d", tc.name, len(p), len(o), p[0], o[0], tc.rows, tc.p0, tc.o0)
		}
	}
	if _, _, err := EmbeddedLengths("nope"); err == nil {
		t.Error("unknown lengths accepted")
	}
}

func TestLoadLengthsShared(t *testing.T) {
	path := filepath.Join("..", "..", "shared", "data", "traces", "lengths", "sharegpt_lengths.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skip("../shared not present")
	}
	defer f.Close()
	got, err := LoadLengths(f, "num_decode_tokens")
	if err != nil {
		t.Fatal(err)
	}
	_, want, _ := EmbeddedLengths("sharegpt")
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("row %d: %d, want %d", i+1, got[i], want[i])
		}
	}
}
