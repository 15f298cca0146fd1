package main

import (
	"flag"
	"fmt"
	"math"
	"strconv"

	"github.com/dustin/go-humanize"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/trainer"
)

// minRunMemory is the smallest run budget the flag takes.
const minRunMemory = 64 << 20

// budgetFlags are the limits on what one run may cost: `serve` takes them,
// and so will a `worker` command, with the same flags.
type budgetFlags struct {
	memory byteSize
	params int64
}

// addBudgetFlags registers --max-run-memory and --max-params on fs, with
// TRAINYARD_MAX_RUN_MEMORY and TRAINYARD_MAX_PARAMS as defaults.
func addBudgetFlags(fs *flag.FlagSet) (*budgetFlags, error) {
	b := &budgetFlags{params: experiments.DefaultMaxParams}
	if v := envOr("MAX_RUN_MEMORY", ""); v != "" {
		if err := b.memory.Set(v); err != nil {
			return nil, fmt.Errorf("TRAINYARD_MAX_RUN_MEMORY: %w", err)
		}
	}
	if v := envOr("MAX_PARAMS", ""); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("TRAINYARD_MAX_PARAMS must be a whole number >= 1, got %q", v)
		}
		b.params = n
	}
	fs.Var(&b.memory, "max-run-memory", fmt.Sprintf("memory budget of the runs trained here, e.g. 8GiB or 512MiB: a spec whose estimate exceeds it is refused, runs that do not fit together wait (TRAINYARD_MAX_RUN_MEMORY; default the lower of half the machine's or cgroup's memory and 8 GiB, here %s)",
		experiments.FormatBytes(trainer.DefaultRunMemory())))
	fs.Int64Var(&b.params, "max-params", b.params, "most parameters a model may have (TRAINYARD_MAX_PARAMS)")
	return b, nil
}

// check reports a value out of range after parsing.
func (b *budgetFlags) check() error {
	if b.params < 1 {
		return fmt.Errorf("--max-params must be >= 1, got %d", b.params)
	}
	return nil
}

// byteSize is a flag holding a byte count written with a unit ("8GiB",
// "512MiB", "2GB"); 0 means the default.
type byteSize int64

func (s *byteSize) String() string {
	if *s == 0 {
		return ""
	}
	return experiments.FormatBytes(int64(*s))
}

func (s *byteSize) Set(v string) error {
	n, err := humanize.ParseBytes(v)
	if err != nil {
		return fmt.Errorf("%q is not a size (write e.g. 8GiB or 512MiB)", v)
	}
	if n < minRunMemory || n > math.MaxInt64/2 {
		return fmt.Errorf("%q is out of range: between %s and %s", v, experiments.FormatBytes(minRunMemory), experiments.FormatBytes(math.MaxInt64/2))
	}
	*s = byteSize(n)
	return nil
}
