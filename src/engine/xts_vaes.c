/* memcrypt engine — AES-XTS with VAES + AVX2 (two AES blocks per 256-bit register).
 *
 * Every function carries __attribute__((target("vaes,avx2,aes"))); the engine calls in here
 * only after CPUID reported VAES and AVX2. Round keys come from the AES-NI expansion
 * (xts_aesni.c), duplicated into both 128-bit lanes at key setup. A batch of 16 lines computes
 * its 16 line tweaks with 8 parallel VAES chains, then its 64 blocks go through the cipher 16 at
 * a time (8 registers in flight, enough to cover the AES latency).
 */
#include <immintrin.h>

#include "crypto/crypto.h"
#include "engine/xts_impl.h"

#define VAES __attribute__((target("vaes,avx2,aes")))
#define VAES_INLINE static inline __attribute__((always_inline, target("vaes,avx2,aes")))

/* Multiply each 128-bit lane by alpha (see xts_aesni.c). */
VAES_INLINE __m256i mul_alpha2(__m256i t)
{
    __m256i s = _mm256_shuffle_epi32(_mm256_srai_epi32(t, 31), 0x13);
    s = _mm256_and_si256(s, _mm256_set_epi32(0, 1, 0, 0x87, 0, 1, 0, 0x87));
    return _mm256_xor_si256(_mm256_add_epi64(t, t), s);
}

VAES_INLINE __m128i mul_alpha1(__m128i t)
{
    __m128i s = _mm_shuffle_epi32(_mm_srai_epi32(t, 31), 0x13);
    s = _mm_and_si128(s, _mm_set_epi32(0, 1, 0, 0x87));
    return _mm_xor_si128(_mm_add_epi64(t, t), s);
}

/* Round keys as 256-bit rows (both lanes equal), read straight from the slot's schedule. */
struct rk256 {
    __m256i k[MC_AES_MAX_ROUNDS + 1];
};

VAES_INLINE const struct rk256 *rows(const struct mc_aes_ks2 *ks)
{
    return (const struct rk256 *)(const void *)ks->rk;
}

/* out[i] = E_or_D(in[i] ^ tw[i]) ^ tw[i] over n 16-byte blocks; tw holds n tweaks. */
VAES_INLINE void core(const struct rk256 *K, unsigned rounds, int dec, const uint8_t *tw, const uint8_t *in,
                      uint8_t *out, size_t n)
{
    const __m256i *rk = K->k;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i b[8], t[8];
        #pragma GCC unroll 16
        for (unsigned j = 0; j < 8; j++) {
            t[j] = _mm256_loadu_si256((const __m256i *)(tw + 16 * i + 32 * j));
            b[j] = _mm256_xor_si256(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(in + 16 * i + 32 * j)), t[j]),
                                    rk[0]);
        }
        #pragma GCC unroll 16
        for (unsigned r = 1; r < rounds; r++)
            #pragma GCC unroll 16
            for (unsigned j = 0; j < 8; j++)
                b[j] = dec ? _mm256_aesdec_epi128(b[j], rk[r]) : _mm256_aesenc_epi128(b[j], rk[r]);
        #pragma GCC unroll 16
        for (unsigned j = 0; j < 8; j++) {
            b[j] = dec ? _mm256_aesdeclast_epi128(b[j], rk[rounds]) : _mm256_aesenclast_epi128(b[j], rk[rounds]);
            _mm256_storeu_si256((__m256i *)(out + 16 * i + 32 * j), _mm256_xor_si256(b[j], t[j]));
        }
    }
    for (; i + 2 <= n; i += 2) {
        __m256i t = _mm256_loadu_si256((const __m256i *)(tw + 16 * i));
        __m256i b = _mm256_xor_si256(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(in + 16 * i)), t), rk[0]);
        #pragma GCC unroll 16
        for (unsigned r = 1; r < rounds; r++)
            b = dec ? _mm256_aesdec_epi128(b, rk[r]) : _mm256_aesenc_epi128(b, rk[r]);
        b = dec ? _mm256_aesdeclast_epi128(b, rk[rounds]) : _mm256_aesenclast_epi128(b, rk[rounds]);
        _mm256_storeu_si256((__m256i *)(out + 16 * i), _mm256_xor_si256(b, t));
    }
    if (i < n) {
        __m128i t = _mm_loadu_si128((const __m128i *)(tw + 16 * i));
        __m128i b = _mm_xor_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * i)), t),
                                  _mm256_castsi256_si128(rk[0]));
        #pragma GCC unroll 16
        for (unsigned r = 1; r < rounds; r++)
            b = dec ? _mm_aesdec_si128(b, _mm256_castsi256_si128(rk[r]))
                    : _mm_aesenc_si128(b, _mm256_castsi256_si128(rk[r]));
        b = dec ? _mm_aesdeclast_si128(b, _mm256_castsi256_si128(rk[rounds]))
                : _mm_aesenclast_si128(b, _mm256_castsi256_si128(rk[rounds]));
        _mm_storeu_si128((__m128i *)(out + 16 * i), _mm_xor_si128(b, t));
    }
}

VAES static void core_any(const struct rk256 *K, unsigned rounds, int decrypt, const uint8_t *tw,
                          const uint8_t *in, uint8_t *out, size_t n)
{
    if (rounds == 10)
        decrypt ? core(K, 10, 1, tw, in, out, n) : core(K, 10, 0, tw, in, out, n);
    else
        decrypt ? core(K, 14, 1, tw, in, out, n) : core(K, 14, 0, tw, in, out, n);
}

/* AES under the tweak key on m registers (2m tweak blocks) at once. */
VAES_INLINE void tweak_enc(const struct rk256 *K2, unsigned rounds, __m256i *t, unsigned m)
{
#pragma GCC unroll 8
    for (unsigned j = 0; j < m; j++)
        t[j] = _mm256_xor_si256(t[j], K2->k[0]);
#pragma GCC unroll 16
    for (unsigned r = 1; r < rounds; r++)
#pragma GCC unroll 8
        for (unsigned j = 0; j < m; j++)
            t[j] = _mm256_aesenc_epi128(t[j], K2->k[r]);
#pragma GCC unroll 8
    for (unsigned j = 0; j < m; j++)
        t[j] = _mm256_aesenclast_epi128(t[j], K2->k[rounds]);
}

#define LINES_PER_BATCH 16

/* Tweaks of up to 16 lines at pa, pa+64, ...: 4 per line, laid out like the data. */
VAES_INLINE void line_tweaks(const struct rk256 *K2, unsigned r2, uint64_t pa, unsigned nlines, uint8_t *tw)
{
    __m256i t[LINES_PER_BATCH / 2];
    /* Lanes (lo, hi) of register j hold LE128(pa + 128 j) and LE128(pa + 128 j + 64). */
    unsigned m = (nlines + 1) / 2;
#pragma GCC unroll 8
    for (unsigned j = 0; j < LINES_PER_BATCH / 2; j++) {
        uint64_t a = pa + 128u * j; /* wraps harmlessly for lines past the end of the run */
        t[j] = _mm256_set_epi64x(0, (long long)(a + 64), 0, (long long)a);
    }
    if (m == LINES_PER_BATCH / 2) {
        if (r2 == 10)
            tweak_enc(K2, 10, t, LINES_PER_BATCH / 2);
        else
            tweak_enc(K2, 14, t, LINES_PER_BATCH / 2);
    } else {
        tweak_enc(K2, r2, t, m);
    }
    for (unsigned j = 0; j < m; j++) {
        __m256i t1 = mul_alpha2(t[j]), t2 = mul_alpha2(t1), t3 = mul_alpha2(t2);
        /* line 2j: T, T.a | T.a^2, T.a^3 from the low lanes; line 2j+1 from the high lanes. */
        __m256i *dst = (__m256i *)(void *)(tw + 128 * j);
        _mm256_store_si256(dst + 0, _mm256_permute2x128_si256(t[j], t1, 0x20));
        _mm256_store_si256(dst + 1, _mm256_permute2x128_si256(t2, t3, 0x20));
        _mm256_store_si256(dst + 2, _mm256_permute2x128_si256(t[j], t1, 0x31));
        _mm256_store_si256(dst + 3, _mm256_permute2x128_si256(t2, t3, 0x31));
    }
}

/* A single line entirely in registers (the memory controller's cache-line fill/writeback):
 * the tweak AES runs in a 128-bit lane, then the line's 4 blocks as 2 independent 256-bit
 * chains. No tweak array, so nothing key-derived is left in memory to wipe. */
