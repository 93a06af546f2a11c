package replay

import "math"

// SGLang's decay of the admission reserve ratio: to minReserve over
// reserveDecaySteps decode steps.
const (
	minReserve        = 0.1
	reserveDecaySteps = 600
)

// admissionReserve is SGLang's conservative admission: a waiting request
// is admitted only if the free KV cache, less ratio x the tokens each
// running request may still generate, holds its remaining prompt and all
// its output tokens. The ratio starts at scheduler.admission_reserve
// (SGLang's init_new_token_ratio), decays linearly to minReserve over
// reserveDecaySteps decode steps and returns to its initial value after a
// preemption. An initial ratio of 0 turns it off (vLLM admits on prompt
// blocks alone).
type admissionReserve struct {
	init, ratio float64
}

func newAdmissionReserve(init float64) admissionReserve {
	return admissionReserve{init: init, ratio: init}
}

func (a *admissionReserve) on() bool { return a.init > 0 }

// decay applies n decode steps of decay to the ratio.
func (a *admissionReserve) decay(n int) {
	if a.init <= minReserve {
		return
	}
	a.ratio -= float64(n) * (a.init - minReserve) / reserveDecaySteps
	if a.ratio < minReserve {
		a.ratio = minReserve
	}
}

// reset restores the initial ratio (after a preemption).
func (a *admissionReserve) reset() { a.ratio = a.init }

// room is the tokens free beyond the running requests' reserve, out of
// freeTokens.
func (a *admissionReserve) room(freeTokens int64, reqs []reqState, running []int32) int64 {
	var t float64
	for _, slot := range running {
		r := &reqs[slot]
		t += a.ratio * float64(r.output-r.generated)
	}
	return freeTokens - int64(math.Ceil(t))
}

// take reports whether r may be admitted within room, and if so takes
// what r may still need from it. It always admits when the reserve is off.
func (a *admissionReserve) take(r *reqState, room *int64) bool {
	if !a.on() {
		return true
	}
	whole := int64(r.numTokens()-r.computed) + int64(r.output-r.generated)
	if whole > *room {
		return false
	}
	*room -= whole
	return true
}
