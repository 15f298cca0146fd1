package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/trainyard/trainyard/artifacts"
	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
	"github.com/trainyard/trainyard/runs"
)

const (
	bigWeights    = 100 << 20 // the weights stored and downloaded
	maxGrowthMiB  = 50        // what that may add to the process's peak memory
	memoryChildEV = "SERVER_DOWNLOAD_MEMORY_CHILD"
)

// TestWeightsDownloadMemory stores 100 MiB of weights for a run, committed
// with its success under its lease as the trainer does, and downloads them
// through GET /api/runs/:id/weights, on each database, each in a process of
// its own: the bytes come back with Content-Length, the sha256 as ETag and
// Digest and as the run's weights_sha256, and the process's peak resident
// memory grows by less than 50 MiB over what it held before.
func TestWeightsDownloadMemory(t *testing.T) {
	if os.Getenv(memoryChildEV) != "" {
		downloadMemoryChild(t)
		return
	}
	if testing.Short() {
		t.Skip("writes 100 MiB to each database")
	}
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d migrations.Dialect) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWeightsDownloadMemory$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), memoryChildEV+"=1", "SERVER_MEMORY_DB="+dbtest.URL(t, d), "SERVER_MEMORY_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "download_memory_test.go") {
				t.Log(strings.TrimSpace(line))
			}
		}
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
	})
}

func downloadMemoryChild(t *testing.T) {
	ctx := context.Background()
	a := setupCfg(t, Config{Workers: 0, DataDir: os.Getenv("SERVER_MEMORY_DIR"), DB: os.Getenv("SERVER_MEMORY_DB")})
	_, ids := a.create(t, `{"preset": "mnist-nn1", "overrides": {"epochs": 1, "train_limit": 500}}`)
	id := ids[0]
	st := runs.NewStore(a.srv.db.Gorm)
	lease, err := st.Start(ctx, id, "cpu", "w1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	debug.FreeOSMemory()
	before := statusKiB(t, "VmRSS")

	t0 := time.Now()
	src := sha256.New()
	w, err := artifacts.NewStore(a.srv.db.Gorm).Create(ctx, runs.WeightsArtifact(id))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{9}), bigWeights), src)); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(func(tx *gorm.DB, art artifacts.Artifact) error {
		return st.WithTx(tx).Succeed(ctx, lease, runs.TestResult{Accuracy: 0.5}, runs.Weights{Artifact: art.Name, SHA256: art.SHA256}, nil)
	}); err != nil {
		t.Fatal(err)
	}
	put := time.Since(t0)
	want := hex.EncodeToString(src.Sum(nil))

	t0 = time.Now()
	res, err := http.Get(fmt.Sprintf("%s/api/runs/%d/weights", a.url, id))
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, res.Body)
	res.Body.Close()
	get := time.Since(t0)
	sum := hex.EncodeToString(got.Sum(nil))
	if err != nil || res.StatusCode != http.StatusOK || n != bigWeights || res.ContentLength != bigWeights || sum != want ||
		res.Header.Get("ETag") != strconv.Quote(want) || !strings.HasPrefix(res.Header.Get("Digest"), "sha-256=") {
		t.Fatalf("download: %d, %d bytes of %d (Content-Length %d), %v, sha256 %s want %s, ETag %s, Digest %s",
			res.StatusCode, n, bigWeights, res.ContentLength, err, sum, want, res.Header.Get("ETag"), res.Header.Get("Digest"))
	}
	peak := statusKiB(t, "VmHWM")
	r := decode[runs.Run](t, func() []byte { _, b, _ := a.do(t, "GET", fmt.Sprintf("/api/runs/%d", id), ""); return b }())
	if r.WeightsSHA256 == nil || *r.WeightsSHA256 != want {
		t.Fatalf("weights_sha256 %v, want %s", r.WeightsSHA256, want)
	}
	growth := float64(peak-before) / 1024
	t.Logf("%s: stored 100 MiB of weights in %v (%.0f MiB/s), downloaded through the route in %v (%.0f MiB/s); peak RSS %.0f MiB, %.1f MiB over the %.0f MiB before",
		a.srv.db.Dialect, put.Round(time.Millisecond), 100/put.Seconds(), get.Round(time.Millisecond), 100/get.Seconds(),
		float64(peak)/1024, growth, float64(before)/1024)
	if growth >= maxGrowthMiB {
		t.Fatalf("peak resident memory grew by %.1f MiB storing and downloading 100 MiB; want < %d", growth, maxGrowthMiB)
	}
}

// statusKiB reads a kB field of /proc/self/status.
func statusKiB(t *testing.T, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}
