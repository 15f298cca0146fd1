package web

import (
	"net/url"
	"time"

	"github.com/a-h/templ"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// SuiteProps is the page of a suite that reproduces the seed report
// (/suites/:id): the report's comparisons, each with the report's figures
// next to trainyard's runs.
type SuiteProps struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	// Source says what the CAPTCHA experiments train on.
	Source      string
	Comparisons []SuiteComparison
	// Live is true while a member's run is queued or running: the page then
	// refreshes its comparisons by itself.
	Live bool
}

// SuiteComparison is one comparison of the report.
type SuiteComparison struct {
	Title, Note string
	// CompareURL is /compare?runs=... of its runs ("" while fewer than two exist).
	CompareURL string
	Rows       []SuiteRow
}

// SuiteRow is one experiment in a comparison: the report's figures and the
// run trainyard made for it (Run.ID 0 when missing).
type SuiteRow struct {
	// Key names the member in the suite ("nn1-30").
	Key    string
	Label  string
	Report experiments.ReportFigures
	Run    runs.Run
}

// suiteProgress is how far a suite's runs are: runs ended of its members,
// and epochs trained of the epochs their specs ask for (an ended run counts
// whole, so one stopped early does not hold the bar short).
type suiteProgress struct {
	Ended, Members, Epochs, EpochsTotal int
}

func progressOfSuite(p SuiteProps) suiteProgress {
	var out suiteProgress
	seen := map[string]bool{}
	for _, c := range p.Comparisons {
		for _, r := range c.Rows {
			if seen[r.Key] {
				continue
			}
			seen[r.Key] = true
			out.Members++
			if r.Run.ID == 0 {
				continue
			}
			out.EpochsTotal += r.Run.Spec.Epochs
			if r.Run.Status.Done() {
				out.Ended++
				out.Epochs += r.Run.Spec.Epochs
			} else {
				out.Epochs += min(len(r.Run.Epochs), r.Run.Spec.Epochs)
			}
		}
	}
	return out
}

// canRequeue reports whether the member's run ended without results, so
// the page offers to queue it again.
func (r SuiteRow) canRequeue() bool {
	return r.Run.Status == runs.StatusCancelled || r.Run.Status == runs.StatusFailed
}

// requeueURL is the form action that queues the member again.
func requeueURL(suiteID int64, key string) templ.SafeURL {
	return templ.SafeURL("/suites/" + itoa(suiteID) + "/members/" + url.PathEscape(key) + "/requeue")
}

// suiteURL is a suite's page.
func suiteURL(id int64) templ.SafeURL { return templ.SafeURL("/suites/" + itoa(id)) }

func (r SuiteRow) captcha() bool {
	return r.Run.Spec.Dataset == experiments.DatasetCaptcha || r.Report.ImageAccuracy > 0
}

func (r SuiteRow) reportAccuracy() string {
	if r.captcha() {
		return pct(r.Report.ImageAccuracy) + " / " + pct(r.Report.CharAccuracy)
	}
	return pct(r.Report.Accuracy)
}

func (r SuiteRow) ourAccuracy() string {
	t := r.Run.Test
	switch {
	case t == nil:
		return "–"
	case r.captcha():
		return pctp(t.ImageAccuracy) + " / " + pctp(t.CharAccuracy)
	default:
		return pct(t.Accuracy)
	}
}

func (r SuiteRow) reportMs() string {
	if r.Report.MsPerImage == 0 {
		return "–"
	}
	return fixed(r.Report.MsPerImage, 0) + " ms"
}

func (r SuiteRow) ourMs() string {
	if r.Run.Test == nil {
		return "–"
	}
	return fixed(r.Run.Test.MsPerImage, 3) + " ms"
}

func (r SuiteRow) reportTime() string {
	if r.Report.TrainSeconds == 0 {
		return "–"
	}
	return seconds(r.Report.TrainSeconds)
}

func (r SuiteRow) ourTime() string {
	if r.Run.TrainSeconds == 0 {
		return "–"
	}
	return seconds(r.Run.TrainSeconds)
}
