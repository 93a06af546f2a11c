package replay

import (
	"math"

	"github.com/lodsim/lodsim/lod"
)

// SpeculativeConfig is speculative decoding with draft modules
// (scheduler.speculative): every decode step verifies, besides its token,
// DraftTokens tokens proposed by a draft head, and keeps the longest
// prefix of them the model agrees with, plus the model's own next token.
// Method mtp is DeepSeek's multi-token prediction (TensorRT-LLM's
// speculative_config decoding_type MTP with num_nextn_predict_layers
// DraftTokens; SGLang's and vLLM's MTP/NextN), which needs a model whose
// checkpoint has MTP modules (config.json num_nextn_predict_layers).
//
// AcceptanceRate a is the chance that a draft token is accepted given
// that the ones before it were (a chain: the first rejection ends the
// step's accepted tokens), so a decode step yields on average
//
//	1 + a + a^2 + ... + a^DraftTokens
//
// tokens. AcceptanceRates, instead, gives that chance per draft position
// (one per draft token), as aiconfigurator's nextn_accept_rates do: the
// mean is then 1 + a1 + a1 a2 + ... + a1 a2 ... ak. Replay keeps that mean exact and deterministic: each request
// carries a credit in thousandths of a token and a step yields
// floor((credit + M) / 1000) tokens, M the mean in thousandths, at most
// those it still needs, the remainder carried to its next step.
type SpeculativeConfig struct {
	Method          string    `yaml:"method"`
	DraftTokens     int       `yaml:"draft_tokens"`
	AcceptanceRate  *float64  `yaml:"acceptance_rate,omitempty"`
	AcceptanceRates []float64 `yaml:"acceptance_rates,omitempty"`
}

// rate is the acceptance rate of draft position i (0-based).
func (sc *SpeculativeConfig) rate(i int) float64 {
	if len(sc.AcceptanceRates) > 0 {
		return sc.AcceptanceRates[i]
	}
	return *sc.AcceptanceRate
}

// SpeculativeMethods are the draft methods replay models.
var SpeculativeMethods = []string{"mtp"}

// MaxDraftTokens bounds scheduler.speculative.draft_tokens.
const MaxDraftTokens = 16

// validateSpeculative checks scheduler.speculative; with a resolved model
// m (haveModel), also that the model has the draft modules the method
// needs.
func (c *Config) validateSpeculative(p *problems, m lod.Model, haveModel bool) {
	sp := c.Scheduler.Speculative
	if sp == nil {
		return
	}
	const f = "scheduler.speculative"
	if sp.Method != "mtp" {
		p.add("%s.method: %q, expected mtp (DeepSeek multi-token prediction)", f, sp.Method)
	}
	if sp.DraftTokens < 1 || sp.DraftTokens > MaxDraftTokens {
		p.add("%s.draft_tokens: %d, expected 1 to %d", f, sp.DraftTokens, MaxDraftTokens)
	}
	// No default rate: how many drafts a model accepts depends on the model
	// and the data, and a silent 0 would cost the drafts and yield nothing.
	switch n := len(sp.AcceptanceRates); {
	case sp.AcceptanceRate == nil && n == 0:
		p.add("%s: no acceptance_rate or acceptance_rates, expected one of them", f)
	case sp.AcceptanceRate != nil && n > 0:
		p.add("%s: both acceptance_rate and acceptance_rates, expected one of them", f)
	case sp.AcceptanceRate != nil && !(*sp.AcceptanceRate >= 0 && *sp.AcceptanceRate <= 1):
		p.add("%s.acceptance_rate: %g, expected a probability in [0, 1]", f, *sp.AcceptanceRate)
	}
	if n := len(sp.AcceptanceRates); n > 0 {
		if n != sp.DraftTokens {
			p.add("%s.acceptance_rates: %d rates, expected one per draft token (%d)", f, n, sp.DraftTokens)
		}
		for i, a := range sp.AcceptanceRates {
			if !(a >= 0 && a <= 1) {
				p.add("%s.acceptance_rates[%d]: %g, expected a probability in [0, 1]", f, i, a)
			}
		}
	}
	if haveModel && sp.Method == "mtp" && m.MTPLayers < 1 {
		p.add("%s.method: mtp needs a model with multi-token-prediction modules, but %s has none (config.json num_nextn_predict_layers 0)", f, m.Name)
	}
}

