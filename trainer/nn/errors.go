package nn

import (
	"errors"
	"fmt"
	"math"
)

// ErrDiverged is matched (with errors.Is) by the error Fit returns when the
// loss stops being a finite number.
var ErrDiverged = errors.New("training diverged")

// DivergedError says at which epoch and batch the loss became NaN or
// infinite. It is a failure of the run's settings, not of trainyard.
type DivergedError struct {
	Epoch, Batch int
	Loss         float64
}

// Error explains what happened and what to try, e.g. "loss became NaN at
// epoch 3 (batch 17): try a lower learning rate".
func (e *DivergedError) Error() string {
	what := "NaN"
	if math.IsInf(e.Loss, 0) {
		what = "infinite"
	}
	return fmt.Sprintf("loss became %s at epoch %d (batch %d): try a lower learning rate", what, e.Epoch, e.Batch)
}

// Is makes errors.Is(err, ErrDiverged) true.
func (e *DivergedError) Is(target error) bool { return target == ErrDiverged }
