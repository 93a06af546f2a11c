package replay

// TensorRT-LLM's attention-DP balancing (scheduler.attention_dp_balance,
// attention_dp_timeout_iters, attention_dp_batching_wait_iters: its
// attention_dp_config; PyExecutor._balance_adp_requests). The ranks of an
// attention data-parallel group share the MoE layers, so the engine runs
// their prompts in the same steps: every step, on every rank, a rank's
// prompts run when every rank of the group has a free batch slot (running
// < max_num_seqs) and a prompt to run, after batching_wait_iters such
// steps when every rank also decodes; otherwise they wait and the group
// counts the step, until timeout_iters steps have passed (or some rank has
// nothing decoding): then the waiting prompts run and the count restarts.
//
// The engine's ranks step in lockstep and share one count. lodsim's
// replicas step on their own clocks, so the group counts its replicas'
// steps together and a timeout passes every timeout_iters x (group size)
// of them; each replica then runs its waiting prompts once. Likewise, when
// a replica runs its prompts because every rank has one (a release), each
// other replica runs its own at its next step, as the engine's ranks do in
// the same step: without it a replica in a longer step (a prefill) missed
// releases that a faster one's short window offered, and waited for
// timeouts while the fastest ran its prompts. A rank "has a prompt" when
// one waits in its queue or its last step admitted one (the lockstep
// engine would have seen it in the same step); its decodes are its
// running requests (without context chunking a prompt's one step is the
// step that admits it).

// adpGroup is the state one attention data-parallel group shares: its
// balancing count and the requests waiting for a rank (adpassign.go).
type adpGroup struct {
	steps int    // replica steps since the count last restarted
	round uint32 // rounds in which every rank runs its prompts: timeouts, and steps some rank ran them with every rank having one (releases)
	queue deque  // requests no rank has room for yet
}

// count adds n replica steps of a group of dp ranks with timeout steps,
// passing a timeout every timeout x dp of them (every step for timeout 0:
// the engine's count then always reaches it, so nothing waits for one).
func (g *adpGroup) count(n, timeout, dp int) {
	g.steps += n
	if per := max(timeout*dp, 1); g.steps >= per {
		g.round += uint32(g.steps / per)
		g.steps %= per
	}
}

// adpRank is one replica's balancing state.
type adpRank struct {
	round    uint32 // the group's rounds this replica has run prompts on
	batched  int    // steps its prompts waited for a batch of every rank's
	admitted bool   // its last step admitted a prompt
}

// adpGroup is rp's attention data-parallel group's shared state.
func (p *workerPool) adpGroup(rp *replica) *adpGroup {
	i := int(rp.index) / p.planner.AttentionDP()
	for len(p.adp) <= i {
		p.adp = append(p.adp, adpGroup{})
	}
	return &p.adp[i]
}

// balancing reports whether attention-DP balancing applies: it is on and
// the replica is one rank of an attention data-parallel group.
func (t *trtllmScheduler) balancing() bool {
	return t.sc.AttentionDPBalance && t.rp.grp.planner.AttentionDP() > 1
}

// balanceHolds counts the step and reports whether balancing holds the
// replica's waiting prompts out of it.
func (t *trtllmScheduler) balanceHolds() bool {
	if !t.balancing() {
		return false
	}
	sc, rp := t.sc, t.rp
	dp := rp.grp.planner.AttentionDP()
	g := rp.grp.adpGroup(rp)
	g.count(1, sc.AttentionDPTimeoutIters, dp)
	first := int(rp.index) / dp * dp
	allFree, allPrompt, allDecode := true, true, true
	for _, o := range rp.grp.replicas[first : first+dp] {
		prompt := o.waiting.n > 0
		if ot, ok := o.sched.(*trtllmScheduler); ok && o != rp {
			prompt = prompt || ot.adp.admitted
		}
		allFree = allFree && len(o.running) < sc.MaxNumSeqs
		allPrompt = allPrompt && prompt
		allDecode = allDecode && len(o.running) > 0
	}
	a := &t.adp
	if allFree && allPrompt {
		g.steps = 0
		if allDecode && a.batched < sc.AttentionDPBatchingWaitIters {
			a.batched++
			return true
		}
		a.batched = 0
		g.round++
		a.round = g.round
		return false
	}
	if a.round != g.round || !allDecode {
		if !allDecode {
			g.steps = 0
		}
		a.round = g.round
		return false
	}
	return true
}
