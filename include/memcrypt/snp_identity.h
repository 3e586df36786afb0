/* memcrypt — the emulated chip's SEV-SNP identity, and the emulated AMD key server behind it.
 *
 * Chip side (what the SNP firmware holds):
 *   - VCEK(TCB): AMD's "hash stick" chain over the eight TCB bytes, rooted in a seed derived from
 *     the chip secret, then key_from_hash: 56 bytes = SP 800-108 KDF(stick, "sev-versioned-chip-
 *     endorsement-key") -> P-384 key from extra random bits. A new TCB gives a new VCEK; a stick
 *     for a TCB yields the sticks of every older TCB, never of a newer one (docs/snp-platform.md).
 *   - VLEK: loaded from a wrapped hashstick (SNP_VLEK_LOAD, 0x1B0 bytes) with AES-256-GCM under a
 *     wrapping key KDF(VCEK stick at the reported TCB, "vlek-wrapping-key"); wiped by SNP_SHUTDOWN.
 *   - CHIP_ID (64 bytes; Turin uses the first 8, the rest is zero).
 * AMD side (the emulated KDS; an emulated platform needs one to certify its chip):
 *   - ARK, ASK, ASVK: RSA-4096, RSASSA-PSS SHA-384 salt 48, AMD's DNs/extensions, each subject
 *     MARKED "memcrypt EMULATED chip (not AMD)" in OU and O, so `report verify` without --roots
 *     refuses them and says they are the emulated root. As on real chips, they are the
 *     generation's: fixed keys compiled into the library, the same on every emulated chip of one
 *     generation (and the same RSA keys as its legacy SEV ARK/ASK, as AMD's are). Their private
 *     keys are PUBLIC BY DESIGN (data/emulated-roots/), so nothing emulated can pass for AMD's.
 *     A root of the caller's own can still be generated from a root seed (slow: ~1 s an RSA-4096
 *     key); the keys are kept in the serialized identity and can be shared (roots_from).
 *   - VCEK/VLEK certificates with AMD's extensions, and VLEK wrapping for a chip.
 *
 * MASK_CHIP_KEY / VCEK_DIS are the caller's (firmware's) state; it passes them to the report
 * builder and key-request functions (snp_guest_msg.h). An identity is not thread-safe (it keeps a
 * small cache of derived VCEKs): one per emulated machine, passed explicitly.
 */
#ifndef MEMCRYPT_SNP_IDENTITY_H
#define MEMCRYPT_SNP_IDENTITY_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/snp_report.h>

MC_BEGIN_DECLS

#define MC_SNP_SECRET_LEN 32          /* chip secret */
#define MC_SNP_SEED_LEN 48            /* a hash stick (SHA-384): the VCEK/VLEK seed */
#define MC_SNP_CHIP_ID_LEN 64
#define MC_SNP_VLEK_WRAPPED_LEN 0x1B0u /* SNP_VLEK_LOAD hashstick */
#define MC_SNP_VLEK_LOAD_CMD_LEN 0x10u /* SNP_VLEK_LOAD command buffer */

struct mc_snp_identity;

struct mc_snp_identity_params {
    enum mc_snp_gen gen;          /* Milan, Genoa or Turin */
    unsigned stepping;            /* Milan VCEK productName "Milan-B<stepping>" (0..9); ignored otherwise */
    const uint8_t *chip_secret;   /* MC_SNP_SECRET_LEN bytes (required) */
    const uint8_t *chip_id;       /* 64 bytes (Turin: bytes 8..63 must be 0); NULL: derived from the secret */
    /* The emulated AMD root: taken from roots_from (same generation) when given; else generated
     * from root_seed (any length >= 16: a root of the caller's own), or, when that is NULL too,
     * the generation's fixed emulated ARK/ASK/ASVK (the chip's CEK/VCEK never come from them). */
    const struct mc_snp_identity *roots_from;
    const uint8_t *root_seed;
    size_t root_seed_len;
    unsigned root_bits;           /* RSA size of the roots: 0 or 4096 (AMD's); 2048 only to make
                                     tests that are not about the roots fast (fixed 2048-bit
                                     emulated keys, or generated ones with root_seed) */
};

MC_API mc_status mc_snp_identity_create(const struct mc_snp_identity_params *p, struct mc_snp_identity **out,
                              struct mc_error *err);
MC_API void mc_snp_identity_destroy(struct mc_snp_identity *id);

MC_API enum mc_snp_gen mc_snp_identity_gen(const struct mc_snp_identity *id);
/* CHIP_ID as the report carries it (MASK_CHIP_ID is the caller's business). */
MC_API void mc_snp_identity_chip_id(const struct mc_snp_identity *id, uint8_t out[MC_SNP_CHIP_ID_LEN]);

/* The VCEK seed (hash stick) at tcb: the root key of MSG_KEY_REQ with ROOT_KEY_SELECT 0.
 * Secret: wipe it after use. */
MC_API mc_status mc_snp_identity_vcek_seed(struct mc_snp_identity *id, uint64_t tcb, uint8_t seed[MC_SNP_SEED_LEN],
                                    struct mc_error *err);
/* The VCEK public key at tcb as the report/ID-block wire format writes P-384 points (x, y
 * little-endian, 72 bytes each). */
MC_API mc_status mc_snp_identity_vcek_public(struct mc_snp_identity *id, uint64_t tcb, uint8_t x[72], uint8_t y[72],
                                      struct mc_error *err);

/* ---- VLEK ---- */
/* SNP_VLEK_LOAD command buffer (u32 length @0 = 0x10, u8 VLEK_WRAPPED_VERSION @4 = 0, 3 reserved,
 * u64 VLEK_WRAPPED_PADDR @8): *fw = INVALID_PARAM on a bad length/version/reserved byte. */
