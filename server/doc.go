// Package server owns trainyard's HTTP side: one echo route table, the HTML
// and JSON handlers, server-sent events, the error mapping, and the wiring of
// database, queue and workers behind `trainyard serve`.
//
// Nothing imports server but main. It imports trainer, runs, experiments,
// web and migrations.
package server
