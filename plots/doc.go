// Package plots draws the figures of a lodsim study as PNG images:
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
// Every figure is drawn from package analysis values only; this package
// computes nothing a reader would want as a number. Axes switch to a log
// scale when the data span more than a decade, and every figure has a
// title, axis labels with units and a legend. Colours follow the Okabe-Ito
// palette, which stays distinguishable under the common forms of colour
// blindness; the reference level of detail is always drawn solid and the
// other dashed, so identical curves remain visible.
//
// Output is deterministic: the same data give byte-identical PNGs.
package plots
