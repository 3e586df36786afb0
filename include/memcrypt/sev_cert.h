/* memcrypt — legacy SEV certificates (SEV API 55766, appendix "certificates").
 *
 * Two binary formats:
 *  - the SEV certificate, 0x824 bytes (OCA, PEK, PDH, CEK and the guest owner's GODH);
 *  - AMD's signing-key certificate for the ARK and ASK (RSA, variable size).
 * Parsers are strict and treat their input as hostile: any size, version, usage, algorithm,
 * curve, key size, padding or off-curve point that the spec does not allow gives MC_E_FORMAT
 * with a sentence saying which field is wrong. Signature checks give MC_E_VERIFY.
 * The decoded structs below are plain values (no pointers, no ownership).
 */
#ifndef MEMCRYPT_SEV_CERT_H
#define MEMCRYPT_SEV_CERT_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

#define MC_SEV_CERT_LEN 0x824
#define MC_SEV_CERT_SIGNED_LEN 0x414 /* bytes covered by both signatures */
#define MC_SEV_PUBKEY_LEN 0x404
#define MC_SEV_SIG_LEN 0x200
#define MC_SEV_CHAIN_LEN 0x186C /* PEK || OCA || CEK, as PDH_CERT_EXPORT writes it */

enum mc_sev_usage {
    MC_SEV_USAGE_ARK = 0x0000,
    MC_SEV_USAGE_ASK = 0x0013,
    MC_SEV_USAGE_INVALID = 0x1000, /* empty signature slot */
    MC_SEV_USAGE_OCA = 0x1001,
    MC_SEV_USAGE_PEK = 0x1002,
    MC_SEV_USAGE_PDH = 0x1003,
    MC_SEV_USAGE_CEK = 0x1004,
};

enum mc_sev_algo {
    MC_SEV_ALGO_INVALID = 0x0000,
    MC_SEV_ALGO_RSA_SHA256 = 0x0001,
    MC_SEV_ALGO_ECDSA_SHA256 = 0x0002,
    MC_SEV_ALGO_ECDH_SHA256 = 0x0003,
    MC_SEV_ALGO_RSA_SHA384 = 0x0101,
    MC_SEV_ALGO_ECDSA_SHA384 = 0x0102,
    MC_SEV_ALGO_ECDH_SHA384 = 0x0103,
};

#define MC_SEV_CURVE_P384 2

/* A decoded SEV certificate. Multi-byte key material stays in the spec's little-endian wire
 * form inside `pubkey` / `sig[i].data`. */
struct mc_sev_cert {
    uint32_t version; /* 1 */
    uint8_t api_major, api_minor;
    uint32_t usage; /* enum mc_sev_usage */
    uint32_t algo;  /* enum mc_sev_algo */
    uint8_t pubkey[MC_SEV_PUBKEY_LEN];
    struct mc_sev_cert_sig {
        uint32_t usage, algo; /* MC_SEV_USAGE_INVALID / MC_SEV_ALGO_INVALID when empty */
        uint8_t data[MC_SEV_SIG_LEN];
    } sig[2];
};

/* Parse exactly MC_SEV_CERT_LEN bytes (strict). */
MC_API mc_status mc_sev_cert_parse(const uint8_t *buf, size_t len, struct mc_sev_cert *out, struct mc_error *err);
/* Encode to the 0x824-byte wire form. */
MC_API void mc_sev_cert_serialize(const struct mc_sev_cert *c, uint8_t out[MC_SEV_CERT_LEN]);
/* Verify that `c` carries a valid signature (in either slot) by `signer`, and that this signer
 * may sign this certificate: PDH by PEK, PEK by OCA or CEK, OCA by itself, GODH unsigned.
 * MC_E_VERIFY with a reason otherwise. */
MC_API MC_MUST_CHECK mc_status mc_sev_cert_verify(const struct mc_sev_cert *c, const struct mc_sev_cert *signer, struct mc_error *err);
/* Empty both signature slots (what PEK_CSR and PDH_CERT_EXPORT's CEK look like). */
MC_API void mc_sev_cert_clear_sigs(struct mc_sev_cert *c);
/* True when slot i holds a signature: not empty, where empty is usage 0x1000 (INVALID) or
 * usage 0 with algorithm 0 (both accepted by the parser, with all-zero data). */
MC_API bool mc_sev_cert_slot_used(const struct mc_sev_cert *c, int i);
/* Names for display ("PEK", "ECDSA-SHA256", ...); never NULL. */
MC_API const char *mc_sev_usage_name(uint32_t usage);
MC_API const char *mc_sev_algo_name(uint32_t algo);

/* ---- AMD signing-key certificate (ARK / ASK) ---------------------------------------------- */

#define MC_AMD_CERT_HDR_LEN 0x40
#define MC_AMD_CERT_MAX_LEN (MC_AMD_CERT_HDR_LEN + 3 * 512)

