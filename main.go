// Command trainyard defines, queues, trains and compares neural-network
// experiments from a browser. See `trainyard --help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

const usage = `trainyard: define, queue, train and compare neural-network experiments.

Usage:
  trainyard serve [--addr 127.0.0.1:8080] [--data-dir ./data] [--db URL]
                  [--workers 1] [--name NAME] [--datasets DIR ...] [--rescue-after 5m]
                  [--auth] [--allowed-hosts NAME,...] [--tls-cert F --tls-key F]
      Runs the web app: the experiment form, the queue and trainer workers,
      live run pages, comparisons and weights downloads. Everything lives in
      one SQLite file under the data dir, or with --db postgres://... in
      PostgreSQL (weights and checkpoints stay in the data dir). An address
      other machines can reach needs --auth and at least one user.
      --workers 0 serves pages and the API only (runs train on workers).

  trainyard worker --db postgres://... [--devices cpu,cpu] [--name NAME]
                   [--rescue-after 5m] [--max-run-memory 8GiB] [--data-dir ./data]
      Trains queued runs on this machine without serving pages: one run at a
      time per device. SIGTERM hands its runs back to be resumed elsewhere.

  trainyard user add NAME --role admin|member|viewer [--password-file FILE]
  trainyard user list | remove NAME
      Manages who may log in (all take --data-dir and --db like serve).

  trainyard token create --user NAME | list | revoke ID
      API tokens: create prints one alone on stdout, for
      "Authorization: Bearer TOKEN".

  trainyard train --preset mnist-nn1 [--epochs N] [--batch N] [--lr X]
                  [--train-limit N] [--seed N] [--out run.safetensors]
      Trains one model without the server, with a progress bar in the
      terminal, prints the test results and writes the weights.

  trainyard eval --weights run.safetensors [--data DIR] [--json]
      Evaluates trained weights on a labelled CAPTCHA folder (or an MNIST
      model on the embedded test set) and prints images, accuracy and ms/image.

  trainyard bench --model nn1|nn2|cnn1|cnn2|captcha1|captcha2 [--batch N]
                  [--steps N] [--engine fast|builtin] [--json]
      Measures training and inference samples/s and peak memory of a seed
      model built as runs build it, on random data (make bench-compare
      runs it beside PyTorch).

  trainyard captcha generate --n 1000 --seed 1 --out DIR
      Draws synthetic THSR CAPTCHAs into DIR with a labels.csv.

Flags of serve can also be set with TRAINYARD_ADDR, TRAINYARD_DATA_DIR,
TRAINYARD_DB, TRAINYARD_WORKERS and TRAINYARD_DATASETS (folders separated by
":"); worker's with TRAINYARD_DB, TRAINYARD_DATA_DIR, TRAINYARD_DEVICES and
TRAINYARD_WORKER_NAME (serve's --name too); a flag wins over its variable.

Run 'trainyard <command> --help' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "trainyard:", err)
		}
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("name a command")
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stderr)
	case "worker":
		return cmdWorker(ctx, args[1:], stderr)
	case "train":
		return cmdTrain(ctx, args[1:], stdout, stderr)
	case "eval":
		return cmdEval(ctx, args[1:], stdout, stderr)
	case "captcha":
		return cmdCaptcha(ctx, args[1:], stdout, stderr)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, stderr)
	case "backup":
		return cmdBackup(ctx, args[1:], stdout, stderr)
	case "user":
		return cmdUser(ctx, args[1:], os.Stdin, stdout, stderr)
	case "token":
		return cmdToken(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// envOr returns the TRAINYARD_ variable's value, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv("TRAINYARD_" + name); ok && v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(envOr(name, "")); err == nil {
		return v
	}
	return def
}

func newFlagSet(name string, stderr io.Writer, help string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\nFlags:\n", help)
		fs.PrintDefaults()
	}
	return fs
}

func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// since formats a duration for people.
func since(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }
