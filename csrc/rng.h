/* Counter-based randomness: every draw is a pure function of (seed, level id, stream).
 *
 * Two kinds of draw:
 *  - fm_rng: a SplitMix64 stream keyed by (seed, id, stream), for layout randomness.
 *  - fm_weyl: a stratified value for a per-level *factor* (exit colour, decoy count, ...):
 *    u_i = offset(seed, factor) + i * alpha(factor)  (mod 2^64), a Kronecker sequence over
 *    level ids. Any contiguous run of N ids covers [0, 2^64) with discrepancy O(log N / N),
 *    so the realised frequency of every category tracks its probability far closer than
 *    independent draws would. Distinct irrational alphas keep the factors independent.
 * Integer arithmetic only, so the same bytes come out on every platform.
 */
#ifndef FASTMAZE_RNG_H
#define FASTMAZE_RNG_H

#include <stdint.h>

#define FM_GOLDEN 0x9e3779b97f4a7c15ULL

static inline uint64_t fm_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A SplitMix64 stream with a bit reservoir: small draws take only the bits they need. */
typedef struct {
    uint64_t s;
    uint64_t bits;
    int32_t n_bits;
} fm_rng;

/* Streams of one level: layout carving, object placement, ... */
enum { FM_STREAM_LAYOUT = 1, FM_STREAM_PLACE = 2, FM_STREAM_TWIN = 3 };

static inline fm_rng fm_rng_for(uint64_t seed, uint64_t id, uint64_t stream)
{
    fm_rng r;
    r.s = fm_mix64(fm_mix64(seed ^ (stream * 0xd1b54a32d192ed03ULL)) + id * FM_GOLDEN);
    r.bits = 0;
    r.n_bits = 0;
    return r;
}

static inline uint64_t fm_next(fm_rng *r)
{
    r->s += FM_GOLDEN;
    return fm_mix64(r->s);
}

/* The next k (1..32) random bits. */
static inline uint32_t fm_bits(fm_rng *r, int32_t k)
{
    if (r->n_bits < k) {
        r->bits = fm_next(r);
        r->n_bits = 64;
    }
    uint32_t out = (uint32_t)(r->bits & ((1ULL << k) - 1));
    r->bits >>= k;
    r->n_bits -= k;
    return out;
}

/* Uniform integer in [0, n), n < 2^32 (Lemire's multiply-shift on 32 fresh bits). */
static inline uint32_t fm_below(fm_rng *r, uint32_t n)
{
    return (uint32_t)(((uint64_t)fm_bits(r, 32) * (uint64_t)n) >> 32);
}

/* Uniform choice among n = 1..4 options (a neighbour), from at most 2 bits a try. */
static inline int32_t fm_below4(fm_rng *r, int32_t n)
{
    if (n <= 1) return 0;
    if (n == 2) return (int32_t)fm_bits(r, 1);
    for (;;) {
        int32_t v = (int32_t)fm_bits(r, 2);
        if (v < n) return v;
    }
}

/* Stratified factors of a level; each has its own irrational step. */
enum {
    FM_FACTOR_COMPONENT = 0, /* also the exit colour, nested inside the component (place.c) */
    FM_FACTOR_N_DECOYS,
    FM_FACTOR_DECOY_COLOR,
    FM_FACTOR_N_DISTRACTORS,
    FM_FACTOR_DISTRACTOR_COLOR,
    FM_N_FACTORS
};

/* frac(sqrt(p)) * 2^64 for the primes 2, 3, 5, 7, 11. */
static const uint64_t FM_WEYL_ALPHA[FM_N_FACTORS] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
    0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL,
};

static inline uint64_t fm_weyl(uint64_t seed, int factor, uint64_t index)
{
    uint64_t offset = fm_mix64(seed ^ fm_mix64((uint64_t)(factor + 1) * 0xa0761d6478bd642fULL));
    return offset + index * FM_WEYL_ALPHA[factor];
}

#endif