struct mc_amd_cert {
    uint32_t version; /* 1 */
    uint8_t key_id[16];
    uint8_t certifying_id[16];
    uint32_t key_usage;    /* MC_SEV_USAGE_ARK or MC_SEV_USAGE_ASK */
    uint32_t pubexp_bits;  /* 2048 or 4096 */
    uint32_t modulus_bits; /* 2048 or 4096 */
    uint8_t pubexp[512];   /* little-endian, pubexp_bits/8 bytes used */
    uint8_t modulus[512];  /* little-endian, modulus_bits/8 bytes used */
    uint8_t sig[512];      /* little-endian, sig_len bytes used */
    uint32_t sig_len;      /* = the signer's modulus size in bytes */
};

/* Parse one AMD certificate occupying the whole buffer (strict). The signature length is what
 * remains after the modulus and must be 256 or 512 bytes, or 0: an unsigned body (AMD
 * distributes the Naples ARK as 576 bytes without signature); sig_len is then 0 and
 * mc_amd_cert_verify refuses it — trust it only through mc_sev_root_match_body. */
MC_API mc_status mc_amd_cert_parse(const uint8_t *buf, size_t len, struct mc_amd_cert *out, struct mc_error *err);
/* Parse an AMD chain ASK || ARK (SEND_START's amd_certs buffer); the ASK's signature is taken to
 * have its own modulus size. */
MC_API mc_status mc_amd_chain_parse(const uint8_t *buf, size_t len, struct mc_amd_cert *ask, struct mc_amd_cert *ark,
                             struct mc_error *err);
/* Wire size of c; serialize into out (cap bytes), *outlen receives the size. */
MC_API size_t mc_amd_cert_size(const struct mc_amd_cert *c);
MC_API mc_status mc_amd_cert_serialize(const struct mc_amd_cert *c, uint8_t *out, size_t cap, size_t *outlen,
                                struct mc_error *err);
/* Verify c's RSA-PSS signature under signer (ARK: itself). The hash follows the signer's size:
 * SHA-256 for 2048-bit keys (Naples), SHA-384 for 4096-bit keys. Also checks c's
 * CERTIFYING_ID equals the signer's KEY_ID and the usage pairing (ARK signs ARK and ASK). */
MC_API MC_MUST_CHECK mc_status mc_amd_cert_verify(const struct mc_amd_cert *c, const struct mc_amd_cert *signer, struct mc_error *err);
/* Verify that the SEV certificate `cek` (usage CEK) has a valid ASK signature by `ask`. */
MC_API MC_MUST_CHECK mc_status mc_sev_cert_verify_by_ask(const struct mc_sev_cert *cek, const struct mc_amd_cert *ask,
                                    struct mc_error *err);
/* True when the KEY_ID carries memcrypt's emulated-root marker (see MC_AMD_EMULATED_TAG). */
MC_API bool mc_amd_cert_is_emulated(const struct mc_amd_cert *c);
/* The first 12 bytes of every emulated ARK/ASK KEY_ID: ASCII "MEMCRYPT-EMU". */
#define MC_AMD_EMULATED_TAG "MEMCRYPT-EMU"

/* ---- AMD's real roots, built in ------------------------------------------------------------- */

struct mc_sev_root {
    const char *name; /* "naples", "rome", "milan", "genoa", "turin" */
    const uint8_t *ark;
    size_t ark_len;
    const uint8_t *ask;
    size_t ask_len;
};
/* The built-in table (n entries), AMD's public ARK/ASK files byte for byte. */
MC_API const struct mc_sev_root *mc_sev_roots(size_t *n);
/* Which built-in generation has this ARK (same modulus and exponent)? NULL if none. */
MC_API const char *mc_sev_root_match_ark(const struct mc_amd_cert *ark);
/* Which built-in generation has an ARK or ASK whose body (every byte but the signature) equals
 * c's? NULL if none. An unsigned copy of a built-in root is trusted as that root. */
MC_API const char *mc_sev_root_match_body(const struct mc_amd_cert *c);

/* ---- The whole chain -------------------------------------------------------------------------- */

#define MC_SEV_CHAIN_MAX_LINKS 10
struct mc_sev_chain_link {
    const char *name; /* "PDH <- PEK", ..., "root" */
    bool ok;
    char reason[MC_ERROR_MSG_MAX];
};
struct mc_sev_chain_result {
    struct mc_sev_chain_link links[MC_SEV_CHAIN_MAX_LINKS];
    int n;
    const char *root_gen; /* built-in AMD generation of the root, or NULL */
    bool emulated_root, root_ok;
    bool ok;              /* every link checked and passed, with all four platform certificates */
    char root_desc[240];
};
/* Verify PDH <- PEK <- OCA/CEK <- ASK <- ARK, link by link. NULL certificates are left out (the
 * result is then not ok). With ask/ark (either may be NULL) they are the chain's AMD part: the
 * ARK must be AMD's built-in root (an unsigned copy of it counts) or, with allow_emulated,
 * memcrypt's emulated root. Without both, every built-in generation's ASK is tried for the CEK. */
MC_API void mc_sev_chain_verify(const struct mc_sev_cert *pdh, const struct mc_sev_cert *pek, const struct mc_sev_cert *oca,
                         const struct mc_sev_cert *cek, const struct mc_amd_cert *ask, const struct mc_amd_cert *ark,
                         bool allow_emulated, struct mc_sev_chain_result *r);

MC_END_DECLS

#endif
