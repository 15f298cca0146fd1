// Package ops holds trainyard's own gorgonia ops: the hot layers of the
// models trainyard trains, written for float32 NCHW tensors on the CPU with
// their own forward and backward passes, so that training in pure Go keeps up
// with PyTorch on the same machine.
//
// # What it owns
//
//   - A single-precision matrix multiply (SGEMM) with Go assembly
//     microkernels: AVX-512 6x64 and 6x16 tiles, an AVX2 6x16 fallback and a
//     portable Go kernel, chosen once at start-up from the CPU's features
//     (golang.org/x/sys/cpu). B is packed into 64-column panels, A is read in
//     place with any row and column stride (so A, A transposed, B and B
//     transposed are all covered), and bias and ReLU are applied as the tile
//     is stored (ReLU keeps NaN). Two AVX-512 variants serve convolutions:
//     6x64 with B's rows found through a table of offsets and 6x16 with A's
//     six rows anywhere. KernelName reports the kernel in use.
//   - The ops, each a gorgonia.Op with symbolic differentiation
//     (gorgonia.SDOp), used with gorgonia.Grad and a TapeMachine.
//   - Adam, an allocation-free gorgonia.Solver with Keras's defaults.
//   - PeakRSS, the process's peak memory, for `trainyard bench`. The six seed
//     models built from these ops directly (models_test.go) are the tests'
//     harness; `trainyard bench` times the real nn.Build of each preset.
//
// # API
//
//	Conv2D(x, w, b *gorgonia.Node, pad Padding, relu bool) (*gorgonia.Node, error)
//	    x (N,C,H,W), w (O,C,KH,KW), b (O); stride 1; pad Same or Valid; optional fused ReLU.
//	MaxPool2D(x *gorgonia.Node, k int) (*gorgonia.Node, error)
//	    k x k windows, stride k, partial windows dropped (Keras 'valid').
//	Dense(x, w, b *gorgonia.Node, relu bool) (*gorgonia.Node, error)
//	    x (N,...) is flattened to (N,in); w (in,out) as in Keras; b (out).
//	ReLU(x *gorgonia.Node) (*gorgonia.Node, error)
//	Dropout(x *gorgonia.Node, rate float64, mode *Mode, seed uint64) (*gorgonia.Node, error)
//	    inverted dropout: kept elements are scaled by 1/(1-rate) in training; identity in evaluation.
//	BatchNorm(x, gamma, beta *gorgonia.Node, state *BNState, mode *Mode) (*gorgonia.Node, error)
//	    per channel (axis 1), Keras semantics; NewBNState(c) gives momentum 0.99, epsilon 0.001.
//	SoftmaxCrossEntropy(logits, labels *gorgonia.Node) (*gorgonia.Node, error)
//	    mean over the batch; labels is a (N) float32 or int32 tensor node of class indices.
//	Softmax(logits *gorgonia.Node) (*gorgonia.Node, error)
//	    for inference; not differentiable.
//	Conv2DIn(x, w, b *gorgonia.Node, pad Padding, relu bool, mode *Mode); DenseIn(x, w, b *gorgonia.Node, relu bool, mode *Mode)
//	    Conv2D and Dense for a model with a Mode: they serve Mode.Infer (below).
//	NewMode() *Mode; (*Mode).Train(); (*Mode).Eval(); (*Mode).Infer(); (*Mode).WeightsChanged(); (*Mode).Training() bool
//	NewAdam(lr float64) *Adam
//	KernelName() string; PeakRSS() (int64, error)
//
// Heads of a multi-head model each get a SoftmaxCrossEntropy; their losses
// are summed with gorgonia.Add.
//
// # Training and evaluation
//
// Dropout and BatchNorm read a shared *Mode each time they run, so one graph
// serves training and evaluation: call mode.Eval() before an evaluation
// pass and mode.Train() after. BatchNorm's running mean and variance live
// in its BNState as ordinary tensors (Mean, Var), outside the graph and the
// VM: save them with the weights and copy saved values into them to load.
//
// A Conv2DIn (a convolution whose output has one consumer, as in a
// sequential model) followed by a 2x2 MaxPool2D runs as one op in every
// mode: the convolution pools each sample from its grid output while it is
// in cache and writes only the pooled output and the pooling's choices; the
// pooling's gradient is then written into the convolution's unwritten
// output buffer. The values and gradients are the same as the two ops give
// apart. A Conv2DIn fed by another Conv2DIn writes its input gradient over
// that convolution's output, after its weight gradient has read it: the
// first convolution's ReLU mask is kept at one bit a value for the
// gradient, so the pair holds one tensor of that size instead of two.
//
// mode.Infer() is evaluation for forward passes only: no gradient is taken
// and the weights do not change until the next Train or Eval (call
// WeightsChanged after writing weights while in it). There, layers built
// with DenseIn keep their weights packed for the kernels from one pass to
// the next, Winograd layers their transformed filters, and a fused
// convolution and pooling skip the pooling's choices; a pooling gradient
// after such a pass is an error, not a gradient from stale choices.
//
// # Gradients
//
// Every op differentiates symbolically: SymDiff adds gradient ops to the
// graph. Conv2D and Dense do not compute the gradient with respect to x
// when x is a leaf of the graph (the input batch); they report it as not
// differentiable. The gradient ops are not themselves differentiable.
//
// # Memory and threads
//
// Each op owns its output and scratch buffers and reuses them from step to
// step, so a steady-state training step allocates almost nothing (see
// TestTrainStepAllocations and BenchmarkTrainStepCNN2). Work is split over
// runtime.GOMAXPROCS(0) goroutines by sample, channel or matrix panel
// (parallelFor, parallel.go). The ranges go to persistent helper goroutines
// that spin for 500 us after each one before they sleep: a training step
// calls parallelFor dozens of times with short serial work in between, and
// waking an idle CPU for each call took 100-150 us on a virtual machine, as
// long as a whole 256x256x784 product on one core. A call made while the
// helpers are busy (another run, or a nested call) starts plain goroutines.
// Convolutions need no im2col: each sample is copied into a zero-padded
// buffer and computed on the padded grid (the output width padded by the
// kernel width), where every im2col row is a contiguous run of that buffer,
// read by the AVX-512 kernel through a table of row offsets; the extra grid
// columns are dropped. Outputs at most 16 wide whose grid would waste more
// (MNIST's 14x14 maps under a 5x5 filter: 18 grid columns per row) are
// computed in rows of 16 instead, each 16-float run of the kernel's B one
// output row, two or four samples per call so that the rows fill whole
// panels; the bits are the grid's (TestGridConvRows16SameBits). The input gradient is the convolution of the output
// gradient with the flipped filters, computed the same way (no col2im); the
// weight gradient reads the same rows (in place with up to 48 filters,
// through 64-column copies otherwise) against dy^T packed once per sample.
//
// Stride-1 3x3 convolutions with at least 16 input and output channels run,
// on AVX-512, with Winograd's minimal filtering F(2x2, 3x3) instead
// (winograd.go): 16 multiply-adds per 2x2 output tile, input channel and
// filter instead of 36, as 16 batched products in the transformed domain
// done by the same 6x64 kernel, with the input, output and output-gradient
// transforms in AVX-512 assembly vectorised over 16 tiles (or 16 channels).
// Stride-1 5x5 convolutions with at least 32 input and output channels (the
// CAPTCHA models' 32 to 64 layer) run with F(2x2, 5x5) the same way
// (winograd5.go): 36 multiply-adds per tile instead of 100. With fewer
// channels its larger transforms cost what the products save (mnist-cnn2's
// 16 to 36 layer stays direct, and pooled as it is computed).
// Forward pass, input gradient and filter gradient all use it; the filter
// gradient transposes each sample's output gradient to channels last with
// the AVX-512 16x16 routine and takes the bias gradient from the
// output-gradient transform, which reads every tile once. The choice
// depends only on the layer's shape, batch included, and the CPU's features
// (winoUse), never on timings, so a model computes the same numbers on every
// run; a layer whose batch has too few tiles to fill the kernel's panels (a
// small late layer of a one-image model) stays direct. The transformed
// filters are kept while the weights keep their bits. Winograd's float32
// error against the direct convolution is about 1e-6 of the result's scale
// for F(2x2, 3x3) and up to 7e-6 for F(2x2, 5x5) (bounded at 1e-5 and 3e-5
// in TestWinogradAgainstDirect).
//
// 2x2 max pooling runs, on AVX-512, as an assembly routine over 16 outputs at
// a time (pool_amd64.s), with the same maxima and indices as the Go loop
// (TestPool2Kernels): NaN wins, the first of equal maxima is chosen. Its
// gradient writes each window whole (pool2GradAVX512); after a convolution
// with a fused ReLU it also applies the ReLU's mask, read from the pooled
// output, so the convolution's gradient ops skip that pass.
//
// The weight gradient of a direct convolution with at most 48 filters reads
// the im2col rows in place from the padded input with 6x16, 6x32 or 6x48
// kernels (kRows) that take all filters in one call. They read A one output
// row at a time, skipping the grid's extra columns, against dy^T packed with
// the output's pixels only (an AVX-512 gather transposes 16 channels per
// step), and a plane of ones after the input's channels gives the bias
// gradient as one more row of the same product.
//
// Every op is unique per instance (gorgonia never merges two of them), so an op
// belongs to exactly one graph; graphs for separate runs are built
// separately. Build graphs under one lock: gorgonia's node counter is global.
//
// # Imports
//
// ops imports gorgonia, its tensor package and golang.org/x/sys/cpu; it
// must not import any other trainyard package.
package ops
