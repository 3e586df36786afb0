/* memcrypt engine — internal interface of the XTS implementations (portable EVP, AES-NI, VAES).
 *
 * Key schedules are kept in this layout for the intrinsic paths; the EVP path keeps its own
 * OpenSSL contexts. A "line run" is nlines 64-byte lines at pa, pa+64, ...; line i uses the
 * tweak T = AES_k2(LE128(pa + 64 i)) and T * alpha^j for its block j (IEEE 1619 with a data
 * unit of one line). A "unit" is one IEEE 1619 data unit of nblocks whole 16-byte blocks with
 * a raw 16-byte tweak block (the known-answer-test entry point).
 */
#ifndef MC_ENGINE_XTS_IMPL_H
#define MC_ENGINE_XTS_IMPL_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#define MC_AES_MAX_ROUNDS 14

struct mc_aes_ks {
    alignas(16) uint8_t rk[MC_AES_MAX_ROUNDS + 1][16];
    unsigned rounds; /* 10 (AES-128) or 14 (AES-256) */
};

/* The same round keys duplicated into both 128-bit halves of a 256-bit row (VAES operand). */
struct mc_aes_ks2 {
    alignas(32) uint8_t rk[MC_AES_MAX_ROUNDS + 1][32];
};

/* Key schedules of one XTS key: data key (encrypt and equivalent-inverse decrypt rounds) and
 * tweak key (encrypt only), in 128-bit and duplicated 256-bit form. Allocate with 32-byte
 * alignment. */
struct mc_xts_keys {
    struct mc_aes_ks enc1, dec1, enc2;
    struct mc_aes_ks2 enc1x2, dec1x2, enc2x2;
};

/* The intrinsic code indexes these rows as __m128i / __m256i. */
_Static_assert(sizeof(((struct mc_aes_ks *)0)->rk[0]) == 16, "128-bit round key rows");
_Static_assert(sizeof(((struct mc_aes_ks2 *)0)->rk[0]) == 32, "256-bit round key rows");
_Static_assert(offsetof(struct mc_aes_ks, rk) == 0 && offsetof(struct mc_aes_ks2, rk) == 0, "rows first");
_Static_assert(offsetof(struct mc_xts_keys, enc1x2) % 32 == 0, "256-bit rows are 32-byte aligned");

/* AES-NI key expansion (AESKEYGENASSIST). key_bytes = 16 or 32 per half; key = k1 || k2. */
void mc_aesni_xts_setkey(struct mc_xts_keys *k, const uint8_t *key, unsigned half_bytes);

void mc_aesni_xts_lines(const struct mc_xts_keys *k, int decrypt, uint64_t pa, const uint8_t *in, uint8_t *out,
                        size_t nlines);
void mc_aesni_xts_unit(const struct mc_xts_keys *k, int decrypt, const uint8_t tweak[16], const uint8_t *in,
                       uint8_t *out, size_t nblocks);
void mc_vaes_xts_lines(const struct mc_xts_keys *k, int decrypt, uint64_t pa, const uint8_t *in, uint8_t *out,
                       size_t nlines);
void mc_vaes_xts_unit(const struct mc_xts_keys *k, int decrypt, const uint8_t tweak[16], const uint8_t *in,
                      uint8_t *out, size_t nblocks);

#endif
