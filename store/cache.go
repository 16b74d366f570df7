package store

import "sync"

// versioned holds the newest value a Store has loaded of something the
// database numbers with a version (the catalog, the owners list), so that
// a request learns whether its copy is current from a version it reads
// anyway, and every srm process sees a change on its next request.
//
// Its values are shared by every request: T must be a type whose holders
// cannot change what the next caller gets (Catalog and ownerList keep
// their slices unexported and hand out copies).
//
// A nil *versioned caches nothing: every at loads. That is what a Store
// made by New on a transaction has.
type versioned[T any] struct {
	mu      sync.RWMutex
	set     bool
	version int64
	value   T
}

// at returns the value at version: the cached one when it is at that
// version, else the one load reads, with the version it was read at. When
// keep is true and no newer value is cached, the loaded one is kept. A
// Store bound to a transaction passes false: a transaction may read a
// version that is then rolled back, and whose number a later commit
// reuses with other contents.
func (c *versioned[T]) at(version int64, keep bool, load func() (T, int64, error)) (T, error) {
	if c != nil {
		c.mu.RLock()
		if c.set && c.version == version {
			v := c.value
			c.mu.RUnlock()
			return v, nil
		}
		c.mu.RUnlock()
	}
	v, at, err := load()
	if err != nil {
		var zero T
		return zero, err
	}
	if c != nil && keep {
		c.mu.Lock()
		if !c.set || at >= c.version {
			c.set, c.version, c.value = true, at, v
		}
		c.mu.Unlock()
	}
	return v, nil
}

// current returns the cached value and its version, and false when there
// is none (nothing loaded yet, or a nil *versioned).
func (c *versioned[T]) current() (T, int64, bool) {
	var zero T
	if c == nil {
		return zero, 0, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.set {
		return zero, 0, false
	}
	return c.value, c.version, true
}
