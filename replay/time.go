package replay

// Time is simulated time: an integer count of nanoseconds since the start of
// the run. It is a named type, not an alias, so that a count of tokens or
// bytes cannot be passed where a time is expected.
type Time int64