VAES_INLINE void one_line(const struct rk256 *K1, unsigned r1, const struct mc_aes_ks *k2, int dec, uint64_t pa,
                          const uint8_t *in, uint8_t *out)
{
    const __m128i *rk2 = (const __m128i *)k2->rk;
    __m128i t = _mm_xor_si128(_mm_set_epi64x(0, (long long)pa), rk2[0]);
#pragma GCC unroll 16
    for (unsigned r = 1; r < k2->rounds; r++)
        t = _mm_aesenc_si128(t, rk2[r]);
    t = _mm_aesenclast_si128(t, rk2[k2->rounds]);
    __m128i t1 = mul_alpha1(t), t2 = mul_alpha1(t1), t3 = mul_alpha1(t2);
    __m256i ta = _mm256_set_m128i(t1, t), tb = _mm256_set_m128i(t3, t2);
    const __m256i *rk = K1->k;
    __m256i a = _mm256_xor_si256(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)in), ta), rk[0]);
    __m256i b = _mm256_xor_si256(_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(in + 32)), tb), rk[0]);
#pragma GCC unroll 16
    for (unsigned r = 1; r < r1; r++) {
        a = dec ? _mm256_aesdec_epi128(a, rk[r]) : _mm256_aesenc_epi128(a, rk[r]);
        b = dec ? _mm256_aesdec_epi128(b, rk[r]) : _mm256_aesenc_epi128(b, rk[r]);
    }
    a = dec ? _mm256_aesdeclast_epi128(a, rk[r1]) : _mm256_aesenclast_epi128(a, rk[r1]);
    b = dec ? _mm256_aesdeclast_epi128(b, rk[r1]) : _mm256_aesenclast_epi128(b, rk[r1]);
    _mm256_storeu_si256((__m256i *)out, _mm256_xor_si256(a, ta));
    _mm256_storeu_si256((__m256i *)(out + 32), _mm256_xor_si256(b, tb));
}

VAES void mc_vaes_xts_lines(const struct mc_xts_keys *k, int decrypt, uint64_t pa, const uint8_t *in,
                            uint8_t *out, size_t nlines)
{
    const struct rk256 *K1 = rows(decrypt ? &k->dec1x2 : &k->enc1x2), *K2 = rows(&k->enc2x2);
    const unsigned r1 = k->enc1.rounds, r2 = k->enc2.rounds;
    if (nlines == 1) {
        if (r1 == 10)
            decrypt ? one_line(K1, 10, &k->enc2, 1, pa, in, out) : one_line(K1, 10, &k->enc2, 0, pa, in, out);
        else
            decrypt ? one_line(K1, 14, &k->enc2, 1, pa, in, out) : one_line(K1, 14, &k->enc2, 0, pa, in, out);
        return;
    }
    _Alignas(32) uint8_t tw[LINES_PER_BATCH * 64];
    /* bytes of tw written: tweaks come in pairs of lines */
    const size_t used = ((nlines < LINES_PER_BATCH ? nlines : LINES_PER_BATCH) + 1) / 2 * 128;
    while (nlines) {
        unsigned n = nlines < LINES_PER_BATCH ? (unsigned)nlines : LINES_PER_BATCH;
        line_tweaks(K2, r2, pa, n, tw);
        core_any(K1, r1, decrypt, tw, in, out, 4u * n);
        in += 64u * n;
        out += 64u * n;
        pa += 64u * n;
        nlines -= n;
    }
    mc_wipe(tw, used); /* tweaks are key-derived */
}

VAES void mc_vaes_xts_unit(const struct mc_xts_keys *k, int decrypt, const uint8_t tweak[16], const uint8_t *in,
                           uint8_t *out, size_t nblocks)
{
    const struct rk256 *K1 = rows(decrypt ? &k->dec1x2 : &k->enc1x2);
    const unsigned r1 = k->enc1.rounds;
    /* The single tweak encryption runs in 128-bit lanes. */
    __m128i t = _mm_loadu_si128((const __m128i *)tweak);
    const __m128i *rk2 = (const __m128i *)k->enc2.rk;
    t = _mm_xor_si128(t, rk2[0]);
    #pragma GCC unroll 16
    for (unsigned r = 1; r < k->enc2.rounds; r++)
        t = _mm_aesenc_si128(t, rk2[r]);
    t = _mm_aesenclast_si128(t, rk2[k->enc2.rounds]);
    _Alignas(32) uint8_t tw[32 * 16];
    while (nblocks) {
        size_t n = nblocks < 32 ? nblocks : 32;
        for (size_t j = 0; j < n; j++) {
            _mm_store_si128((__m128i *)(tw + 16 * j), t);
            t = mul_alpha1(t);
        }
        core_any(K1, r1, decrypt, tw, in, out, n);
        in += 16 * n;
        out += 16 * n;
        nblocks -= n;
    }
    mc_wipe(tw, sizeof tw);
    mc_wipe(&t, sizeof t);
}
