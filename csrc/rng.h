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

/* Stratified factors of a level; each has its own irrational step. The exit colour is nested
 * in the component draw and the first decoy's (distractor's) colour in the count draw
 * (fm_rescale in internal.h), so those pairs stay one-dimensional and exactly stratified. */
enum {
    FM_FACTOR_COMPONENT = 0,
    FM_FACTOR_N_DECOYS,
    FM_FACTOR_N_DISTRACTORS,
    FM_FACTOR_DECOY_COLOR,      /* salt only: slots use FM_SLOT_ALPHA */
    FM_FACTOR_DISTRACTOR_COLOR, /* salt only */
};

/* frac(sqrt(p)) * 2^64 for the primes 2, 3, 5. */
static const uint64_t FM_WEYL_ALPHA[3] = {
    0x6a09e667f3bcc908ULL,
    0xbb67ae8584caa73bULL,
    0x3c6ef372fe94f82bULL,
};

/* frac(sqrt(p)) * 2^64 for the 64 primes from 17: the steps of colour slots 1, 2, ... of
 * decoys (first half) and distractors (second half). */
#define FM_N_SLOT_ALPHA 32
static const uint64_t FM_SLOT_ALPHA[2 * FM_N_SLOT_ALPHA] = {
    0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL, 0xcbbb9d5dc1059ed8ULL, 0x629a292a367cd507ULL,
    0x9159015a3070dd17ULL, 0x152fecd8f70e5939ULL, 0x67332667ffc00b31ULL, 0x8eb44a8768581511ULL,
    0xdb0c2e0d64f98fa7ULL, 0x47b5481dbefa4fa4ULL, 0xae5f9156e7b6d99bULL, 0xcf6c85d39d1a1e15ULL,
    0x2f73477d6a4563caULL, 0x6d1826cafd82e1edULL, 0x8b43d4570a51b936ULL, 0xe360b596dc380c3fULL,
    0x1c456002ce13e9f8ULL, 0x6f19633143a0af0eULL, 0xd94ebeb1ab313933ULL, 0x0cc4a61194f81760ULL,
    0x261dc1f2b8a998c8ULL, 0x5815a7be0543c11cULL, 0x70b7ed67fc9b5c42ULL, 0xa1513c69681ad6d4ULL,
    0x44f9363580e83d02ULL, 0x720dcdfd9dba5b44ULL, 0xb467369e08efd70eULL, 0xca320b75e2b634f9ULL,
    0x34e0d42e61a33f99ULL, 0x49c7d9bde4e071f7ULL, 0x87abb9f2087207edULL, 0xc463a2fc42c92b5eULL,
    0xec3fc3f38a10ea02ULL, 0x27277f6d1a6f06beULL, 0x610bebf29db2faf5ULL, 0x7420b49edc5a21eeULL,
    0xd1fd8a3396bdeee8ULL, 0xe477359432dca729ULL, 0x092197f60194adc1ULL, 0x1b530c95f8b3def8ULL,
    0x869d6342f6d22822ULL, 0xeee52e4fb5f41185ULL, 0x11076689f6aff6b0ULL, 0x21fba37bbcad59c3ULL,
    0x43ab9fb62162bb7fULL, 0x75a9f91d5813e9e8ULL, 0x86305019d3d95c9eULL, 0xd7cd8173f479197aULL,
    0x07fe00ff606fac41ULL, 0x379f513f856fc7a9ULL, 0x66b651a8ab0e883bULL, 0x764ab8429c65817eULL,
    0xa4b06be193b8ce0dULL, 0xc3578c15393dbe7bULL, 0xd2962a53c75de5c1ULL, 0x1e039f40ee65e7f5ULL,
    0x857b7bee690d3012ULL, 0xa29bf2defe493534ULL, 0xb11a32e8d06c3ddcULL, 0xcdf34e803fd487d1ULL,
    0x318304261d998c2eULL, 0x5b89092b8fbef3e8ULL, 0xa0c06a13c70b322bULL, 0xae79842f2857aad9ULL
};

static inline uint64_t fm_weyl_offset(uint64_t seed, int factor, uint64_t slot)
{
    return fm_mix64(seed ^ fm_mix64((uint64_t)(factor + 1) * 0xa0761d6478bd642fULL + slot * FM_GOLDEN));
}

/* Stratified draw of a per-level factor (FM_FACTOR_COMPONENT .. N_DISTRACTORS) for level id. */
static inline uint64_t fm_weyl(uint64_t seed, int factor, uint64_t id)
{
    return fm_weyl_offset(seed, factor, 0) + id * FM_WEYL_ALPHA[factor];
}

/* Stratified colour draw of slot >= 1 of decoys (half 0) or distractors (half 1). */
static inline uint64_t fm_weyl_slot(uint64_t seed, int half, int32_t slot, uint64_t id)
{
    int factor = half ? FM_FACTOR_DISTRACTOR_COLOR : FM_FACTOR_DECOY_COLOR;
    uint64_t alpha = FM_SLOT_ALPHA[half * FM_N_SLOT_ALPHA + (slot - 1) % FM_N_SLOT_ALPHA];
    return fm_weyl_offset(seed, factor, (uint64_t)slot) + id * alpha;
}

#endif
