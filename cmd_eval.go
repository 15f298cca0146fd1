package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/trainyard/trainyard/trainer"
)

func cmdEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr, "Usage: trainyard eval --weights run.safetensors [--data DIR] [--json]\n\nEvaluates a weights file on a labelled CAPTCHA folder (labels.csv and images),\nor an MNIST model on the embedded MNIST test set (leave out --data).")
	weights := fs.String("weights", "", "weights file written by a run or by trainyard train")
	data := fs.String("data", "", "labelled CAPTCHA folder (labels.csv and its images)")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *weights == "" {
		return errors.New("eval: --weights is required")
	}
	res, err := trainer.EvaluateFile(ctx, *weights, *data)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "images %d", res.Images)
	if res.Accuracy != nil {
		fmt.Fprintf(stdout, "  accuracy %.4f", *res.Accuracy)
	}
	if res.ImageAccuracy != nil {
		fmt.Fprintf(stdout, "  image accuracy %.4f  char accuracy %.4f", *res.ImageAccuracy, *res.CharAccuracy)
	}
	fmt.Fprintf(stdout, "  %.3f ms/image\n", res.MsPerImage)
	return nil
}
