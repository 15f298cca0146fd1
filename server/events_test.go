package server

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/runs"
)

// TestEventStreamReplaysRecordedEpochs opens a running run's event stream
// after two epochs have been recorded: the stream starts with them, so a
// page that loaded (or reconnected) late still draws every epoch.
func TestEventStreamReplaysRecordedEpochs(t *testing.T) {
	t.Parallel()
	a := setup(t, 1)
	_, ids := a.create(t, `{"name": "replay", "preset": "mnist-nn1", "overrides": {"epochs": 200, "batch_size": 64, "train_limit": 2000, "seed": 1}}`)
	id := ids[0]
	a.waitFor(t, id, 2*time.Minute, func(r runs.Run) bool { return len(r.Epochs) >= 2 || r.Status.Done() })
	defer a.do(t, "POST", "/api/runs/"+itoa(id)+"/cancel", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", a.url+"/api/runs/"+itoa(id)+"/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	var kinds []string
	epochs := map[string]int{}
	for sc.Scan() && len(kinds) < 4 {
		line := sc.Text()
		if k, ok := strings.CutPrefix(line, "event: "); ok {
			kinds = append(kinds, k)
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok && kinds[len(kinds)-1] == "epoch" {
			for _, n := range []string{`"epoch":1,`, `"epoch":2,`} {
				if strings.HasPrefix(d, "{"+n) {
					epochs[n]++
				}
			}
		}
	}
	if len(kinds) < 3 || kinds[0] != "status" || kinds[1] != "epoch" || kinds[2] != "epoch" || epochs[`"epoch":1,`] != 1 || epochs[`"epoch":2,`] != 1 {
		t.Fatalf("stream began with %v, epochs %v; want the status, then epochs 1 and 2 once each", kinds, epochs)
	}
}
