// Package replay is lodsim's deterministic discrete-event engine and the
// serving system it simulates: a router in front of data-parallel replicas,
// each a TP x PP group of GPUs joined by links, running an engine's
// continuous-batching scheduler over a paged KV cache with preemption by
// recompute.
//
// The core reads no files, clock or global randomness: the caller passes a
// Config, a model, a cost model, a request source and a result sink, and
// Run returns the same Stats and the same sequence of results for the same
// inputs and seed. Simulated time is an integer count of nanoseconds; events
// are ordered by (time, sequence number) in a typed heap of value structs.
// A replica's scheduler runs once every event at the current time has been
// applied, as an engine's loop sees it: a request that arrives, or whose KV
// lands, on the very ns a step ends is in the next step whichever event was
// pushed first, at every level of detail. Likewise an arrival is routed once
// every other event at its ns (samples aside) is applied, so the router sees
// a step that ended on that ns as ended (Simulator.onArrival).
// Step and RunUntil advance a run event by event or to a time, so that tests
// can look at each replica's state (Replica) in the middle of a run.
//
// Each concept has its own type and file:
//
//   - sim.go, loop.go, finish.go: the Simulator, its event loop and its end;
//   - source.go, router.go: arrivals from the workload and the replica each
//     goes to;
//   - replica.go, stage.go, batch.go: a replica's queues, its pipeline
//     stages and the step moving through them;
//   - kvpool.go: the paged KV cache, which owns every block count change
//     and states its invariants (checked by CheckKV);
//   - scheduler.go: the scheduler interface (batch formation, admission,
//     preemption victim); sched_vllm.go, sched_sglang.go and
//     sched_trtllm.go are the vLLM V1, SGLang and TensorRT-LLM policies,
//     admission_reserve.go SGLang's conservative admission;
//   - engine.go: the serving engines' documented defaults per version
//     (scheduler.engine, scheduler.engine_version);
//   - stepcost.go, cudagraph.go: a formed step's costs as the engine runs
//     it (CUDA-graph padding, TensorRT-LLM's overlap scheduler);
//   - executor.go: how a formed batch becomes events, one executor per
//     level of detail (exec_high.go with links.go, exec_medium.go with
//     decoderun.go and mediumcost.go, straggler.go; exec_adaptive.go runs
//     each step on one of the two);
//   - expertparallel.go, alltoall.go, expertload.go: MoE layers with
//     expert parallelism over attention data-parallel replicas: the
//     settings, the high level's per-rank dispatch and combine transfers,
//     and the seeded skew of the ranks' expert loads;
//   - stepdone.go: the one bookkeeping path of a finished step, shared by
//     single steps and settled decode runs;
//   - sample.go, stats.go, result.go: time series, statistics and results;
//   - pool.go: what the replicas of a pool share (config, planner, links,
//     router): one aggregated pool, or with cluster.disaggregated
//     (config_disagg.go) a prefill and a decode pool, joined by disagg.go
//     (the request path between them, the KV blocks held on both sides,
//     the room policy) and kvtransfer.go (the KV transfer: streamed per
//     layer over the modelled links at high LoD, analytical at medium).
//
// Three levels of detail share everything but the executor:
//
//   - high replays every layer's operations on every TP rank's own compute
//     stream and each all-reduce as a ring of 2(N-1) point-to-point transfers
//     per rank over modelled links that share bandwidth between concurrent
//     transfers; optional per-rank, per-operation variability lets a slow
//     rank delay the collective. With expert parallelism each MoE layer's
//     token dispatch and combine are per-rank all-to-all transfers, and a
//     rank with more tokens (cluster.expert_skew) is a straggler.
//   - medium runs one aggregated compute event and one analytical collective
//     (all-reduces and, with expert parallelism, all-to-alls at the mean
//     load) per step and stage, and, where nothing can change the batch (no
//     arrival, completion, KV block shortage or waiting request), advances a
//     whole run of decode steps in one event. It takes the expected effect
//     of variability (the slowest of N ranks) and of a shared bus (N ring
//     flows at once) analytically.
//   - adaptive runs medium and refines windows of steps to high where
//     high could differ, learning per step class the ratio of high's time
//     to medium's and applying it to every other step.
//
// Without variability, contention and expert skew both levels produce
// identical outputs: per-request results, ITL histogram, time series and
// statistics, on aggregated and disaggregated clusters alike.
package replay
