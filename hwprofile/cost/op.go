package cost

// Op names a measured operation.
type Op string

// The operations lodsim calibrates. The string values are the `op` column of
// the canonical measurement schema (hwprofile/MEASUREMENTS.md).
const (
	OpGEMM                Op = "gemm"
	OpContextAttention    Op = "context_attention"
	OpGenerationAttention Op = "generation_attention"
	OpAllReduce           Op = "all_reduce"
	OpAllGather           Op = "all_gather"
	OpReduceScatter       Op = "reduce_scatter"
	OpSend                Op = "send"
	OpCustomAllReduce     Op = "custom_all_reduce"
	OpElementwise         Op = "elementwise"
	OpAllToAll            Op = "all_to_all"
	OpQuantGEMM           Op = "quant_gemm"
	OpContextMLA          Op = "context_mla"
	OpGenerationMLA       Op = "generation_mla"
	OpMoE                 Op = "moe"
	// OpContextMLAModule and OpGenerationMLAModule are whole MLA attention
	// modules (MLAModule): projections and latent attention together.
	OpContextMLAModule    Op = "context_mla_module"
	OpGenerationMLAModule Op = "generation_mla_module"
)

// knownOps fixes each op's Index; new ops go at the end so that seeded
// held-out splits of the existing ops stay the same.
var knownOps = []Op{OpGEMM, OpContextAttention, OpGenerationAttention, OpAllReduce,
	OpAllGather, OpReduceScatter, OpSend, OpCustomAllReduce, OpElementwise,
	OpAllToAll, OpQuantGEMM, OpContextMLA, OpGenerationMLA, OpMoE,
	OpContextMLAModule, OpGenerationMLAModule}

// Ops lists the known operations in Index order.
func Ops() []Op { return append([]Op(nil), knownOps...) }

// ParseOp finds the op whose string value is s.
func ParseOp(s string) (Op, bool) {
	for _, o := range knownOps {
		if string(o) == s {
			return o, true
		}
	}
	return "", false
}

// Index is the op's position in Ops, -1 for an unknown op. Calibration
// seeds each op's held-out split with it.
func (o Op) Index() int {
	for i, k := range knownOps {
		if k == o {
			return i
		}
	}
	return -1
}

// SourceFile is one file measurements were read from.
type SourceFile struct {
	Path   string `yaml:"path"`   // relative to the measurement root, slash-separated
	SHA256 string `yaml:"sha256"` // of the file's bytes
	Layout string `yaml:"layout"` // which reader understood it
	Rows   int    `yaml:"rows"`   // measurements read from it; in a profile, those calibration used
	// Engine and Version are the serving engine the kernels were measured
	// in and its version, where the source says.
	Engine  string `yaml:"engine,omitempty"`
	Version string `yaml:"version,omitempty"`
}
