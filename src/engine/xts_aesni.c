/* memcrypt engine — AES-XTS with AES-NI intrinsics (128-bit lanes).
 *
 * Every function here carries __attribute__((target("aes,sse4.1"))): the build flags stay
 * generic and the engine only calls in here after CPUID said the CPU has AES-NI.
 * Key expansion uses AESKEYGENASSIST (FIPS 197 section 5.2, in the form of Intel's AES-NI
 * white paper); decryption uses the equivalent inverse cipher (AESIMC'd round keys).
 * Multiplication by alpha in GF(2^128) follows IEEE 1619 section 5.2: shift the 128-bit
 * little-endian value left by one, and xor 0x87 into byte 0 when bit 127 falls off.
 */
#include <immintrin.h>
#include <string.h>

#include "crypto/crypto.h"
#include "engine/xts_impl.h"

#define AESNI __attribute__((target("aes,sse4.1")))
#define AESNI_INLINE static inline __attribute__((always_inline, target("aes,sse4.1")))

/* ---------------------------------------------------------------- key expansion -- */

AESNI_INLINE __m128i expand_step(__m128i prev, __m128i assist)
{
    __m128i t = _mm_slli_si128(prev, 4);
    prev = _mm_xor_si128(prev, t);
    t = _mm_slli_si128(t, 4);
    prev = _mm_xor_si128(prev, t);
    t = _mm_slli_si128(t, 4);
    prev = _mm_xor_si128(prev, t);
    return _mm_xor_si128(prev, assist);
}

AESNI static void expand128(const uint8_t *key, struct mc_aes_ks *ks)
{
    __m128i k = _mm_loadu_si128((const __m128i *)key);
    __m128i *rk = (__m128i *)ks->rk;
    rk[0] = k;
#define E128(i, rcon) \
    k = expand_step(k, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k, rcon), 0xff)); rk[i] = k
    E128(1, 0x01); E128(2, 0x02); E128(3, 0x04); E128(4, 0x08); E128(5, 0x10);
    E128(6, 0x20); E128(7, 0x40); E128(8, 0x80); E128(9, 0x1b); E128(10, 0x36);
#undef E128
    ks->rounds = 10;
}

AESNI static void expand256(const uint8_t *key, struct mc_aes_ks *ks)
{
    __m128i a = _mm_loadu_si128((const __m128i *)key);
    __m128i b = _mm_loadu_si128((const __m128i *)(key + 16));
    __m128i *rk = (__m128i *)ks->rk;
    rk[0] = a;
    rk[1] = b;
    /* Even round keys: RotWord+SubWord+Rcon of the previous odd key (lane 3 of the assist);
     * odd round keys: SubWord only of the previous even key (lane 2, rcon 0). */
#define E256(i, rcon)                                                                          \
    a = expand_step(a, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(b, rcon), 0xff)); rk[i] = a; \
    b = expand_step(b, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(a, 0x00), 0xaa)); rk[i + 1] = b
    E256(2, 0x01); E256(4, 0x02); E256(6, 0x04); E256(8, 0x08); E256(10, 0x10); E256(12, 0x20);
#undef E256
    a = expand_step(a, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(b, 0x40), 0xff));
    rk[14] = a;
    ks->rounds = 14;
}

AESNI static void make_dec(const struct mc_aes_ks *enc, struct mc_aes_ks *dec)
{
    const __m128i *e = (const __m128i *)enc->rk;
    __m128i *d = (__m128i *)dec->rk;
    unsigned r = enc->rounds;
    d[0] = e[r];
    for (unsigned i = 1; i < r; i++)
        d[i] = _mm_aesimc_si128(e[r - i]);
    d[r] = e[0];
    dec->rounds = r;
}

AESNI void mc_aesni_xts_setkey(struct mc_xts_keys *k, const uint8_t *key, unsigned half_bytes)
{
    memset(k, 0, sizeof *k);
    if (half_bytes == 16) {
        expand128(key, &k->enc1);
        expand128(key + 16, &k->enc2);
    } else {
        expand256(key, &k->enc1);
        expand256(key + 32, &k->enc2);
    }
    make_dec(&k->enc1, &k->dec1);
    for (unsigned r = 0; r <= k->enc1.rounds; r++) {
        memcpy(k->enc1x2.rk[r], k->enc1.rk[r], 16);
        memcpy(k->enc1x2.rk[r] + 16, k->enc1.rk[r], 16);
        memcpy(k->dec1x2.rk[r], k->dec1.rk[r], 16);
        memcpy(k->dec1x2.rk[r] + 16, k->dec1.rk[r], 16);
        memcpy(k->enc2x2.rk[r], k->enc2.rk[r], 16);
        memcpy(k->enc2x2.rk[r] + 16, k->enc2.rk[r], 16);
    }
}

/* ------------------------------------------------------------------- XTS core -- */

