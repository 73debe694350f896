package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"hash/crc32"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomString returns n characters drawn uniformly from base62 by
// crypto/rand (about 5.95 bits each). Bytes >= 248 are rejected so the
// modulo introduces no bias.
func randomString(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4+8)
	for len(out) < n {
		rand.Read(buf) // never fails (crypto/rand contract since Go 1.24)
		for _, c := range buf {
			if c < 248 && len(out) < n {
				out = append(out, base62[c%62])
			}
		}
	}
	return string(out)
}

// encode62 writes v as exactly width base62 digits.
func encode62(v uint64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = base62[v%62]
		v /= 62
	}
	return string(b)
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func crc(s string) uint32 { return crc32.ChecksumIEEE([]byte(s)) }
