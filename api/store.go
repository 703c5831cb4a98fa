package api

import (
	"context"
	"errors"
)

// The DynamoDB table layout, shared by the store (api/dynamo, which explains it) and the
// CloudFormation template (infra/aws).
const (
	// NewestIndex is the GSI that lists messages newest first.
	NewestIndex = "newest"
	// BoardPartition is the value of "board" on every message item.
	BoardPartition = "msg"
)

// Outcome says what a Put did.
type Outcome int

const (
	// Created: the id was new and the message is now stored (HTTP 201).
	Created Outcome = iota + 1
	// Existing: a message with this id and the same content was already stored, so nothing
	// changed; this is the retry of a write that had succeeded (HTTP 200).
	Existing
	// Conflict: a message with this id but other content is stored; nothing changed (HTTP 409).
	Conflict
)

func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Existing:
		return "existing"
	case Conflict:
		return "conflict"
	}
	return "unknown"
}

// ErrBadCursor is returned by List when the cursor was not produced by the same store.
var ErrBadCursor = errors.New("cursor is not valid")

// Store keeps the board's messages. Implementations: dynamo.Store (AWS), MemoryStore (tests,
// bootstrap self-checks) and infra/local's replicas (the local world).
type Store interface {
	// Put stores m unless its id is taken. The check and the write are one atomic step
	// in the store's own region (a conditional write): it never overwrites. It returns the
	// message as stored: m for Created, the earlier message for Existing and Conflict.
	Put(ctx context.Context, m Message) (Message, Outcome, error)
	// List returns up to limit messages, newest first, starting after cursor ("" for the
	// newest), and the cursor of the next page ("" when there is none).
	List(ctx context.Context, limit int, cursor string) ([]Message, string, error)
	// Ping reports whether the store can serve: the region's health check.
	Ping(ctx context.Context) error
}
