// Package dataset owns trainyard's in-memory datasets: the Set type (images as
// float32 NCHW in 0..1 with integer class labels per output head), the MNIST
// database embedded in the binary, and the train/validation split of a Spec.
//
// It knows nothing of graphs, storage or HTTP: it imports only the standard
// library and the experiments package, and must not import gorgonia, echo,
// templ, gorm, River, or trainyard's server, web, runs or trainer packages.
package dataset
