package lod

import (
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

const gib int64 = 1 << 30

// TestLlama70BFP8OnOneH200: the weights of Llama-3.1-70B in FP8 fit one
// H200; in BF16 they do not.
func TestLlama70BFP8OnOneH200(t *testing.T) {
	m, err := LookupModel("meta-llama/Llama-3.1-70B")
	if err != nil {
		t.Fatal(err)
	}
	fp8 := m.WithPrecision(FP8, FP8)
	// By hand (h 8192, V 128256, 80 layers, 64 heads, 8 KV heads of 128,
	// intermediate 28672):
	//   unquantized: embeddings and LM head 2 x 128256 x 8192, final norm
	//     8192, two norms of 8192 a layer: 2,102,665,216 params x 2 bytes
	//   attention 80 x (8192 x 80 x 128 + 64 x 128 x 8192) = 12,079,595,520
	//   MLP       80 x 3 x 8192 x 28672                   = 56,371,445,760
	//     in FP8, 1 byte each
	// = 4,205,330,432 + 68,451,041,280 = 72,656,371,712 bytes (67.7 GiB).
	if got := fp8.WeightBytes(); got != 72656371712 {
		t.Errorf("FP8 weight bytes %d, want 72656371712", got)
	}
	// An H200 holds 141 GiB; at the 0.9 vLLM uses, 126.9 GiB: FP8 fits
	// with 59 GiB for the KV cache, BF16 (131.4 GiB) does not.
	usable := 141 * gib * 9 / 10
	if fp8.WeightBytes() >= usable-50*gib || m.WeightBytes() <= usable {
		t.Errorf("FP8 %d, BF16 %d bytes against %d usable", fp8.WeightBytes(), m.WeightBytes(), usable)
	}
	// An FP8 KV cache: 80 layers x 2 (K, V) x 8 heads x 128 x 1 byte.
	if got := fp8.KVBytesPerToken(1, 1); got != 163840 {
		t.Errorf("FP8 KV bytes per token %d, want 163840", got)
	}
}

// TestDeepSeekR1OnEightH200: DeepSeek-R1 as published (FP8 weights in
// 128 x 128 blocks with FP32 scales) over 8 H200s, and its MLA cache.
func TestDeepSeekR1OnEightH200(t *testing.T) {
	m, err := LookupModel("deepseek-ai/DeepSeek-R1")
	if err != nil {
		t.Fatal(err)
	}
	// By hand (h 7168, V 129280, 61 layers of which 3 dense, 256 experts
	// of 2048 and one shared, MLA q_lora 1536, kv_lora 512, 128 heads of
	// nope 128 + rope 64, v 128):
	//   unquantized: embeddings + LM head 2 x 129280 x 7168, norms
	//     7168 + 61 x (2 x 7168 + 1536 + 512), routers 58 x 7168 x 256
	//     = 1,960,795,136 params x 2 bytes = 3,921,590,272
	//   attention 61 x (7168x1536 + 1536x128x192 + 7168x576 + 512x128x256
	//     + 128x128x7168) = 61 x 187,105,280 = 11,413,422,080
	//   dense MLPs 3 x 3 x 7168 x 18432 + shared 58 x 3 x 7168 x 2048
	//     = 3,743,416,320
	//   experts 58 x 256 x 3 x 7168 x 2048 = 653,908,770,816
	//   FP8 blocks: 669,065,609,216 params = 40,836,524 blocks of 16384,
	//     each 16384 bytes + a 4-byte scale = 669,228,955,312 bytes
	// = 673,150,545,584 bytes: 671.0 B parameters.
	if got := m.Params(); got != 671026404352 {
		t.Errorf("params %d, want 671026404352", got)
	}
	if got := m.WeightBytes(); got != 673150545584 {
		t.Errorf("weight bytes %d, want 673150545584", got)
	}
	// 8 x H200: 78.4 GiB of weights per GPU, within 0.9 x 141 GiB.
	if per := m.WeightBytes() / 8; per > 141*gib*9/10-40*gib {
		t.Errorf("%d weight bytes per GPU leave under 40 GiB for the KV cache", per)
	}
	// MLA caches one latent per token and layer, kv_lora_rank 512 +
	// qk_rope_head_dim 64 elements, whole on every TP rank: 61 x 576 x 2
	// bytes in BF16 (the config sets no KV quantization), x 1 in FP8.
	for _, tp := range []int{1, 8} {
		if got := m.KVBytesPerToken(tp, 1); got != 61*576*2 {
			t.Errorf("TP%d BF16 KV bytes per token %d, want %d", tp, got, 61*576*2)
		}
		if got := m.WithPrecision(Unquantized, FP8).KVBytesPerToken(tp, 1); got != 61*576 {
			t.Errorf("TP%d FP8 KV bytes per token %d, want %d", tp, got, 61*576)
		}
	}
	// Two stages: 31 layers on the first.
	if got := m.KVBytesPerToken(8, 2); got != 31*576*2 {
		t.Errorf("PP2 KV bytes per token %d", got)
	}
}

// TestGptOss120B: MXFP4 experts, BF16 attention, and KV that grows only
// in the 18 full-attention layers.
func TestGptOss120B(t *testing.T) {
	m, err := LookupModel("openai/gpt-oss-120b")
	if err != nil {
		t.Fatal(err)
	}
	// By hand (h 2880, V 201088, 36 layers, 64 heads and 8 KV heads of 64,
	// 128 experts of 2880, biases and sinks):
	//   unquantized: embeddings + LM head 2 x 201088 x 2880 + 2880, per
	//     layer norms 2 x 2880, q/k/v/o biases 80 x 64 + 2880, 64 sinks;
	//     routers 36 x (2880 x 128 + 128); expert biases 36 x 128 x
	//     (2 x 2880 + 2880) = 1,211,856,192 params x 2 bytes
	//   attention (BF16) 36 x (2880 x 80 x 64 + 64 x 64 x 2880)
	//     = 955,514,880 params x 2 bytes
	//   experts (MXFP4) 36 x 128 x 3 x 2880 x 2880 = 114,661,785,600
	//     params, 6,998,400 blocks of 16384 at 8192 + 512 bytes
	// = 2,423,712,384 + 1,911,029,760 + 60,914,073,600 = 65,248,815,744
	if got := m.Params(); got != 116829156672 {
		t.Errorf("params %d, want 116829156672", got)
	}
	if got := m.WeightBytes(); got != 65248815744 {
		t.Errorf("weight bytes %d, want 65248815744", got)
	}
	// Full layers: 18 x 2 x 8 x 64 x 2 bytes per token; window layers: at
	// most 128 tokens x 18 layers x 2048 bytes per sequence.
	if got := m.KVBytesPerToken(1, 1); got != 36864 {
		t.Errorf("KV bytes per token %d, want 36864", got)
	}
	if got := m.KVWindowBytesPerSeq(1, 1); got != 128*18*2048 {
		t.Errorf("window KV bytes per sequence %d, want %d", got, 128*18*2048)
	}
	// TP8: one KV head per rank.
	if got := m.KVBytesPerToken(8, 1); got != 18*2*64*2 {
		t.Errorf("TP8 KV bytes per token %d", got)
	}
	// Three stages of 12 layers: 6 full and 6 window each.
	if m.KVBytesPerToken(1, 3) != 6*2048 || m.KVWindowBytesPerSeq(1, 3) != 6*128*2048 {
		t.Errorf("PP3: %d, %d", m.KVBytesPerToken(1, 3), m.KVWindowBytesPerSeq(1, 3))
	}
}

func TestPrecisionBytes(t *testing.T) {
	for _, c := range []struct {
		p    Precision
		n    int64
		want int64
	}{
		{Unquantized, 1000, 2000}, {BF16, 1000, 2000}, {FP8, 1000, 1000},
		{FP8Block, 16384, 16388}, {FP8Block, 16385, 16390}, // a partial block rounds up
		{NVFP4, 16, 9}, {MXFP4, 32, 17}, {INT4, 128, 67}, // 4-bit pairs plus scales, rounded up
		{NVFP4, 16384, 9216}, {MXFP4, 16384, 8704}, {INT4, 16384, 8512},
	} {
		if got := c.p.bytes(c.n, 2); got != c.want {
			t.Errorf("%q: %d elements take %d bytes, want %d", c.p, c.n, got, c.want)
		}
	}
	for in, want := range map[string]Precision{"FP8": FP8, "fp8_block": FP8Block, "NVFP4": NVFP4, "fp4": NVFP4,
		"w4a16": INT4, "bfloat16": BF16, "mxfp4": MXFP4, "auto": Unquantized} {
		if got, err := ParsePrecision(in); err != nil || got != want {
			t.Errorf("ParsePrecision(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := ParsePrecision("fp6"); err == nil {
		t.Error("fp6 accepted")
	}
	m, _ := LookupModel("Llama-3-8B")
	m.KVCache = NVFP4
	if errs := m.Validate(); len(errs) != 1 {
		t.Errorf("an NVFP4 KV cache: %v", errs)
	}
}

func h200(t *testing.T) cost.CostModel {
	g, err := cost.LookupGPU("H200")
	if err != nil {
		t.Fatal(err)
	}
	return cost.NewRoofline(g)
}

// TestRankWeightBytes: the weights one GPU holds under TP, PP and
// attention data parallelism with the experts spread over every GPU.
func TestRankWeightBytes(t *testing.T) {
	// A dense model at TP <= KV heads splits everything but the norms.
	m := lookup(t, "Llama-3.1-70B")
	norms := int64(80*2*8192+8192) * 2
	if got, want := m.RankWeightBytes(4, 1, 1), (m.WeightBytes()-norms)/4+norms; got != want {
		t.Errorf("Llama-3.1-70B TP4: %d bytes per GPU, want %d", got, want)
	}
	r1 := lookup(t, "deepseek-ai/DeepSeek-R1")
	// TP8: each GPU holds an eighth of nearly everything; MLA's q_a_proj
	// and kv_a_proj_with_mqa (61 x 7168 x 2112 FP8 weights), the norms and
	// the routers are whole on every GPU.
	tp8 := r1.RankWeightBytes(8, 1, 1)
	if lo, hi := r1.WeightBytes()/8, r1.WeightBytes()/8+int64(1.2e9); tp8 < lo || tp8 > hi {
		t.Errorf("DeepSeek-R1 TP8: %d bytes per GPU, want just over %d", tp8, lo)
	}
	// Attention DP 8 with the experts over the 8 GPUs: attention, dense
	// MLPs, shared experts, embeddings and LM head are whole on each GPU
	// (1.96e9 BF16 + 15.2e9 FP8 params: 19.1 GB) and an eighth of the
	// experts (653.9e9 / 8 FP8 params: 81.8 GB), within an H200.
	dp8 := r1.RankWeightBytes(1, 1, 8)
	if dp8 < 100e9 || dp8 > 101.5e9 || dp8 > 141*gib*9/10 {
		t.Errorf("DeepSeek-R1 attention DP8: %d bytes per GPU, want about 100.9 GB", dp8)
	}
	// Two stages: the larger holds the embeddings and 31 layers.
	if pp2 := r1.RankWeightBytes(8, 2, 1); pp2 < tp8/2 || pp2 > tp8*6/10 {
		t.Errorf("DeepSeek-R1 TP8 PP2: %d bytes per GPU against %d at PP1", pp2, tp8)
	}
}
