package main

import (
	"io"
	"strings"
	"testing"
)

// TestWorkerRefusals: the worker command says why it cannot start: no
// PostgreSQL, a device this build cannot train on, an unknown device, a bad
// name, no device at all.
func TestWorkerRefusals(t *testing.T) {
	t.Setenv("TRAINYARD_DB", "")
	pg := "postgres://trainyard@127.0.0.1/trainyard"
	cases := []struct {
		args []string
		want string
	}{
		{[]string{}, "needs --db postgres://"},
		{[]string{"--db", pg, "--devices", "cuda:0"}, `device "cuda:0": this build of trainyard has no GPU engine`},
		{[]string{"--db", pg, "--devices", "cpu,gpu"}, "no GPU engine"},
		{[]string{"--db", pg, "--devices", "tpu"}, `device "tpu": unknown`},
		{[]string{"--db", pg, "--devices", " , "}, "--devices names no device"},
		{[]string{"--db", pg, "--name", "box one"}, `--name: worker name "box one"`},
		{[]string{"--db", pg, "--name", strings.Repeat("a", 101)}, "1..100 characters"},
		{[]string{"--db", pg, "--rescue-after", "0s"}, "--rescue-after must be > 0"},
		{[]string{"--db", pg, "extra"}, "takes no arguments"},
	}
	for _, c := range cases {
		_, err := workerFlags(c.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("worker %q: %v, want an error saying %q", c.args, err, c.want)
		}
	}
	cfg, err := workerFlags([]string{"--db", pg, "--devices", "cpu,cpu", "--name", "box-1"}, io.Discard)
	if err != nil || cfg.trainer.Workers != 2 || cfg.trainer.Name != "box-1" || len(cfg.trainer.Devices) != 2 {
		t.Fatalf("good flags: %+v, %v", cfg.trainer, err)
	}
}
