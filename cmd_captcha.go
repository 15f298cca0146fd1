package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/trainyard/trainyard/trainer/captcha"
)

func cmdCaptcha(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "generate" {
		return errors.New("usage: trainyard captcha generate --n 1000 --seed 1 --out DIR")
	}
	fs := newFlagSet("captcha generate", stderr, "Usage: trainyard captcha generate --n N --seed S --out DIR\n\nDraws N synthetic THSR CAPTCHAs into DIR as PNGs with a labels.csv.")
	n := fs.Int("n", 1000, "number of images")
	seed := fs.Int64("seed", 1, "seed; the same n and seed give the same files")
	out := fs.String("out", "", "folder to write (created if needed)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("captcha generate: --out is required")
	}
	if *n < 1 {
		return fmt.Errorf("captcha generate: --n must be >= 1, got %d", *n)
	}
	start := time.Now()
	if err := captcha.WriteDir(*out, *n, *seed); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d CAPTCHAs (seed %d) written to %s in %s\n", *n, *seed, *out, since(time.Since(start)))
	return nil
}
