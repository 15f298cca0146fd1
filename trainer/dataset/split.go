package dataset

import (
	"math/rand/v2"

	"github.com/trainyard/trainyard/experiments"
)

// Split shuffles the indexes of train with spec.Seed and returns the first
// TrainFraction*N examples as the training set (capped at spec.TrainLimit when
// that is > 0) and the next ValFraction*N as the validation set. The same
// spec always gives the same split.
func Split(train *Set, spec experiments.Spec) (tr, val *Set) {
	perm := Permutation(train.N, spec.Seed)
	nTrain := int(spec.TrainFraction * float64(train.N))
	nVal := int(spec.ValFraction * float64(train.N))
	nTrain = min(max(nTrain, 0), train.N)
	nVal = min(max(nVal, 0), train.N-nTrain)
	valIdx := perm[nTrain : nTrain+nVal]
	trIdx := perm[:nTrain]
	if spec.TrainLimit > 0 && len(trIdx) > spec.TrainLimit {
		trIdx = trIdx[:spec.TrainLimit]
	}
	return train.Subset(trIdx), train.Subset(valIdx)
}

// Permutation returns a random permutation of 0..n-1 drawn from seed; the
// same seed gives the same permutation on every platform.
func Permutation(n int, seed int64) []int {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7472_6169_6e79_6172)) // "trainyar"
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	return perm
}
