package web

import (
	"time"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// ExperimentItem is what the pages show of one stored experiment.
type ExperimentItem struct {
	ID        int64
	Name      string
	Preset    string
	CreatedAt time.Time
	// CreatedBy is who submitted it ("" without accounts).
	CreatedBy string
	// RunCount is the number of runs queued for the experiment.
	RunCount int
}

// HomeProps is the home page: experiments and runs, shown newest first.
type HomeProps struct {
	// Experiments are shown newest first (the page sorts a copy by CreatedAt).
	Experiments []ExperimentItem
	// Runs is the runs table: one page, its filters and sort.
	Runs RunsBrowserProps
	// ReportSources are the CAPTCHA sources "Reproduce the report" offers,
	// the default first and Selected.
	ReportSources []SourceChoice
	// Suites are the newest suites, newest first.
	Suites []experiments.Suite
}

// SourceChoice is one CAPTCHA source a form offers: its form value
// ("synthetic", "dataset:3") and what a person reads.
type SourceChoice struct {
	Value, Label string
	Selected     bool
}

// SuitesProps is the list of suites (/suites), newest first.
type SuitesProps struct {
	Suites []experiments.Suite
}

// NewExperimentProps is the new-experiment form. The server renders it empty
// (Spec zero: the page starts from the preset named by Preset, or the first
// preset) and again with the submitted values and Errors after a 422.
type NewExperimentProps struct {
	// Name is the experiment's name as typed.
	Name string
	// Preset is the preset the spec started from ("" for custom).
	Preset string
	// Repeats is how many seeds to queue (seed .. seed+repeats-1); 0 shows 1.
	Repeats int
	// Spec is the spec as submitted; a zero Spec (no layers) starts from Preset.
	Spec experiments.Spec
	// Presets are the presets to offer, in order (experiments.Presets()).
	Presets []experiments.Preset
	// CaptchaEnabled offers the captcha dataset and its presets (the server
	// always does; off, the form offers MNIST only).
	CaptchaEnabled bool
	// Errors maps a field's JSON path ("epochs", "layers[2].kernel", "name",
	// "repeats") to its message.
	Errors map[string]string
	// Estimate is what training the spec costs here, in one line
	// (experiments.Estimate.Text); the page redraws it from /api/summary.
	Estimate string
	// Sweep is the sweep the form's lists and ranges made, as submitted
	// (nil for a plain experiment); the page fills the fields back from it.
	Sweep *experiments.Sweep
}

// RunProps is the page of one run.
type RunProps struct {
	Run runs.Run
	// Progress is the latest progress of a running run, if known; the page
	// keeps it up to date from server-sent events.
	Progress *Progress
	// Datasets are the imported CAPTCHA datasets a succeeded CAPTCHA run
	// may be evaluated on from its page.
	Datasets []experiments.Dataset
}

// Progress is the payload of the "progress" server-sent event of a running
// run, and the page's starting point before the first event arrives.
type Progress = runs.Progress

// StatusEvent is the payload of the "status" server-sent event of a run.
type StatusEvent = runs.StatusChange

// CompareProps is the comparison of several stored runs, in the order given.
type CompareProps struct {
	Runs []runs.Run
	// Comparison is runs.Compare of Runs, built once by the handler, timed
	// to its Target validation accuracy.
	Comparison runs.Comparison
	// Missing lists requested run ids that were not found, shown as a note.
	Missing []int64
	// Groups are the runs grouped by GroupBy (by everything but the seed
	// when GroupBy is empty), with their statistics.
	Groups  []runs.Group
	GroupBy []string
}

// ExperimentProps is the page of one experiment.
type ExperimentProps struct {
	Experiment ExperimentItem
	// Spec is the experiment's spec (its runs differ only by seed).
	Spec experiments.Spec
	// Runs are the experiment's runs; Epochs are not read.
	Runs []runs.Run
	// Sweep is the sweep section of a swept experiment, nil otherwise.
	Sweep *SweepProps
	// Seeds summarizes the runs' results (mean ± std) when there are two or more.
	Seeds *runs.Group
	// Tags and Note are the person's labels and words on the experiment.
	Tags []string
	Note string
}

// NotFoundProps is the 404 page.
type NotFoundProps struct {
	// Message says what was not found; empty gives a generic line.
	Message string
}

// ErrorProps is the generic error page. Message is shown as is, so it must be
// safe for a person to read (never a stack trace).
type ErrorProps struct {
	// Code is the HTTP status code, shown in the title (500 when zero).
	Code    int
	Message string
}

// WorkersProps is the workers page: every registered worker, by name.
type WorkersProps struct {
	Workers []runs.Worker
}
