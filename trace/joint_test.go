package trace

import "testing"

// TestEmpiricalJointRows: prompt and output drawn from one source's two
// columns come from the same row, so their pairing in the data (long
// prompts with their own outputs) survives; independent sources do not.
func TestEmpiricalJointRows(t *testing.T) {
	p, o, err := EmbeddedLengths("sharegpt")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[[2]int32]bool{}
	for i := range p {
		rows[[2]int32{p[i], o[i]}] = true
	}
	gen := func(out string) []Request {
		r, err := NewSynthetic(Synthetic{Rate: 10, Count: 2000, Seed: 9,
			Prompt: LengthDist{Kind: "empirical", Source: "sharegpt:prompt"},
			Output: LengthDist{Kind: "empirical", Source: out}})
		if err != nil {
			t.Fatal(err)
		}
		reqs, err := ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return reqs
	}
	for _, q := range gen("sharegpt:output") {
		if !rows[[2]int32{q.PromptTokens, q.OutputTokens}] {
			t.Fatalf("joint draw (%d, %d) is not a row of sharegpt", q.PromptTokens, q.OutputTokens)
		}
	}
	// Drawing the output from arxiv is independent: most pairs are not
	// sharegpt rows.
	miss := 0
	for _, q := range gen("arxiv:output") {
		if !rows[[2]int32{q.PromptTokens, q.OutputTokens}] {
			miss++
		}
	}
	if miss < 1000 {
		t.Errorf("only %d of 2000 independent draws fall outside sharegpt's rows", miss)
	}
}
