package captcha

import (
	"strings"
	"testing"
)

func TestAlphabet(t *testing.T) {
	if NumClasses != 19 || len(Alphabet) != 19 {
		t.Fatalf("NumClasses = %d, want 19", NumClasses)
	}
	for i := 0; i < NumClasses; i++ {
		if got := ClassOf(Symbol(i)); got != i {
			t.Errorf("ClassOf(Symbol(%d)) = %d", i, got)
		}
	}
	for _, c := range []byte("0168BDEGIJLOSUVWXa") {
		if ClassOf(c) != -1 {
			t.Errorf("ClassOf(%q) = %d, want -1", c, ClassOf(c))
		}
	}
	if Symbol(-1) != 0 || Symbol(NumClasses) != 0 {
		t.Error("Symbol out of range should be 0")
	}
}

func TestLabelClassesRoundTrip(t *testing.T) {
	cls, err := LabelClasses("2AZ9")
	if err != nil {
		t.Fatal(err)
	}
	if cls != [4]int{0, 6, 18, 5} {
		t.Fatalf("LabelClasses(2AZ9) = %v", cls)
	}
	back, err := LabelFromClasses(cls[:])
	if err != nil || back != "2AZ9" {
		t.Fatalf("LabelFromClasses = %q, %v", back, err)
	}
	if _, err := LabelFromClasses([]int{0, 1, 2, 19}); err == nil {
		t.Error("class 19 accepted")
	}
	if _, err := LabelFromClasses([]int{0, 1, 2}); err == nil {
		t.Error("3 classes accepted")
	}
}

func TestValidateLabel(t *testing.T) {
	for _, tc := range []struct{ label, want string }{
		{"ACFH", ""},
		{"ACF", "3 characters, want 4"},
		{"ACFHK", "5 characters, want 4"},
		{"AC1H", `character '1' at position 3`},
		{"acfh", `character 'a' at position 1`},
	} {
		err := ValidateLabel(tc.label)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ValidateLabel(%q) = %v", tc.label, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateLabel(%q) = %v, want %q", tc.label, err, tc.want)
		}
	}
}
