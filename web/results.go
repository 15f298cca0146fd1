package web

import (
	"encoding/base64"
	"math"
	"strings"

	"github.com/a-h/templ"

	"github.com/trainyard/trainyard/runs"
)

// confusionCell is one cell of a confusion matrix with its heat class.
type confusionCell struct {
	Count int
	// Heat is the CSS class heat-0 (empty) .. heat-9 (the whole row).
	Heat     string
	Diagonal bool
}

// confusionRow is one truth class of a confusion matrix.
type confusionRow struct {
	Class  string
	Cells  []confusionCell
	Total  int
	Recall string
}

// confusionRows colours each cell by its share of the row (the truth class),
// so mistakes stand out however the classes are balanced.
func confusionRows(t *runs.TestResult) []confusionRow {
	if t == nil {
		return nil
	}
	out := make([]confusionRow, len(t.Confusion))
	for i, row := range t.Confusion {
		total := 0
		for _, c := range row {
			total += c
		}
		r := confusionRow{Class: className(t.Classes, i), Total: total, Recall: "–"}
		for j, c := range row {
			heat := 0
			if c > 0 && total > 0 {
				// A square root scale lets a few percent of mistakes show.
				heat = 1 + int(math.Sqrt(float64(c)/float64(total))*8.999)
			}
			r.Cells = append(r.Cells, confusionCell{Count: c, Heat: "heat-" + itoa(heat), Diagonal: i == j})
		}
		if total > 0 && i < len(row) {
			r.Recall = pct(float64(row[i]) / float64(total))
		}
		out[i] = r
	}
	return out
}

// confusionClasses are the column heads of a confusion matrix.
func confusionClasses(t *runs.TestResult) []string {
	if t == nil || len(t.Confusion) == 0 {
		return nil
	}
	out := make([]string, len(t.Confusion[0]))
	for j := range out {
		out[j] = className(t.Classes, j)
	}
	return out
}

// className is the i-th class's name, or its index when the names are missing.
func className(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return itoa(i)
}

// pngSrc is an inline image URL for a base64 PNG, or "" when the data is not
// valid base64 (so nothing but an image can ever reach the src attribute).
func pngSrc(b64 string) templ.SafeURL {
	if b64 == "" {
		return ""
	}
	if _, err := base64.StdEncoding.DecodeString(b64); err != nil {
		return ""
	}
	return templ.SafeURL("data:image/png;base64," + b64)
}

// finalEpochs is the number of epochs a run finished.
func finalEpochs(r runs.Run) int { return len(r.Epochs) }

// isMultiHead reports whether a run has several output heads.
func isMultiHead(r runs.Run) bool { return r.Spec.Heads > 1 }

// progressOf is the progress to draw first: the props' own, or one built from
// the stored epochs.
func progressOf(p RunProps) Progress {
	if p.Progress != nil {
		return *p.Progress
	}
	pr := Progress{Epochs: p.Run.Spec.Epochs}
	if p.Run.Status == runs.StatusRunning {
		pr.Epoch = min(len(p.Run.Epochs)+1, p.Run.Spec.Epochs)
	}
	return pr
}

// cancelURL, weightsURL: the run's action links.
func cancelURL(id int64) templ.SafeURL  { return templ.SafeURL("/runs/" + itoa(id) + "/cancel") }
func weightsURL(id int64) templ.SafeURL { return templ.SafeURL("/api/runs/" + itoa(id) + "/weights") }

// deviceText is the device a run trained on, or a dash before it has one.
func deviceText(d string) string {
	if d == "" {
		return "–"
	}
	return d
}

// failureText is the plain message of a failed run: its first paragraph only,
// so a stack trace that slipped into the error never reaches the page.
func failureText(msg string) string {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return "No error message was recorded."
	}
	for _, cut := range []string{"\ngoroutine ", "\n\t", "\n\n"} {
		if i := strings.Index(msg, cut); i >= 0 {
			msg = msg[:i]
		}
	}
	return strings.TrimSpace(msg)
}

// batchesText is the batches per epoch, or a dash before the first progress event.
func batchesText(p Progress) string {
	if p.Batches <= 0 {
		return "–"
	}
	return itoa(p.Batches)
}

// speedText is the training speed of a progress event.
func speedText(p Progress) string {
	if p.ImagesPerSec <= 0 {
		return "– images/s"
	}
	return thousands(int(p.ImagesPerSec+0.5)) + " images/s"
}

// etaText is the time left of a progress event.
func etaText(p Progress) string {
	if p.ETASeconds <= 0 {
		return "– left"
	}
	return seconds(p.ETASeconds) + " left"
}
