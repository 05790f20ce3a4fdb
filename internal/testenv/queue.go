package testenv

import (
	"strconv"

	"flashlive/domain"
)

// RankCorrelation is Spearman's rank correlation between positions 0..n-1
// and perm, a permutation of them: 1 for the identity, near 0 for a
// random order.
func RankCorrelation(perm []int) float64 {
	n := float64(len(perm))
	var d2 float64
	for i, p := range perm {
		d := float64(i - p)
		d2 += d * d
	}
	return 1 - 6*d2/(n*(n*n-1))
}

// SolvePow returns the first decimal nonce that solves challenge at bits
// (domain.PowSolved), or "" when none below 2^26 does.
func SolvePow(challenge string, bits int) string {
	for i := 0; i < 1<<26; i++ {
		if n := strconv.Itoa(i); domain.PowSolved(challenge, n, bits) {
			return n
		}
	}
	return ""
}
