// Package nn owns trainyard's models: it turns an experiments.Spec into a
// gorgonia graph (Build), trains it (Fit, with Adam or SGD, inverted dropout,
// Keras-style batch normalisation, EarlyStopping and ReduceLROnPlateau),
// evaluates it on a test set (Evaluate, Predict), and saves and loads its
// weights as safetensors with the Spec in the metadata.
//
// Build is the only place a Spec becomes a graph; each layer type is built by
// its own small layerBuilder so faster ops can be swapped in behind it.
//
// nn imports experiments, runs (plain result types) and trainer/dataset. It
// must not import echo, templ, gorm, River, or trainyard's server or web
// packages, and it keeps no package-level mutable state except the mutex that
// serialises graph construction (gorgonia's node counter is not safe for
// concurrent builds).
package nn