AESNI_INLINE __m128i mul_alpha(__m128i t)
{
    /* Sign of each 32-bit lane; lane 3 (bit 127) -> lane 0 masked with 0x87, lane 1 (bit 63)
     * -> lane 2 masked with 1 (the carry between the two 64-bit halves). */
    __m128i s = _mm_shuffle_epi32(_mm_srai_epi32(t, 31), 0x13);
    s = _mm_and_si128(s, _mm_set_epi32(0, 1, 0, 0x87));
    return _mm_xor_si128(_mm_add_epi64(t, t), s);
}

/* Encrypt (tweak key) up to 8 blocks in parallel. */
AESNI_INLINE void aes_enc_n(const struct mc_aes_ks *ks, __m128i *b, unsigned n)
{
    const __m128i *rk = (const __m128i *)ks->rk;
    #pragma GCC unroll 16
    for (unsigned j = 0; j < n; j++)
        b[j] = _mm_xor_si128(b[j], rk[0]);
    #pragma GCC unroll 16
    for (unsigned r = 1; r < ks->rounds; r++)
        #pragma GCC unroll 16
        for (unsigned j = 0; j < n; j++)
            b[j] = _mm_aesenc_si128(b[j], rk[r]);
    #pragma GCC unroll 16
    for (unsigned j = 0; j < n; j++)
        b[j] = _mm_aesenclast_si128(b[j], rk[ks->rounds]);
}

/* out[i] = E_or_D(in[i] ^ tw[i]) ^ tw[i] for n blocks, 8 at a time. rounds is a constant at
 * each call site so the round loop unrolls. */
AESNI_INLINE void core(const __m128i *rk, unsigned rounds, int dec, const __m128i *tw, const uint8_t *in,
                       uint8_t *out, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i b[8];
        #pragma GCC unroll 16
        for (unsigned j = 0; j < 8; j++)
            b[j] = _mm_xor_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * (i + j))), tw[i + j]), rk[0]);
        #pragma GCC unroll 16
        for (unsigned r = 1; r < rounds; r++)
            #pragma GCC unroll 16
            for (unsigned j = 0; j < 8; j++)
                b[j] = dec ? _mm_aesdec_si128(b[j], rk[r]) : _mm_aesenc_si128(b[j], rk[r]);
        #pragma GCC unroll 16
        for (unsigned j = 0; j < 8; j++) {
            b[j] = dec ? _mm_aesdeclast_si128(b[j], rk[rounds]) : _mm_aesenclast_si128(b[j], rk[rounds]);
            _mm_storeu_si128((__m128i *)(out + 16 * (i + j)), _mm_xor_si128(b[j], tw[i + j]));
        }
    }
    for (; i < n; i++) {
        __m128i b = _mm_xor_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * i)), tw[i]), rk[0]);
        #pragma GCC unroll 16
        for (unsigned r = 1; r < rounds; r++)
            b = dec ? _mm_aesdec_si128(b, rk[r]) : _mm_aesenc_si128(b, rk[r]);
        b = dec ? _mm_aesdeclast_si128(b, rk[rounds]) : _mm_aesenclast_si128(b, rk[rounds]);
        _mm_storeu_si128((__m128i *)(out + 16 * i), _mm_xor_si128(b, tw[i]));
    }
}

AESNI static void core_any(const struct mc_xts_keys *k, int decrypt, const __m128i *tw, const uint8_t *in,
                           uint8_t *out, size_t n)
{
    const struct mc_aes_ks *ks = decrypt ? &k->dec1 : &k->enc1;
    const __m128i *rk = (const __m128i *)ks->rk;
    if (ks->rounds == 10)
        decrypt ? core(rk, 10, 1, tw, in, out, n) : core(rk, 10, 0, tw, in, out, n);
    else
        decrypt ? core(rk, 14, 1, tw, in, out, n) : core(rk, 14, 0, tw, in, out, n);
}

/* A single line entirely in registers: tweak AES, then the 4 blocks as independent chains. */
AESNI_INLINE void one_line(const struct mc_aes_ks *ks1, unsigned r1, const struct mc_aes_ks *k2, int dec, uint64_t pa,
                           const uint8_t *in, uint8_t *out)
{
    __m128i tw[4];
    tw[0] = _mm_set_epi64x(0, (long long)pa);
    aes_enc_n(k2, tw, 1);
    tw[1] = mul_alpha(tw[0]);
    tw[2] = mul_alpha(tw[1]);
    tw[3] = mul_alpha(tw[2]);
    const __m128i *rk = (const __m128i *)ks1->rk;
    __m128i b[4];
#pragma GCC unroll 4
    for (unsigned j = 0; j < 4; j++)
        b[j] = _mm_xor_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * j)), tw[j]), rk[0]);
#pragma GCC unroll 16
    for (unsigned r = 1; r < r1; r++)
#pragma GCC unroll 4
        for (unsigned j = 0; j < 4; j++)
            b[j] = dec ? _mm_aesdec_si128(b[j], rk[r]) : _mm_aesenc_si128(b[j], rk[r]);
#pragma GCC unroll 4
    for (unsigned j = 0; j < 4; j++) {
        b[j] = dec ? _mm_aesdeclast_si128(b[j], rk[r1]) : _mm_aesenclast_si128(b[j], rk[r1]);
        _mm_storeu_si128((__m128i *)(out + 16 * j), _mm_xor_si128(b[j], tw[j]));
    }
}

