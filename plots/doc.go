// Package plots draws the figures of a lodsim study:
//
//  1. EventReduction: events per level of detail for each configuration;
//  2. SpeedUp: simulation wall time per level of detail for each configuration;
//  3. Accuracy: latency CDFs of two levels of detail overlaid, and the
//     relative error of each summary metric;
//  4. LatencyCDF: TTFT, TPOT and E2E distributions of one run;
//  5. TimeSeries: throughput, queue length, batch size and KV-cache
//     utilisation over simulated time;
//  6. Calibration: predicted versus measured values with the y = x line and
//     each group's MAPE.
//
// SpeedUpSpread draws figure 2 from repeated runs (analysis.WallTimes): the
// median wall time with the range as whiskers, since single runs swing
// with the machine's load.
//
// Every figure is drawn from package analysis values only; this package
// computes nothing a reader would want as a number. Axes switch to a log
// scale when the data span more than a decade, linear axes carry five to
// ten round labelled ticks, CDF axes end at exactly 1, and every figure has
// a title, axis labels with units and one legend, in a strip of its own
// under the title, so that it never covers data. Colours follow the
// Okabe-Ito palette, which stays distinguishable under the common forms of
// colour blindness; the reference level of detail is always drawn solid
// and the other dashed, so identical curves remain visible.
//
// Figures render as PNG, or as SVG or PDF (vector, fonts embedded, for
// papers) when the writer passed is a FormatWriter. Output is
// deterministic: the same data give byte-identical files in each format.
package plots
