package validation

// Regression bounds of TestDevSetTarget: the figures reached plus 1 point.
const (
	ttftBoundCalib = 50.0
	tpotBoundCalib = 28.0
	ttftBoundEval  = 57.0
	tpotBoundEval  = 33.0
)
