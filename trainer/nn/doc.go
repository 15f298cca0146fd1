// Package nn owns trainyard's models: it turns an experiments.Spec into a
// gorgonia graph (Build), trains it (Fit, with Adam or SGD, inverted dropout,
// Keras-style batch normalisation, EarlyStopping and ReduceLROnPlateau),
// evaluates it on a test set (Evaluate, Predict), and saves and loads its
// weights as safetensors with the Spec in the metadata.
//
// Build is the only place a Spec becomes a graph; each layer type is built by
// its own small layerBuilder, with two engines behind it (BuildWith, Options):
// EngineFast, the default, uses trainyard's own ops from trainer/ops (fused
// conv+ReLU and dense+ReLU on assembly SGEMM kernels, max pooling, inverted
// dropout and Keras batch normalisation switched by an ops.Mode, softmax
// cross-entropy per head), which reuse their buffers so a training step
// allocates almost nothing; EngineBuiltin uses gorgonia's built-in ops and
// nn's reference ops, and stays to check the fast engine against
// (TestEnginesAgree, TestEnginesTrainAlike). The optimizer is nn's own (Adam
// with Keras's defaults, or SGD); it is allocation-free and does the same
// arithmetic as ops.Adam.
//
// Every pass over a set of several batches (a training epoch, a validation
// or test evaluation, Predict) is a small pipeline (loader.go): a goroutine
// the pass owns and waits for gathers the next batch into the model's second
// input slot while the current batch runs, and the graph's inputs are bound
// to that slot between steps. Batches and results are bit for bit those of
// loading one batch at a time.
//
// # Weights file layout
//
// WriteWeights writes safetensors (8-byte little-endian header length, JSON
// header, raw little-endian float32 data), the same for both engines, with
// Keras layer names counted per type: "conv2d_N.weight" (filters, in
// channels, kh, kw) as in PyTorch's Conv2d; "conv2d_N.bias" (filters);
// "dense_N.weight" (in, out) as in Keras (PyTorch's Linear wants its
// transpose); "dense_N.bias" (out); for several heads the output layer is
// "dense_N.head_H.weight"/".bias"; "batch_normalization_N.weight" (gamma),
// ".bias" (beta), ".moving_mean" and ".moving_variance" (channels). Flatten
// is channel-major (NCHW), as in PyTorch. The Spec is in the metadata.
//
// nn imports experiments, runs (plain result types), trainer/dataset and
// trainer/ops. It
// must not import echo, templ, gorm, River, or trainyard's server or web
// packages, and it keeps no package-level mutable state except the mutex that
// serialises graph construction (gorgonia's node counter is not safe for
// concurrent builds).
package nn
