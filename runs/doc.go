// Package runs owns what happened: a run's status lifecycle (queued,
// running, then succeeded, failed, cancelled or stopped) and the lease one
// attempt holds on a running run; per-epoch metrics and test results; the
// runs table (keyset pages, filters, the query language) with tags, notes
// and deletion; successive halving's decision at a rung (StopAtRung); the
// in-process event broker behind server-sent events; and comparisons of
// runs and groups of runs with their statistics and time to a target
// validation accuracy.
//
// runs imports experiments only; it knows nothing of echo, templ, gorgonia
// or River, and trainer, server and web import it.
package runs
