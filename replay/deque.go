package replay

// deque is a ring buffer of request slots: the waiting queue, which takes
// arrivals at the back and preempted requests at the front.
type deque struct {
	buf  []int32
	head int
	n    int
}

func (d *deque) grow() {
	nb := make([]int32, 2*len(d.buf)+16)
	for i := 0; i < d.n; i++ {
		nb[i] = d.buf[(d.head+i)%len(d.buf)]
	}
	d.buf, d.head = nb, 0
}

func (d *deque) pushBack(v int32) {
	if d.n == len(d.buf) {
		d.grow()
	}
	d.buf[(d.head+d.n)%len(d.buf)] = v
	d.n++
}

func (d *deque) pushFront(v int32) {
	if d.n == len(d.buf) {
		d.grow()
	}
	d.head = (d.head - 1 + len(d.buf)) % len(d.buf)
	d.buf[d.head] = v
	d.n++
}

func (d *deque) front() int32 { return d.buf[d.head] }

func (d *deque) popFront() int32 {
	v := d.buf[d.head]
	d.head = (d.head + 1) % len(d.buf)
	d.n--
	return v
}

func (d *deque) at(i int) int32 { return d.buf[(d.head+i)%len(d.buf)] }
