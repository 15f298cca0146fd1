// Package captcha owns trainyard's Taiwan High Speed Rail (THSR) booking
// CAPTCHA data: the 19-symbol alphabet and label encoding, a deterministic
// generator of synthetic THSR-like images, the loader for labelled folders and
// zip archives (images plus labels.csv), and the preprocessing ("nopre" and
// "dn") that training, evaluation and prediction all apply the same way.
//
// It knows nothing of servers, databases or gorgonia, and it imports nothing
// of the trainyard project: only the standard library and golang.org/x/image
// (for the embedded Go Bold font and its rasterizer). Callers such as the
// trainer, the HTTP layer and the CLI build on it; it never imports them.
package captcha