// draftMemory is what speculative decoding's draft modules take on one
// GPU of a replica (0, 0 with it off: the engines load the MTP modules only
// for speculative decoding): their weights (lod.Model.MTPRankBytes), and
// the KV cache each token of context takes in their attention layers,
// which the engines allocate with the model's (TensorRT-LLM adds
// get_num_spec_layers to the KV cache's layers, tensorrt_llm/_torch/
// pyexecutor/_util.py; vLLM's drafter registers its attention layers in
// the same KV cache spec; SGLang's draft worker sizes its pool for as many
// tokens as the target's). With pipeline parallelism the modules sit on
// the last stage; counting them on every GPU is the conservative bound.
func (c *Config) draftMemory(m lod.Model) (weights, kvPerToken int64) {
	if c.Scheduler.Speculative == nil || c.Scheduler.Speculative.Method != "mtp" {
		return 0, 0
	}
	k := c.Cluster
	weights = m.MTPRankBytes(k.TensorParallel, k.attentionDP())
	return weights, int64(m.MTPLayers) * m.KVLayerBytes(k.TensorParallel)
}

// speculation is a pool's speculative decoding in the integer form the
// steps use. Off, it is one token a step (draft 0, perMille 1000), and
// every formula below reduces to the plain decode's.
type speculation struct {
	draft    int32 // draft tokens each decode verifies
	perMille int64 // mean tokens a decode step yields, in thousandths
}

var noSpeculation = speculation{perMille: 1000}

// newSpeculation reads a pool's scheduler.speculative (nil: off).
func newSpeculation(sc *SpeculativeConfig) speculation {
	if sc == nil {
		return noSpeculation
	}
	mean, ai := 1.0, 1.0
	for i := 0; i < sc.DraftTokens; i++ {
		ai *= sc.rate(i)
		mean += ai
	}
	return speculation{draft: int32(sc.DraftTokens), perMille: int64(math.Round(1000 * mean))}
}

// on reports whether decodes speculate.
func (sp speculation) on() bool { return sp.draft > 0 }

// emitted is the tokens n decode steps yield to a request with credit c,
// uncapped: the steps' floors telescope to one.
func (sp speculation) emitted(c int16, n int) int32 {
	return int32((int64(c) + int64(n)*sp.perMille) / 1000)
}

// yield is the tokens r gets from n decode steps: emitted, at most the
// output tokens it still needs.
func (sp speculation) yield(r *reqState, n int) int32 {
	return min(sp.emitted(r.credit, n), r.output-r.generated)
}

// advance moves r's credit past n decode steps.
func (sp speculation) advance(r *reqState, n int) {
	r.credit = int16((int64(r.credit) + int64(n)*sp.perMille) % 1000)
}

// span is the tokens of KV a decode of r writes in its step: its token
// and its drafts, no more than the output tokens it still needs (the
// engine drafts past them, but no accepted token can land there).
func (sp speculation) span(r *reqState) int32 {
	return min(1+sp.draft, r.output-r.generated)
}

// runTarget is the tokens of KV r holds during step j (0-based) of a run
// of decode steps that started with r as it is now: what the steps
// before kept, and the step's own span. j = n, past the run's n steps,
// is what r keeps after them.
func (sp speculation) runTarget(r *reqState, j, n int) int32 {
	e := sp.yield(r, j)
	if j == n {
		return r.computed + e
	}
	return r.computed + e + min(1+sp.draft, r.output-r.generated-e)
}

// runSteps is the decode steps r needs for its remaining output: the
// first n with emitted(n) >= left, in O(1).
func (sp speculation) runSteps(r *reqState) int {
	left := int64(r.output-r.generated)*1000 - int64(r.credit)
	return int((left + sp.perMille - 1) / sp.perMille)
}

// carries counts the decode steps' extra tokens: with the credits of a
// run's requests in the cumulative histogram cum (cum[v]: credits below
// v), the tokens the run's step j (1-based) yields beyond q each, where
// perMille = 1000 q + f: request r carries one more token at step j when
// (c_r + (j-1) f) mod 1000 >= 1000 - f, which is c_r in a cyclic window of
// f credits, counted from cum in O(1).
func carries(cum *[1001]int32, f int64, j int) int64 {
	if f == 0 {
		return 0
	}
	x := (int64(j-1) * f) % 1000
	lo := (2000 - f - x) % 1000
	if hi := lo + f; hi <= 1000 {
		return int64(cum[hi] - cum[lo])
	}
	return int64(cum[1000]-cum[lo]) + int64(cum[lo+f-1000])
}

// stepTokens is what a step of n tokens of r takes: the tokens of KV it
// writes and the tokens of the step's budget (max_num_tokens) it uses. A
// speculating decode writes its span and uses 1 + draft of the budget (as
// TensorRT-LLM counts draft tokens against max_num_tokens); anything else
// takes n of both.
func (sp speculation) stepTokens(r *reqState, n int32) (kv, budget int32) {
	if sp.on() && r.isDecode() {
		return sp.span(r), 1 + sp.draft
	}
	return n, n
}
