package dataset

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

//go:embed mnist/*.gz
var mnistFiles embed.FS

// MNIST file names inside the embedded mnist directory.
const (
	mnistTrainImages = "mnist/train-images-idx3-ubyte.gz"
	mnistTrainLabels = "mnist/train-labels-idx1-ubyte.gz"
	mnistTestImages  = "mnist/t10k-images-idx3-ubyte.gz"
	mnistTestLabels  = "mnist/t10k-labels-idx1-ubyte.gz"
)

// mnistOnce decodes the embedded files the first time they are asked for; the
// Sets it returns are shared and must be treated as read-only.
var mnistOnce = sync.OnceValues(func() ([2]*Set, error) {
	train, err := decodeMNIST(mnistTrainImages, mnistTrainLabels)
	if err != nil {
		return [2]*Set{}, err
	}
	test, err := decodeMNIST(mnistTestImages, mnistTestLabels)
	if err != nil {
		return [2]*Set{}, err
	}
	return [2]*Set{train, test}, nil
})

// MNIST returns the 60,000 training and 10,000 test images of the MNIST
// database (1x28x28, values 0..1, classes "0".."9"). They are decoded once per
// process and shared: callers must not modify them (Split and Subset copy).
func MNIST() (train, test *Set, err error) {
	sets, err := mnistOnce()
	if err != nil {
		return nil, nil, err
	}
	return sets[0], sets[1], nil
}

// DigitClasses are the class names of MNIST.
func DigitClasses() []string {
	return []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
}

func decodeMNIST(imagesFile, labelsFile string) (*Set, error) {
	img, err := readGzip(imagesFile)
	if err != nil {
		return nil, err
	}
	lab, err := readGzip(labelsFile)
	if err != nil {
		return nil, err
	}
	if len(img) < 16 || binary.BigEndian.Uint32(img) != 2051 {
		return nil, fmt.Errorf("dataset: %s is not an idx3 image file", imagesFile)
	}
	if len(lab) < 8 || binary.BigEndian.Uint32(lab) != 2049 {
		return nil, fmt.Errorf("dataset: %s is not an idx1 label file", labelsFile)
	}
	n := int(binary.BigEndian.Uint32(img[4:]))
	h := int(binary.BigEndian.Uint32(img[8:]))
	w := int(binary.BigEndian.Uint32(img[12:]))
	if nl := int(binary.BigEndian.Uint32(lab[4:])); nl != n {
		return nil, fmt.Errorf("dataset: %d images but %d labels", n, nl)
	}
	pix, labels := img[16:], lab[8:]
	if len(pix) != n*h*w || len(labels) != n {
		return nil, fmt.Errorf("dataset: %s or %s is truncated", imagesFile, labelsFile)
	}
	s := &Set{X: make([]float32, len(pix)), Y: make([]int32, n), N: n, C: 1, H: h, W: w, Heads: 1, Classes: DigitClasses()}
	for i, p := range pix {
		s.X[i] = float32(p) / 255
	}
	for i, l := range labels {
		if l > 9 {
			return nil, fmt.Errorf("dataset: label %d of image %d is not a digit", l, i)
		}
		s.Y[i] = int32(l)
	}
	return s, nil
}

func readGzip(name string) ([]byte, error) {
	raw, err := mnistFiles.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", name, err)
	}
	defer zr.Close()
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", name, err)
	}
	return b, nil
}
