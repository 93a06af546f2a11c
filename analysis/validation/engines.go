package validation

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/lodsim/lodsim/replay"
)

// EngineFitOptions control FitEngineCosts and CrossValidate.
type EngineFitOptions struct {
	Sim Options // how rows are simulated; Sim.Overheads and Sim.Profiles are ignored
	// PerGroup fits to at most this many rows of each group, spread evenly
	// over the group in file order (0: DefaultFitRowsPerGroup). Fitting
	// re-simulates the rows some 60 times, so a subsample keeps it to
	// minutes; every row is still predicted afterwards.
	PerGroup int
	// MaxIter bounds the Levenberg-Marquardt iterations; 0 is 8.
	MaxIter int
	Log     io.Writer // one line per iteration and per fit, when set
	// LeaveOut, when set, limits CrossValidate to these groups' folds
	// (Row.Group names): each is still fitted on every other group, whose
	// rows are then only fitted to, never predicted. A quick look at one
	// fold instead of all of them.
	LeaveOut []string
}

// DefaultFitRowsPerGroup is EngineFitOptions.PerGroup's default.
const DefaultFitRowsPerGroup = 10

// EngineParams are the engine constants FitEngineCosts fits: the CPU
// costs, not the memory reserve (a property of the GPU's profile).
var EngineParams = []OverheadParam{ParamStep, ParamPerSeq, ParamPerPrefillToken, ParamPerRequest}

// Subsample keeps at most perGroup rows of each group (Row.Group), evenly
// spaced in file order, so every TP and length of a group stays
// represented; the rows keep their order. perGroup <= 0 keeps all.
func Subsample(rows []Row, perGroup int) []Row {
	if perGroup <= 0 {
		return rows
	}
	idx := map[string][]int{}
	for i, r := range rows {
		idx[r.Group()] = append(idx[r.Group()], i)
	}
	keep := make([]bool, len(rows))
	for _, is := range idx {
		n := len(is)
		for k := 0; k < min(n, perGroup); k++ {
			keep[is[k*n/min(n, perGroup)]] = true
		}
	}
	var out []Row
	for i, r := range rows {
		if keep[i] {
			out = append(out, r)
		}
	}
	return out
}

// engineRows are the rows of engine e, aggregated and disaggregated: a
// disaggregated row runs the same engine's scheduler and step costs in
// each of its pools (disaggRowConfig), so its TTFT and TPOT measure the
// same constants.
func engineRows(rows []Row, e replay.Engine) []Row {
	var out []Row
	for _, r := range rows {
		if replay.Engine(strings.ToLower(strings.TrimSpace(r.Backend))) == e {
			out = append(out, r)
		}
	}
	return out
}

// FitEngineCosts fits engine e's constants (EngineParams) jointly to every
// row of that engine in rows, whatever the model, GPU, TP and mode (a
// disaggregated row simulated with its prefill and decode pools, as
// Predict does, its group weighing as one group), each row on its GPU's
// shipped profile for the engine: FitOverheads'
// bounded Levenberg-Marquardt over all of them at once, from zero, on the
// engine objective (engineObjective: balanced, robust log ratios, each
// constant bounded by the measurements).
func FitEngineCosts(rows []Row, e replay.Engine, opt EngineFitOptions) (replay.EngineCosts, FitReport, error) {
	ec, rep, err := fitPooled(engineRows(rows, e), e, opt)
	if err != nil {
		return ec, rep, fmt.Errorf("fitting %s: %w", e, err)
	}
	return ec, rep, nil
}

func perGroup(opt EngineFitOptions) int {
	if opt.PerGroup == 0 {
		return DefaultFitRowsPerGroup
	}
	return opt.PerGroup
}

// EngineCostsCommand is the documented command that writes the shipped
// replay/engine_costs.json (TestShippedEngineCosts checks the file names
// it).
const EngineCostsCommand = "LODSIM_REFIT=1 go test ./analysis/validation -run TestShippedEngineCosts -update -timeout 60m"

// FitShippedEngineCosts fits every engine with rows in devSet (a benchmark
// file) and returns the file to ship.
func FitShippedEngineCosts(devSet string, opt EngineFitOptions) (replay.EngineCostFile, error) {
	data, err := os.ReadFile(devSet)
	if err != nil {
		return replay.EngineCostFile{}, err
	}
	sum := sha256.Sum256(data)
	rows, _, err := ReadBenchmarks(strings.NewReader(string(data)), devSet)
	if err != nil {
		return replay.EngineCostFile{}, err
	}
	f := replay.EngineCostFile{Command: EngineCostsCommand, DevSet: hex.EncodeToString(sum[:])}
	for _, e := range replay.Engines {
		if len(engineRows(rows, e)) == 0 {
			continue
		}
		ec, rep, err := FitEngineCosts(rows, e, opt)
		if err != nil {
			return f, err
		}
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, "%s: %d rows, cost %.4g -> %.4g, %+v\n", e, rep.Rows, rep.StartCost, rep.EndCost, ec)
		}
		f.Engines = append(f.Engines, ec)
	}
	return f, nil
}
