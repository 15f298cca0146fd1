package web

import (
	"strings"

	"github.com/trainyard/trainyard/experiments"
	"github.com/trainyard/trainyard/runs"
)

// DatasetsProps is the datasets page: the imported datasets, the data roots
// folders may be imported from, and what was typed when an import failed.
type DatasetsProps struct {
	Datasets   []experiments.Dataset
	Roots      []string
	MaxMiB     int
	Error      string
	Name, Path string
}

func joinRoots(roots []string) string { return strings.Join(roots, ", ") }

// captchaForm is the CAPTCHA fields' starting values.
type captchaForm struct {
	Kind          string `json:"kind"`
	Images        int    `json:"images"`
	Seed          int64  `json:"seed"`
	DatasetID     int64  `json:"dataset_id"`
	Preprocessing string `json:"preprocessing"`
}

func captchaFormState(s experiments.Spec) captchaForm {
	d := experiments.DefaultCaptchaSource()
	f := captchaForm{Kind: d.Kind, Images: d.Images, Seed: d.Seed, Preprocessing: experiments.DefaultCaptchaPreprocessing}
	if s.Source != nil {
		f.Kind, f.DatasetID = s.Source.Kind, s.Source.DatasetID
		if s.Source.Images > 0 {
			f.Images = s.Source.Images
		}
		if s.Source.Seed != 0 {
			f.Seed = s.Source.Seed
		}
	}
	if s.Preprocessing != "" {
		f.Preprocessing = s.Preprocessing
	}
	return f
}

// sourceDataset is the imported dataset a run trained on, or 0.
func sourceDataset(r runs.Run) int64 {
	if r.Spec.Source != nil && r.Spec.Source.Kind == experiments.SourceDataset {
		return r.Spec.Source.DatasetID
	}
	return 0
}

// captchaDefaults is the CAPTCHA source and preprocessing the form's
// scripts fall back to (experiments.DefaultCaptchaSource).
func captchaDefaults() captchaForm { return captchaFormState(experiments.Spec{}) }
