package replay

// executor turns formed batches into events at one level of detail. The
// replica code calls it once per step and stage; the events it schedules
// come back to it through the event loop, and it ends each stage with
// Simulator.stageDone. highExecutor and mediumExecutor are the two
// implementations; the LoD is chosen once, in NewSimulator.
type executor interface {
	// initReplica sets up what rp's stages need (high: ranks and links).
	initReplica(rp *replica)
	// start begins b's computation on st, which was free.
	start(st *stage, b *batch)
	// forward sends b's activations from st to the next stage.
	forward(st *stage, b *batch)
	// startRun may advance the newly formed step b as the first of a run
	// of identical decode steps; it reports false when b is to run as a
	// single step.
	startRun(rp *replica, b *batch, preempted bool) bool
}
