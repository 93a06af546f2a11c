package trace

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

// ClosedLoop describes a closed-loop workload, the way benchmark tools
// measure serving engines: Clients concurrent clients each send a request,
// wait for it to complete, wait ThinkNs, and send the next, until Requests
// requests have been sent in total.
type ClosedLoop struct {
	Clients  int
	Requests int64
	Prompt   LengthDist
	Output   LengthDist
	ThinkNs  int64
	Seed     uint64
}

// ClosedLoopSource generates a ClosedLoop workload. It is a Reader and a
// Reactive source: at time 0 every client has a request ready (IDs
// 0..Clients-1); afterwards a client's next request becomes ready only when
// Completed reports its previous one. Next returns ErrPending when no request
// is ready but some are in flight, and io.EOF once Requests have been issued.
// Requests are issued in order of readiness (time, then client), and IDs
// count up in issue order, so the same completions give the same requests.
type ClosedLoopSource struct {
	spec  ClosedLoop
	rng   *rand.Rand
	ready readyHeap
	owner map[RequestID]int32 // in-flight request -> client

	issued         int64
	maxOutstanding int
	unknown        int64
}

// MaxClients bounds ClosedLoop.Clients: each client holds a heap slot and
// a map entry, so the bound keeps a typo (1e9 clients) from exhausting
// memory before the first request.
const MaxClients = 1 << 20

// NewClosedLoop validates spec and returns its source.
func NewClosedLoop(spec ClosedLoop) (*ClosedLoopSource, error) {
	var errs []string
	var err error
	if spec.Prompt, err = resolveLengths(spec.Prompt); err != nil {
		errs = append(errs, "prompt: "+err.Error())
	} else if err := spec.Prompt.Validate(); err != nil {
		errs = append(errs, "prompt: "+err.Error())
	}
	if spec.Output, err = resolveLengths(spec.Output); err != nil {
		errs = append(errs, "output: "+err.Error())
	} else if err := spec.Output.Validate(); err != nil {
		errs = append(errs, "output: "+err.Error())
	}
	if spec.Clients < 1 || spec.Clients > MaxClients {
		errs = append(errs, fmt.Sprintf("clients %d: expected 1 to %d", spec.Clients, MaxClients))
	}
	if spec.Requests < 1 {
		errs = append(errs, fmt.Sprintf("requests %d: expected at least 1", spec.Requests))
	}
	if spec.ThinkNs < 0 || spec.ThinkNs > DefaultMaxSpan {
		errs = append(errs, fmt.Sprintf("think time %d ns: expected 0 to %d ns (366 days)", spec.ThinkNs, DefaultMaxSpan))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("trace: closed-loop workload: %s", strings.Join(errs, "; "))
	}
	s := &ClosedLoopSource{
		spec:  spec,
		rng:   rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15)),
		owner: make(map[RequestID]int32, spec.Clients),
	}
	n := int64(spec.Clients)
	if n > spec.Requests {
		n = spec.Requests // clients beyond the total never send anything
	}
	for c := int64(0); c < n; c++ {
		s.ready.push(readyClient{at: 0, client: int32(c)})
	}
	return s, nil
}

// Next implements Reader.
func (s *ClosedLoopSource) Next() (Request, error) {
	if s.issued >= s.spec.Requests {
		return Request{}, io.EOF
	}
	if len(s.ready) == 0 {
		return Request{}, ErrPending
	}
	c := s.ready.pop()
	id := RequestID(s.issued)
	s.issued++
	s.owner[id] = c.client
	if len(s.owner) > s.maxOutstanding {
		s.maxOutstanding = len(s.owner)
	}
	return Request{
		ID:           id,
		Arrival:      c.at,
		PromptTokens: s.spec.Prompt.Draw(s.rng),
		OutputTokens: s.spec.Output.Draw(s.rng),
		Session:      clientSession(c.client),
	}, nil
}

func clientSession(c int32) string { return fmt.Sprintf("client-%d", c) }

// Completed implements Reactive: request id finished at simulated time at,
// so its client's next request arrives at at + ThinkNs. A completion of an
// id that is not in flight is ignored and counted (see UnknownCompletions).
func (s *ClosedLoopSource) Completed(id RequestID, at int64) {
	c, ok := s.owner[id]
	if !ok {
		s.unknown++
		return
	}
	delete(s.owner, id)
	// Only clients that still have a request to send come back.
	if s.issued+int64(len(s.ready)) < s.spec.Requests {
		s.ready.push(readyClient{at: at + s.spec.ThinkNs, client: c})
	}
}

// Outstanding is the number of requests issued and not yet completed.
func (s *ClosedLoopSource) Outstanding() int { return len(s.owner) }

// MaxOutstanding is the most requests ever in flight at once; never more
// than Clients.
func (s *ClosedLoopSource) MaxOutstanding() int { return s.maxOutstanding }

// Issued is the number of requests returned by Next so far.
func (s *ClosedLoopSource) Issued() int64 { return s.issued }

// UnknownCompletions counts Completed calls for ids not in flight.
func (s *ClosedLoopSource) UnknownCompletions() int64 { return s.unknown }

// Close implements Reader.
func (s *ClosedLoopSource) Close() error { return nil }

type readyClient struct {
	at     int64
	client int32
}

// readyHeap is a min-heap of clients by (ready time, client).
type readyHeap []readyClient

func (h readyHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].client < h[j].client
}

func (h *readyHeap) push(x readyClient) {
	*h = append(*h, x)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a.less(i, p) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *readyHeap) pop() readyClient {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(a) && a.less(l, m) {
			m = l
		}
		if r < len(a) && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
