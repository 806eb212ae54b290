package store

import "sync"

// writes serialise, within the process, the writes that read, modify and
// write one registry object: the appended layers of a .sig or .att tag,
// and the tag-schema fallback index of a subject's referrers (ggcr updates
// it after each referrer when the registry has no referrers API). The
// kinds of one subject are signed at once: without it, two attestations
// of one subject would each write the object as they read it, and one
// would be lost.
var writes keyedMutex

// keyedMutex is one mutex per key, held only while in use.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	users int
}

// lock locks key and returns its unlock.
func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
