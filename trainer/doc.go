// Package trainer owns how training happens: the River job that trains one
// run, the pool of devices the workers train on, the datasets a run needs,
// epoch checkpoints and the weights file a finished run leaves behind.
// Sub-packages hold the models (nn), the fast ops (ops), the in-memory
// datasets and MNIST (dataset) and the CAPTCHA images (captcha).
//
// trainer imports runs and experiments; it knows nothing of echo, templ,
// server or web.
package trainer
