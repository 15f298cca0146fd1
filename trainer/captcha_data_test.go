package trainer

import (
	"slices"
	"testing"

	"github.com/trainyard/trainyard/experiments"
)

func TestCaptchaSplits(t *testing.T) {
	t.Parallel()
	p, _ := experiments.PresetByName("captcha-model2")
	spec := p.Spec
	spec.Source = &experiments.Source{Kind: experiments.SourceSynthetic, Images: 50, Seed: 3}
	c := newDataCache()
	s, err := c.splits(spec)
	if err != nil {
		t.Fatal(err)
	}
	if s.Test.N != 10 || s.Train.N+s.Val.N != 40 || s.Val.N != 8 {
		t.Fatalf("train %d val %d test %d, want 32/8/10", s.Train.N, s.Val.N, s.Test.N)
	}
	for _, set := range []*struct{ n, c, h, w, heads, classes int }{
		{s.Train.N, s.Train.C, s.Train.H, s.Train.W, s.Train.Heads, len(s.Train.Classes)},
	} {
		if set.c != 1 || set.h != 50 || set.w != 130 || set.heads != 4 || set.classes != 19 {
			t.Fatalf("shape %+v", *set)
		}
	}
	if err := s.Test.Validate(); err != nil {
		t.Fatal(err)
	}
	// Another seed for the run keeps the same test images; another mode has 3 channels.
	spec.Seed = 9
	s2, err := c.splits(spec)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Test != s.Test || slices.Equal(s2.Train.Y, s.Train.Y) {
		t.Fatal("test set must be shared and train shuffled by the run's seed")
	}
	spec.Preprocessing = experiments.PreNone
	s3, err := c.splits(spec)
	if err != nil {
		t.Fatal(err)
	}
	if s3.Test.C != 3 || !slices.Equal(s3.Test.Y, s.Test.Y) {
		t.Fatalf("nopre: C=%d, labels equal %v", s3.Test.C, slices.Equal(s3.Test.Y, s.Test.Y))
	}
	if got := CaptchaTestIndices(50); len(got) != 10 {
		t.Fatalf("test indices %d", len(got))
	}
}
