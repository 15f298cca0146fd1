package web

import (
	"strings"

	"github.com/trainyard/trainyard/experiments"
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
