package protocol

// Tables reports the sizes of the pending map and the served table, for tests that check that
// every exit path cleans up (T-CALLP-33).
func (c *CallConnection) Tables() (pending, served int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending), len(c.served)
}
