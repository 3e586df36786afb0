/* memcrypt — the emulated SEV platform identity (for the Secure Processor emulation).
 *
 * An emulated chip: a chip-unique secret (CUK), the CEK derived from it (SEV API: seed =
 * SHA-256(CUK), 56 bytes = KDF(seed, "sev-chip-endorsement-key"), P-384 key from those extra
 * random bits), an EMULATED AMD root (ARK and ASK, RSA, in AMD's format, KEY_IDs
 * "MEMCRYPT-EMU-ARK" / "MEMCRYPT-EMU-ASK"; the generation's fixed emulated keys, see
 * mc_sev_identity_params.product) whose ASK signs the CEK, and the firmware-generated
 * OCA (self-owned or imported), PEK and PDH.
 *
 * The firmware calls these for PEK_GEN, PDH_GEN, PEK_CSR, PEK_CERT_IMPORT, PDH_CERT_EXPORT,
 * GET_ID, LAUNCH_START (session open with the PDH) and ATTESTATION (PEK signature).
 * Every mutating call either succeeds completely or leaves the identity unchanged.
 * The identity owns its keys; free it with mc_sev_identity_destroy (secrets are wiped).
 */
#ifndef MEMCRYPT_SEV_IDENTITY_H
#define MEMCRYPT_SEV_IDENTITY_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_session.h>

MC_BEGIN_DECLS

struct mc_rng; /* src/crypto/crypto.h: the machine's DRBG */
struct mc_sev_identity;

struct mc_sev_identity_params {
    uint8_t api_major, api_minor, build; /* written into every SEV cert the firmware makes */
    unsigned root_bits; /* emulated ARK/ASK RSA size: 2048 or 4096 (0 = 4096) */
    /* The product generation ("naples", "rome", "milan", "genoa", "turin": a CPU profile name):
     * the chip then carries that generation's fixed emulated ARK/ASK, the same on every emulated
     * chip of it and the same RSA keys as its SNP ARK/ASK (as AMD's are); their private keys are
     * public by design. NULL or another name: ARK/ASK keys drawn from rng, a root of this chip's
     * own (slow: ~1 s an RSA-4096 key). */
    const char *product;
};

/* A fresh chip: CUK, CEK, emulated ARK/ASK, and a self-owned OCA/PEK/PDH (as after PEK_GEN). */
MC_API mc_status mc_sev_identity_create(struct mc_rng *rng, const struct mc_sev_identity_params *p,
                              struct mc_sev_identity **out, struct mc_error *err);
MC_API void mc_sev_identity_destroy(struct mc_sev_identity *id);
/* An independent copy (keys included): what deserialising the identity's serialisation would
 * give, without re-checking its certificates. */
MC_API mc_status mc_sev_identity_dup(const struct mc_sev_identity *id, struct mc_sev_identity **out, struct mc_error *err);

/* Firmware results the caller maps to spec status codes. */
enum mc_sev_id_result {
    MC_SEV_ID_OK = 0,
    MC_SEV_ID_ALREADY_OWNED,   /* -> ALREADY_OWNED */
    MC_SEV_ID_BAD_LENGTH,      /* -> INVALID_LENGTH */
    MC_SEV_ID_INVALID_CERT,    /* -> INVALID_CERTIFICATE */
    MC_SEV_ID_BAD_SIGNATURE,   /* -> BAD_SIGNATURE */
    MC_SEV_ID_ERROR,           /* internal (crypto library / memory) */
};
MC_API const char *mc_sev_id_result_name(enum mc_sev_id_result r);

/* PEK_GEN: new OCA (self-owned again), PEK (signed by OCA in slot 1 and CEK in slot 2) and PDH. */
MC_API mc_status mc_sev_identity_pek_gen(struct mc_sev_identity *id, struct mc_rng *rng, struct mc_error *err);
/* PDH_GEN: new PDH signed by the current PEK. */
MC_API mc_status mc_sev_identity_pdh_gen(struct mc_sev_identity *id, struct mc_rng *rng, struct mc_error *err);
/* PEK_CSR: the current PEK cert body with both signature slots empty. */
MC_API void mc_sev_identity_pek_csr(const struct mc_sev_identity *id, uint8_t out[MC_SEV_CERT_LEN]);
/* PEK_CERT_IMPORT: OCA must be self-signed, the PEK signed by that OCA with a body identical
 * to the current PEK; then the CEK signature is copied into slot 2, the platform becomes
 * externally owned and a new PDH is generated. *res says why it failed (identity unchanged). */
