// Package sweep runs a grid of simulation configurations and tabulates what
// each costs and achieves: the capacity-planning question "which GPU,
// parallelism, replica count and engine limits serve this workload within my
// SLO at the lowest cost?".
//
// A Spec names a base configuration, the keys to sweep (a grid, plus
// optional explicit points) and fixed overrides. Keys are dotted paths into
// the configuration's YAML tree (scheduler.max_num_seqs) or short aliases
// (tp, replicas, gpu; see Aliases); an override is applied to the tree
// before the configuration is parsed, so configuration fields added later
// are sweepable without code here. NewPlan expands a Spec into Points, each
// with a resolved, validated configuration and an ID that hashes everything
// its row depends on.
//
// Execute runs the points of one shard on a worker pool. Each simulation is
// single-threaded and deterministic and rows are stored by point index, so
// the table is byte-identical whatever the worker count or the sharding. A
// sweep directory holds:
//
//	plan.json                     every point: index, ID, key values
//	parts/part-III-of-NNN.parquet one partition per shard (checkpointed)
//	sweep.parquet, sweep.csv      the merged table (Merge)
//
// A re-run reads its shard's partition and skips every point whose row is
// present with the same ID, so a preempted cluster job can be resubmitted.
// Merge checks that every point of the plan is present exactly once and
// names the missing shards and points.
//
// The Runner type is the one seam between a sweep and the simulator:
// Simulate is the default, and tests substitute their own.
package sweep
