package models

import (
	"container/list"
	"sync"
	"time"
)

// Bounds of the memory of rejected API tokens: a minute, and 10,000 hashes (about
// 1.5 MB), so that a guesser who sends a fresh token each time evicts only its own.
const (
	rejectedTokenTTL  = time.Minute
	maxRejectedTokens = 10_000
)

// rejectedTokens remembers, for rejectedTokenTTL, the SHA-256 of API tokens found
// unknown, revoked or expired, with the error they got, so that sending one again
// costs no SQL lookup. None of these can become valid again: secrets are random, and
// revocation and expiry are final. Entries are kept in the order they were added,
// which is also the order in which they expire.
type rejectedTokens struct {
	mu     sync.Mutex
	byHash map[[32]byte]*list.Element // of *rejectedToken
	order  *list.List                 // oldest first
}

type rejectedToken struct {
	hash [32]byte
	err  *Error
	at   time.Time
}

func newRejectedTokens() *rejectedTokens {
	return &rejectedTokens{byHash: map[[32]byte]*list.Element{}, order: list.New()}
}

// get returns the error that hash got within the last rejectedTokenTTL, or nil.
func (r *rejectedTokens) get(hash [32]byte, now time.Time) *Error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	if e, ok := r.byHash[hash]; ok {
		return e.Value.(*rejectedToken).err
	}
	return nil
}

// add remembers that hash was refused with err, forgetting the oldest entry when
// the memory is full.
func (r *rejectedTokens) add(hash [32]byte, err *Error, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	if _, ok := r.byHash[hash]; ok {
		return
	}
	r.byHash[hash] = r.order.PushBack(&rejectedToken{hash: hash, err: err, at: now})
	for r.order.Len() > maxRejectedTokens {
		r.remove(r.order.Front())
	}
}

// expire forgets the entries older than rejectedTokenTTL.
func (r *rejectedTokens) expire(now time.Time) {
	for e := r.order.Front(); e != nil && now.Sub(e.Value.(*rejectedToken).at) >= rejectedTokenTTL; e = r.order.Front() {
		r.remove(e)
	}
}

func (r *rejectedTokens) remove(e *list.Element) {
	delete(r.byHash, e.Value.(*rejectedToken).hash)
	r.order.Remove(e)
}
