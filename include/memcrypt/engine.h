/* memcrypt — the memory encryption engine (the AES unit in the memory controller).
 *
 * Key slots hold keys that never leave the engine: there is no API that returns key bytes.
 * The memory controller maps each key domain (host/SME key, TSME platform key, an SEV ASID,
 * an MKTME KeyID) to one slot.
 *
 * The unit of encryption is one 64-byte cache line. Its XTS tweak is the line's physical
 * address with the C-bit/KeyID bits removed, as a 128-bit little-endian number:
 *     line = EVP aes-128-xts / aes-256-xts over the 64 bytes, IV = LE128(pa)
 * so any XTS implementation can check the engine. Runs of lines at consecutive addresses are
 * processed in one call (the fast path for whole pages).
 */
#ifndef MEMCRYPT_ENGINE_H
#define MEMCRYPT_ENGINE_H

#include <memcrypt/api.h>

#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

#define MC_LINE_SIZE 64u

enum mc_cipher {
    MC_CIPHER_NONE = 0,
    MC_CIPHER_AES128_XTS = 1, /* 32-byte key: data key || tweak key */
    MC_CIPHER_AES256_XTS = 2, /* 64-byte key: data key || tweak key */
};

enum mc_engine_impl {
    MC_IMPL_AUTO = 0,  /* best available, chosen from CPUID at run time */
    MC_IMPL_PORTABLE,  /* OpenSSL EVP */
    MC_IMPL_AESNI,     /* AES-NI intrinsics, 128-bit lanes */
    MC_IMPL_VAES,      /* VAES + AVX2 intrinsics, 256-bit lanes */
};

typedef uint32_t mc_slot; /* slot handle; 0 is never a valid handle */

struct mc_engine;
struct mc_rng;

/* Create an engine with room for max_slots keys (1..65535, else MC_E_RANGE); keys come from rng
 * (borrowed, must outlive the engine). The best implementation for this CPU is selected.
 * Not thread-safe: one engine is used by one thread at a time. */
MC_API mc_status mc_engine_create(struct mc_rng *rng, unsigned max_slots, struct mc_engine **out, struct mc_error *err);
/* Wipe every slot and free. NULL is fine. */
MC_API void mc_engine_destroy(struct mc_engine *e);

/* Fill a free slot with a fresh key from the DRBG. MC_E_FULL when no slot is free. */
MC_API mc_status mc_engine_slot_generate(struct mc_engine *e, enum mc_cipher c, mc_slot *out, struct mc_error *err);
/* Fill a free slot with a caller-supplied key (32 bytes for AES-128-XTS, 64 for AES-256-XTS;
 * the two halves must differ). Used by PCONFIG KEYID_SET_KEY_DIRECT, tests and the CLI. */
MC_API mc_status mc_engine_slot_import(struct mc_engine *e, enum mc_cipher c, const uint8_t *key, size_t keylen,
                                mc_slot *out, struct mc_error *err);
/* Wipe and free a slot. Using a destroyed slot afterwards gives MC_E_STATE; a handle this
 * engine never issued (0, index out of range) gives MC_E_NOTFOUND. Handles are not reused
 * immediately: a slot's generation advances on destroy and free slots are taken round-robin. */
MC_API mc_status mc_engine_slot_destroy(struct mc_engine *e, mc_slot s, struct mc_error *err);
MC_API mc_status mc_engine_slot_cipher(const struct mc_engine *e, mc_slot s, enum mc_cipher *c, struct mc_error *err);
MC_API unsigned mc_engine_slots_used(const struct mc_engine *e);

/* Encrypt/decrypt len bytes (a multiple of 64) of lines at consecutive physical addresses
 * starting at pa (64-byte aligned, already stripped of C-bit/KeyID bits). in == out allowed
 * (partial overlap is not). Errors: MC_E_ALIGN (pa or len), MC_E_RANGE (pa + len past 2^64),
 * MC_E_STATE / MC_E_NOTFOUND (slot), MC_E_INVAL (NULL); nothing is written on error. */
MC_API mc_status mc_engine_encrypt(struct mc_engine *e, mc_slot s, uint64_t pa, const uint8_t *in, uint8_t *out,
                            size_t len, struct mc_error *err);
MC_API mc_status mc_engine_decrypt(struct mc_engine *e, mc_slot s, uint64_t pa, const uint8_t *in, uint8_t *out,
                            size_t len, struct mc_error *err);

/* Choose the implementation (tests force each one; MC_E_UNSUPPORTED if the CPU lacks it). */
MC_API mc_status mc_engine_set_impl(struct mc_engine *e, enum mc_engine_impl impl, struct mc_error *err);
MC_API enum mc_engine_impl mc_engine_get_impl(const struct mc_engine *e);
MC_API const char *mc_engine_impl_name(enum mc_engine_impl impl);
/* Is this implementation usable on this CPU? */
MC_API int mc_engine_impl_available(enum mc_engine_impl impl);

/* Stateless one-shot transform with an explicit key, for `memcrypt engine` and for checking
 * the engine by hand. Same rules as above; the key is wiped from internal state on return. */
MC_API mc_status mc_xts_lines(enum mc_cipher c, const uint8_t *key, size_t keylen, uint64_t pa, int decrypt,
                       const uint8_t *in, uint8_t *out, size_t len, struct mc_error *err);
/* mc_xts_lines on a chosen implementation (MC_IMPL_AUTO = best); MC_E_UNSUPPORTED when this CPU
 * lacks it. For comparing the implementations (memcrypt engine --impl). */
MC_API mc_status mc_xts_lines_impl(enum mc_engine_impl impl, enum mc_cipher c, const uint8_t *key, size_t keylen,
                                   uint64_t pa, int decrypt, const uint8_t *in, uint8_t *out, size_t len,
                                   struct mc_error *err);

MC_END_DECLS

#endif
