// Package experiments owns what to train: the Spec (dataset, preprocessing,
// layers, heads, optimizer, epochs, batch size, learning rate, callbacks,
// seed) and its per-field validation and caps; the Keras-style summary and
// the cost estimate of a spec (memory, FLOPs, epoch time) with its admission
// against a server's limits; the seed report's presets and suites; sweeps
// (grid or random points, each validated, errors keyed sweep.params.<name>)
// and their successive halving (ASHA's rungs); tags and notes; the spec the
// new-experiment form starts from (FormDefaults); number formatting for
// people (Thousands, FormatBytes, FormatSeconds); and the experiments,
// imported datasets and suites in the database.
//
// experiments imports nothing of the project: runs, trainer, server and web
// import it. It knows nothing of echo, templ, gorgonia or River.
package experiments