MC_API mc_status mc_sev_identity_pek_import(struct mc_sev_identity *id, struct mc_rng *rng, const uint8_t *pek,
                                     size_t pek_len, const uint8_t *oca, size_t oca_len,
                                     enum mc_sev_id_result *res, struct mc_error *err);
MC_API bool mc_sev_identity_is_owned(const struct mc_sev_identity *id); /* true = externally owned */
MC_API void mc_sev_identity_version(const struct mc_sev_identity *id, uint8_t *api_major, uint8_t *api_minor,
                             uint8_t *build);

enum mc_sev_id_cert { MC_SEV_ID_ARK, MC_SEV_ID_ASK, MC_SEV_ID_CEK, MC_SEV_ID_OCA, MC_SEV_ID_PEK, MC_SEV_ID_PDH };
/* A certificate in its wire form: SEV certs are 0x824 bytes; ARK/ASK in AMD's format. The CEK
 * here is the ASK-signed one (what AMD's key server would hand out). */
MC_API mc_status mc_sev_identity_cert(const struct mc_sev_identity *id, enum mc_sev_id_cert which, uint8_t *out,
                               size_t cap, size_t *len, struct mc_error *err);
/* PDH_CERT_EXPORT: PDH cert and the chain PEK || OCA || CEK (CEK unsigned, as the firmware exports it). */
MC_API void mc_sev_identity_pdh_export(const struct mc_sev_identity *id, uint8_t pdh[MC_SEV_CERT_LEN],
                                uint8_t chain[MC_SEV_CHAIN_LEN]);
/* GET_ID: 64 bytes (X || Y big-endian of a secp256k1 point derived from the CUK). */
MC_API mc_status mc_sev_identity_get_id(const struct mc_sev_identity *id, uint8_t out[64], struct mc_error *err);

/* LAUNCH_START with a GODH cert: check the GODH, ECDH with the PDH, unwrap and check the session
 * against `policy`. *why tells the firmware which status to return. */
MC_API mc_status mc_sev_identity_open_session(const struct mc_sev_identity *id, const uint8_t *godh, size_t godh_len,
                                       const uint8_t *session, size_t session_len, uint32_t policy,
                                       struct mc_sev_tks *tks, enum mc_sev_chan_result *why, struct mc_error *err);
/* SEND_START: the sending platform is the session's client. The peer's PDH certificate (0x824
 * bytes: usage PDH, ECDH-SHA256/384, P-384; signatures are the caller's to check) and this
 * platform's PDH private key give Z; fresh TEK, TIK, NONCE and WRAP_IV from rng make the 0x80-byte
 * session for `policy` (the construction of LAUNCH_START's session, SEV API §9.2). The receiving
 * platform opens it with mc_sev_identity_open_session, this platform's PDH cert as the client's. */
MC_API mc_status mc_sev_identity_make_session(const struct mc_sev_identity *id, struct mc_rng *rng, const uint8_t *peer_pdh,
                                       size_t peer_len, uint32_t policy, uint8_t session[MC_SEV_SESSION_LEN],
                                       struct mc_sev_tks *tks, enum mc_sev_chan_result *why, struct mc_error *err);
/* ATTESTATION: build the 0xD0-byte report signed by the PEK. */
MC_API mc_status mc_sev_identity_attest(const struct mc_sev_identity *id, const uint8_t mnonce[16], const uint8_t ld[32],
                                 uint32_t policy, uint8_t report[MC_SEV_REPORT_LEN], struct mc_error *err);

/* Persistent state: a versioned, length-checked, SHA-256-checksummed blob holding the CUK, the
 * certificates and the OCA/PEK/PDH private keys (it is secret: write it with
 * mc_file_write_atomic, mode 0600). serialize: *buf is malloc'd, the caller wipes and frees it.
 * deserialize: a truncated, corrupt, foreign or inconsistent blob gives MC_E_FORMAT with a
 * sentence; nothing is allocated then. */
MC_API mc_status mc_sev_identity_serialize(const struct mc_sev_identity *id, uint8_t **buf, size_t *len,
                                    struct mc_error *err);
MC_API mc_status mc_sev_identity_deserialize(const uint8_t *buf, size_t len, struct mc_sev_identity **out,
                                      struct mc_error *err);

MC_END_DECLS

#endif