MC_API void mc_snp_vlek_load_cmd(const uint8_t cmd[MC_SNP_VLEK_LOAD_CMD_LEN], uint64_t *wrapped_paddr, mc_fw_status *fw);
/* Unwrap and install (SNP_VLEK_LOAD after the command checks). reported_tcb is the platform's
 * REPORTED_TCB. *fw: SUCCESS; INVALID_PARAM (len is not 0x1B0); BAD_SVN (the hashstick's TCB is
 * not reported_tcb); BAD_MEASUREMENT (the GCM tag does not authenticate: wrong chip, wrong TCB,
 * tampered). On failure the identity is unchanged; returns MC_OK whenever *fw is set. */
MC_API mc_status mc_snp_identity_vlek_load(struct mc_snp_identity *id, const uint8_t *wrapped, size_t len,
                                    uint64_t reported_tcb, mc_fw_status *fw, struct mc_error *err);
MC_API bool mc_snp_identity_vlek_loaded(const struct mc_snp_identity *id);
/* The loaded VLEK's TCB (0 when none). */
MC_API uint64_t mc_snp_identity_vlek_tcb(const struct mc_snp_identity *id);
/* SNP_SHUTDOWN wipes the VLEK. */
MC_API void mc_snp_identity_vlek_clear(struct mc_snp_identity *id);
/* The VLEK seed (stick 7 of the hashstick): MSG_KEY_REQ's root for a VLEK. MC_E_STATE when none. */
MC_API mc_status mc_snp_identity_vlek_seed(const struct mc_snp_identity *id, uint8_t seed[MC_SNP_SEED_LEN],
                                    struct mc_error *err);

/* AMD side: wrap a VLEK for `chip` at tcb (what AMD's KDS hands a cloud provider for one chip).
 * vlek_seed is the provider's VLEK root (48 bytes); the plaintext is its eight hash sticks at
 * tcb. iv: 12 bytes (NULL: fresh random). out: the 0x1B0-byte hashstick. */
MC_API mc_status mc_snp_vlek_wrap(struct mc_snp_identity *chip, const uint8_t vlek_seed[MC_SNP_SEED_LEN], uint64_t tcb,
                           const uint8_t *iv, uint8_t out[MC_SNP_VLEK_WRAPPED_LEN], struct mc_error *err);

/* ---- certificates (DER; *der is malloc'd, the caller frees it) ---- */
enum mc_snp_root { MC_SNP_ROOT_ARK, MC_SNP_ROOT_ASK, MC_SNP_ROOT_ASVK };
MC_API mc_status mc_snp_identity_root_cert(const struct mc_snp_identity *id, enum mc_snp_root which, uint8_t **der,
                                    size_t *len, struct mc_error *err);
/* The emulated ARK's CRL (what KDS serves at /vcek/v1/{product}/crl and /vlek/.../crl): signed by
 * the ARK, nothing revoked. */
MC_API mc_status mc_snp_identity_crl(const struct mc_snp_identity *id, uint8_t **der, size_t *len, struct mc_error *err);
/* The VCEK certificate for tcb (AMD's extensions; hwID = CHIP_ID). */
MC_API mc_status mc_snp_identity_vcek_cert(struct mc_snp_identity *id, uint64_t tcb, uint8_t **der, size_t *len,
                                    struct mc_error *err);
/* The loaded VLEK's certificate (its TCB; cspID = csp_id, NULL: "memcrypt emulated CSP"). */
MC_API mc_status mc_snp_identity_vlek_cert(const struct mc_snp_identity *id, const char *csp_id, uint8_t **der,
                                    size_t *len, struct mc_error *err);
/* The extended-report certificate table (digest §6.7) a host would install: VCEK at tcb (or the
 * VLEK when vlek and one is loaded), ASK (ASVK), ARK. */
MC_API mc_status mc_snp_identity_certtable(struct mc_snp_identity *id, uint64_t tcb, bool vlek, uint8_t **out,
                                    size_t *out_len, struct mc_error *err);
/* Write a folder `memcrypt report verify --roots DIR` and `openssl verify` take: ark.pem, ask.pem,
 * asvk.pem, cert_chain.pem (ASK then ARK, as KDS serves it), vcek.der/.pem at tcb,
 * vlek.der/.pem when a VLEK is loaded, certtable.bin — all or nothing (an output set). Creates
 * dir if missing (its parent must exist). */
MC_API mc_status mc_snp_identity_export(struct mc_snp_identity *id, const char *dir, uint64_t tcb, struct mc_error *err);
/* The same files added to an output set (memcrypt/fileio.h) the caller commits with others. */
struct mc_outset;
MC_API mc_status mc_snp_identity_export_set(struct mc_snp_identity *id, struct mc_outset *os, const char *dir, uint64_t tcb,
                                     struct mc_error *err);

/* ---- persistence ---- */
/* A versioned, length-checked, SHA-256-checksummed blob with the chip secret, CHIP_ID, the loaded
 * VLEK and the emulated roots (certificates and private keys): it is secret (write it mode 0600).
 * *buf is malloc'd; the caller wipes and frees it. */
MC_API mc_status mc_snp_identity_serialize(const struct mc_snp_identity *id, uint8_t **buf, size_t *len,
                                    struct mc_error *err);
/* Hostile input: truncated, corrupt, foreign, inconsistent (keys that do not match their
 * certificates, a chain that does not verify, unmarked roots) -> MC_E_FORMAT with a sentence;
 * nothing is allocated then. */
MC_API mc_status mc_snp_identity_deserialize(const uint8_t *buf, size_t len, struct mc_snp_identity **out,
                                      struct mc_error *err);

MC_END_DECLS

#endif