/* Two lines per step: their 8 data blocks and the tweak blocks of the next two lines go through
 * the rounds together (10 independent AES chains, all in registers with 16 XMM registers), so
 * the per-line tweak AES runs in the shadow of the data instead of in a phase of its own. The
 * last step computes two tweaks nobody uses (2 AES per run). */
AESNI_INLINE void pairs(const struct mc_aes_ks *ks1, const struct mc_aes_ks *ks2, unsigned R, int dec, uint64_t pa,
                        const uint8_t *in, uint8_t *out, size_t npairs)
{
    const __m128i *rk = (const __m128i *)ks1->rk, *tk = (const __m128i *)ks2->rk;
    __m128i tw[8], n[2];
    n[0] = _mm_set_epi64x(0, (long long)pa);
    n[1] = _mm_set_epi64x(0, (long long)(pa + 64));
    aes_enc_n(ks2, n, 2);
    for (size_t p = 0; p < npairs; p++) {
#pragma GCC unroll 2
        for (unsigned l = 0; l < 2; l++) {
            tw[4 * l] = n[l];
            tw[4 * l + 1] = mul_alpha(n[l]);
            tw[4 * l + 2] = mul_alpha(tw[4 * l + 1]);
            tw[4 * l + 3] = mul_alpha(tw[4 * l + 2]);
        }
        __m128i b[8];
#pragma GCC unroll 8
        for (unsigned j = 0; j < 8; j++)
            b[j] = _mm_xor_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * j)), tw[j]), rk[0]);
        n[0] = _mm_xor_si128(_mm_set_epi64x(0, (long long)(pa + 128)), tk[0]);
        n[1] = _mm_xor_si128(_mm_set_epi64x(0, (long long)(pa + 192)), tk[0]);
#pragma GCC unroll 16
        for (unsigned r = 1; r < R; r++) {
#pragma GCC unroll 8
            for (unsigned j = 0; j < 8; j++)
                b[j] = dec ? _mm_aesdec_si128(b[j], rk[r]) : _mm_aesenc_si128(b[j], rk[r]);
            n[0] = _mm_aesenc_si128(n[0], tk[r]);
            n[1] = _mm_aesenc_si128(n[1], tk[r]);
        }
#pragma GCC unroll 8
        for (unsigned j = 0; j < 8; j++) {
            b[j] = dec ? _mm_aesdeclast_si128(b[j], rk[R]) : _mm_aesenclast_si128(b[j], rk[R]);
            _mm_storeu_si128((__m128i *)(out + 16 * j), _mm_xor_si128(b[j], tw[j]));
        }
        n[0] = _mm_aesenclast_si128(n[0], tk[R]);
        n[1] = _mm_aesenclast_si128(n[1], tk[R]);
        pa += 128;
        in += 128;
        out += 128;
    }
    mc_wipe(tw, sizeof tw); /* tweaks are key-derived */
    mc_wipe(n, sizeof n);
}

AESNI void mc_aesni_xts_lines(const struct mc_xts_keys *k, int decrypt, uint64_t pa, const uint8_t *in,
                              uint8_t *out, size_t nlines)
{
    const struct mc_aes_ks *ks1 = decrypt ? &k->dec1 : &k->enc1;
    const bool r10 = ks1->rounds == 10;
    size_t np = nlines / 2;
    if (np) {
        if (r10)
            decrypt ? pairs(ks1, &k->enc2, 10, 1, pa, in, out, np) : pairs(ks1, &k->enc2, 10, 0, pa, in, out, np);
        else
            decrypt ? pairs(ks1, &k->enc2, 14, 1, pa, in, out, np) : pairs(ks1, &k->enc2, 14, 0, pa, in, out, np);
    }
    if (nlines & 1) {
        size_t off = 128 * np;
        uint64_t last = pa + off;
        if (r10)
            decrypt ? one_line(ks1, 10, &k->enc2, 1, last, in + off, out + off)
                    : one_line(ks1, 10, &k->enc2, 0, last, in + off, out + off);
        else
            decrypt ? one_line(ks1, 14, &k->enc2, 1, last, in + off, out + off)
                    : one_line(ks1, 14, &k->enc2, 0, last, in + off, out + off);
    }
}

AESNI void mc_aesni_xts_unit(const struct mc_xts_keys *k, int decrypt, const uint8_t tweak[16], const uint8_t *in,
                             uint8_t *out, size_t nblocks)
{
    __m128i tw[32];
    __m128i t = _mm_loadu_si128((const __m128i *)tweak);
    aes_enc_n(&k->enc2, &t, 1);
    while (nblocks) {
        size_t n = nblocks < 32 ? nblocks : 32;
        for (size_t j = 0; j < n; j++) {
            tw[j] = t;
            t = mul_alpha(t);
        }
        core_any(k, decrypt, tw, in, out, n);
        in += 16 * n;
        out += 16 * n;
        nblocks -= n;
    }
    mc_wipe(tw, sizeof tw);
    mc_wipe(&t, sizeof t);
}
