// Command opsbench measures training and inference throughput of the seed
// report's models built with trainyard's own gorgonia ops (trainer/ops), on
// synthetic data. Its flags and JSON output match bench/pytorch_baseline.py
// so the two can be compared on the same machine.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/trainyard/trainyard/trainer/ops"
)

func main() {
	model := flag.String("model", "cnn2", "model: nn1|nn2|cnn1|cnn2|captcha1|captcha2")
	batch := flag.Int("batch", 0, "batch size (0: 256 for MNIST models, 128 for CAPTCHA)")
	steps := flag.Int("steps", 20, "timed steps after two warm-up steps")
	asJSON := flag.Bool("json", false, "print one JSON object")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "opsbench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "opsbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := ops.BenchModel(*model, *batch, *steps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "opsbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	if *asJSON {
		if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
			fmt.Fprintln(os.Stderr, "opsbench:", err)
			os.Exit(1)
		}
		return
	}
	fmt.Printf("%s batch %d (kernel %s): train %.0f samples/s, infer %.0f samples/s, peak RSS %.0f MiB\n",
		res.Model, res.Batch, ops.KernelName(), res.TrainSamplesPerS, res.InferSamplesPerS, float64(res.PeakRSSBytes)/(1<<20))
}
