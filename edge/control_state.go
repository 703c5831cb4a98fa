package edge

// saveState writes the control state to StateFile, when set.
func (c *Control) saveState() error { return nil }
