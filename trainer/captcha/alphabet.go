package captcha

import (
	"fmt"
	"strings"
)

// Alphabet holds the 19 symbols a THSR CAPTCHA is drawn from, in class order:
// the class index of a symbol is its position in Alphabet.
const Alphabet = "234579ACFHKMNPQRTYZ"

// NumClasses is the number of symbols, and so the number of classes per head.
const NumClasses = len(Alphabet)

// LabelLen is the number of characters in every CAPTCHA.
const LabelLen = 4

// ClassOf returns the class index of symbol c, or -1 when c is not in
// Alphabet. Lower-case letters are not accepted here.
func ClassOf(c byte) int {
	return strings.IndexByte(Alphabet, c)
}

// Symbol returns the symbol of class index i, or 0 when i is out of range.
func Symbol(i int) byte {
	if i < 0 || i >= NumClasses {
		return 0
	}
	return Alphabet[i]
}

// ValidateLabel reports whether label is exactly LabelLen symbols of
// Alphabet, with an error that names the first problem.
func ValidateLabel(label string) error {
	if len(label) != LabelLen {
		return fmt.Errorf("label %s has %d characters, want %d", Quote(label), len(label), LabelLen)
	}
	for i := 0; i < len(label); i++ {
		if ClassOf(label[i]) < 0 {
			return fmt.Errorf("label %q: character %q at position %d is not one of %s", label, label[i], i+1, Alphabet)
		}
	}
	return nil
}

// LabelClasses returns the class index of each character of label.
func LabelClasses(label string) ([LabelLen]int, error) {
	var out [LabelLen]int
	if err := ValidateLabel(label); err != nil {
		return out, err
	}
	for i := range out {
		out[i] = ClassOf(label[i])
	}
	return out, nil
}

// LabelFromClasses is the inverse of LabelClasses: it spells the label whose
// characters have the given class indices.
func LabelFromClasses(classes []int) (string, error) {
	if len(classes) != LabelLen {
		return "", fmt.Errorf("got %d classes, want %d", len(classes), LabelLen)
	}
	b := make([]byte, LabelLen)
	for i, c := range classes {
		s := Symbol(c)
		if s == 0 {
			return "", fmt.Errorf("class %d at position %d is out of range 0..%d", c, i+1, NumClasses-1)
		}
		b[i] = s
	}
	return string(b), nil
}
