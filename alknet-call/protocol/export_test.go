package protocol

// Tables reports the sizes of the pending map and the served table, for tests that check that
// every exit path cleans up (T-CALLP-33).
func (c *CallConnection) Tables() (pending, served int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending), len(c.served)
}

// Writing reports how many served requests have a call.responded being written right now.
func (c *CallConnection) Writing() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, se := range c.served {
		if se.writing.Load() {
			n++
		}
	}
	return n
}

// WithFixedRequestID makes a call use id as its wire id, so tests can provoke id collisions
// (T-CALLP-32).
func WithFixedRequestID(id string) CallOption {
	return func(o *callOptions) { o.fixedID = id }
}
