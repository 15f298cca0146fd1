package dataset

import (
	"crypto/md5"
	"encoding/hex"
	"testing"

	"github.com/trainyard/trainyard/experiments"
)

func TestEmbeddedMNISTChecksums(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		mnistTrainImages: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
		mnistTrainLabels: "d53e105ee54ea40749a09fcbcd1e9432",
		mnistTestImages:  "9fb629c4189551a2d022fa330f9573f3",
		mnistTestLabels:  "ec29112dd5afa0611ce80d1b7f02629c",
	}
	for name, sum := range want {
		b, err := mnistFiles.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got := md5.Sum(b)
		if hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: md5 %x, want %s", name, got, sum)
		}
	}
}

func TestMNIST(t *testing.T) {
	t.Parallel()
	train, test, err := MNIST()
	if err != nil {
		t.Fatal(err)
	}
	if train.N != 60000 || test.N != 10000 || train.H != 28 || train.W != 28 || train.C != 1 {
		t.Fatalf("train %d test %d %dx%dx%d", train.N, test.N, train.C, train.H, train.W)
	}
	for _, s := range []*Set{train, test} {
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	// The first training labels of MNIST are well known.
	if got := train.Name(train.Y[:8]); got != "50419213" {
		t.Errorf("first labels %q, want 50419213", got)
	}
	if got := test.Name(test.Y[:5]); got != "72104" {
		t.Errorf("first test labels %q, want 72104", got)
	}
	var counts [10]int
	for _, y := range test.Y {
		counts[y]++
	}
	if counts[1] != 1135 || counts[5] != 892 {
		t.Errorf("test class counts %v", counts)
	}
	again, _, _ := MNIST()
	if again != train {
		t.Error("MNIST decoded twice")
	}
	b, err := train.PNG(0)
	if err != nil || len(b) < 50 || string(b[1:4]) != "PNG" {
		t.Errorf("PNG: %v, %d bytes", err, len(b))
	}
}

func TestSplit(t *testing.T) {
	t.Parallel()
	full := synthetic(1000)
	spec := experiments.Spec{TrainFraction: 0.5, ValFraction: 0.2, Seed: 3}
	tr, val := Split(full, spec)
	if tr.N != 500 || val.N != 200 {
		t.Fatalf("split sizes %d/%d, want 500/200", tr.N, val.N)
	}
	seen := map[float32]bool{}
	for _, s := range []*Set{tr, val} {
		for i := range s.N {
			id := s.Pixels(i)[0]
			if seen[id] {
				t.Fatalf("example %v is in both sets", id)
			}
			seen[id] = true
			if int32(id)%10 != s.Labels(i)[0] {
				t.Fatalf("label of example %v moved", id)
			}
		}
	}
	tr2, _ := Split(full, spec)
	for i := range tr.X {
		if tr.X[i] != tr2.X[i] {
			t.Fatal("same seed gave a different split")
		}
	}
	spec.Seed = 4
	tr3, _ := Split(full, spec)
	if tr3.X[0] == tr.X[0] && tr3.X[1] == tr.X[1] && tr3.X[2] == tr.X[2] {
		t.Error("different seeds gave the same split")
	}
	spec.TrainLimit = 30
	tr4, val4 := Split(full, spec)
	if tr4.N != 30 || val4.N != 200 {
		t.Errorf("limited split %d/%d, want 30/200", tr4.N, val4.N)
	}
}

func TestPicture(t *testing.T) {
	t.Parallel()
	s := &Set{X: make([]float32, 2*3*2*2), Y: []int32{0, 1}, N: 2, C: 3, H: 2, W: 2, Heads: 1, Classes: []string{"a", "b"}}
	s.X[12] = 1 // example 1, red channel, pixel 0
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	r, g, _, _ := s.Image(1).At(0, 0).RGBA()
	if r != 0xffff || g != 0 {
		t.Errorf("pixel (0,0) = r%x g%x, want red", r, g)
	}
	if _, err := s.PNGBase64(0); err != nil {
		t.Error(err)
	}
	if s.Label(1) != "b" {
		t.Errorf("label %q", s.Label(1))
	}
}

// synthetic returns n 1x1x1 examples whose pixel is the example's index and
// whose label is the index mod 10.
func synthetic(n int) *Set {
	s := &Set{X: make([]float32, n), Y: make([]int32, n), N: n, C: 1, H: 1, W: 1, Heads: 1, Classes: DigitClasses()}
	for i := range n {
		s.X[i] = float32(i)
		s.Y[i] = int32(i % 10)
	}
	return s
}
