package experiments

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits are what one run may cost where it trains. Zero fields do not limit.
type Limits struct {
	// MaxMemoryBytes is the memory one run may hold (the run budget).
	MaxMemoryBytes int64
	// MaxParams is the most parameters a model may have.
	MaxParams int64
}

// DefaultMaxParams is the parameter cap when none is configured.
const DefaultMaxParams = 100_000_000

// Admit checks the estimate against the limits and returns a
// *ValidationError naming, for each excess, the spec field that drives it
// and both numbers ("batch_size": "needs about 840 GiB of memory; this
// server allows 8 GiB per run"), or nil when the run fits.
func (e Estimate) Admit(l Limits) error {
	errs := map[string]string{}
	add := func(field, msg string) {
		if prev, ok := errs[field]; ok {
			msg = prev + "; " + msg
		}
		errs[field] = msg
	}
	if l.MaxParams > 0 && e.Params > l.MaxParams {
		add(cmp(e.ParamsField, "layers"), fmt.Sprintf("the model has %s parameters; this server allows at most %s",
			Thousands(e.Params), Thousands(l.MaxParams)))
	}
	if l.MaxMemoryBytes > 0 && e.MemoryBytes > l.MaxMemoryBytes {
		add(cmp(e.MemoryField, "batch_size"), fmt.Sprintf("needs about %s of memory; this server allows %s per run",
			FormatBytes(e.MemoryBytes), FormatBytes(l.MaxMemoryBytes)))
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

func cmp(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// Text is the estimate in one line for people: "training memory 1.0 GiB,
// 0.53 GFLOP per image, about 40 s per epoch here". The time is left out
// when the machine's throughput is unknown.
func (e Estimate) Text() string {
	parts := []string{"training memory " + FormatBytes(e.MemoryBytes), formatFLOPs(e.FLOPsPerImage) + " per image"}
	if e.EpochSeconds > 0 {
		parts = append(parts, "about "+FormatSeconds(e.EpochSeconds)+" per epoch here")
	}
	return strings.Join(parts, ", ")
}

// FormatBytes writes a byte count in binary units, whole when exact
// ("8 GiB") and with one decimal below 100 otherwise ("1.3 GiB").
func FormatBytes(b int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(b)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	switch {
	case v == math.Trunc(v) || v >= 100 || i == 0:
		return fmt.Sprintf("%.0f %s", v, units[i])
	default:
		return fmt.Sprintf("%.1f %s", v, units[i])
	}
}

func formatFLOPs(f float64) string {
	switch {
	case f >= 1e12:
		return fmt.Sprintf("%.3g TFLOP", f/1e12)
	case f >= 1e8:
		return fmt.Sprintf("%.2g GFLOP", f/1e9)
	default:
		return fmt.Sprintf("%.2g MFLOP", f/1e6)
	}
}

// FormatSeconds writes a duration for people: "0.13 s", "0.4 s", "40 s",
// "12 min", "2.5 h", "3 days". Below a second it keeps a digit or two, so
// that a sub-second epoch does not read "1 s" beside a total of 4 s.
func FormatSeconds(s float64) string {
	switch {
	case s < 0.095:
		return fmt.Sprintf("%.2f s", s)
	case s < 0.95:
		return fmt.Sprintf("%.1f s", s)
	case s < 120:
		return fmt.Sprintf("%.0f s", s)
	case s < 2*3600:
		return fmt.Sprintf("%.0f min", s/60)
	case s < 48*3600:
		return fmt.Sprintf("%.1f h", s/3600)
	default:
		return fmt.Sprintf("%.0f days", s/86400)
	}
}

// Thousands writes n with comma separators: 210,454,159,370.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
