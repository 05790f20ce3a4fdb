package jobs

import (
	"context"
	"fmt"
)

// queueStepper steps every open waiting room once for the current second;
// each event's step of a second runs once across every instance.
type queueStepper interface {
	Step(ctx context.Context) error
}

// QueueAdmission is the waiting room's clock: every instance runs it each
// second, and the queue's own step (a script that refuses a second already
// done) makes sure admissions, expiries and closings happen once per event
// and second cluster-wide, as Transitions' claims do for status changes.
type QueueAdmission struct {
	Rooms queueStepper
}

// Run is the job body.
func (q *QueueAdmission) Run(ctx context.Context) error {
	if err := q.Rooms.Step(ctx); err != nil {
		return fmt.Errorf("step waiting rooms: %w", err)
	}
	return nil
}
