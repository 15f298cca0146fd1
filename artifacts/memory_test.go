package artifacts

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trainyard/trainyard/migrations"
	"github.com/trainyard/trainyard/migrations/dbtest"
)

const (
	bigSize      = 100 << 20 // the artifact
	maxGrowthMiB = 50        // what storing and downloading it may add to the process
)

// TestHundredMegabyteArtifact stores a 100 MiB artifact from a stream and
// downloads it over HTTP, on each database, each in a process of its own:
// the bytes and sha256 come back and the process's peak resident memory grows
// by less than 50 MiB over what it held before.
func TestHundredMegabyteArtifact(t *testing.T) {
	if os.Getenv("ARTIFACTS_MEMORY_CHILD") != "" {
		memoryChild(t)
		return
	}
	if testing.Short() {
		t.Skip("writes 100 MiB to each database")
	}
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, d migrations.Dialect) {
		u := dbtest.URL(t, d)
		cmd := exec.Command(os.Args[0], "-test.run=^TestHundredMegabyteArtifact$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "ARTIFACTS_MEMORY_CHILD=1", "ARTIFACTS_MEMORY_DB="+u, "ARTIFACTS_MEMORY_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			if strings.Contains(line, "memory_test.go") {
				t.Log(strings.TrimSpace(line))
			}
		}
		if err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
	})
}

func memoryChild(t *testing.T) {
	ctx := context.Background()
	db, err := migrations.OpenDatabase(ctx, os.Getenv("ARTIFACTS_MEMORY_DIR"), os.Getenv("ARTIFACTS_MEMORY_DB"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := NewStore(db.Gorm)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r, err := s.Open(req.Context(), "big")
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		defer r.Close()
		Serve(w, req, r, "big.bin")
	}))
	defer srv.Close()
	runtime.GC()
	debug.FreeOSMemory()
	before := procStatusKiB(t, "VmRSS")

	t0 := time.Now()
	src := sha256.New()
	a, err := s.Put(ctx, "big", io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{7}), bigSize), src))
	if err != nil {
		t.Fatal(err)
	}
	put := time.Since(t0)
	want := hex.EncodeToString(src.Sum(nil))
	if a.Size != bigSize || a.SHA256 != want {
		t.Fatalf("stored %d bytes, sha256 %s; want %d, %s", a.Size, a.SHA256, bigSize, want)
	}
	t0 = time.Now()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	n, err := io.Copy(got, res.Body)
	res.Body.Close()
	get := time.Since(t0)
	if err != nil || n != bigSize || res.ContentLength != bigSize || hex.EncodeToString(got.Sum(nil)) != want ||
		res.Header.Get("ETag") != strconv.Quote(want) {
		t.Fatalf("download: %d bytes of %d (Content-Length %d), %v, etag %s", n, bigSize, res.ContentLength, err, res.Header.Get("ETag"))
	}
	peak := procStatusKiB(t, "VmHWM")
	growth := float64(peak-before) / 1024
	t.Logf("%s: stored 100 MiB in %v (%.0f MiB/s), downloaded in %v (%.0f MiB/s); peak RSS %.0f MiB, %.1f MiB over the %.0f MiB before",
		db.Dialect, put.Round(time.Millisecond), 100/put.Seconds(), get.Round(time.Millisecond), 100/get.Seconds(),
		float64(peak)/1024, growth, float64(before)/1024)
	if growth >= maxGrowthMiB {
		t.Fatalf("peak resident memory grew by %.1f MiB storing and downloading 100 MiB; want < %d", growth, maxGrowthMiB)
	}
}

// procStatusKiB reads a kB field of /proc/self/status.
func procStatusKiB(t *testing.T, field string) int64 {
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
