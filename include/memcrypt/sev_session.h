/* memcrypt — legacy SEV launch-channel cryptography (both sides).
 *
 * Everything the guest owner and the Secure Processor compute for the launch channel
 * (SEV API 55766; shared/spec/sev-api.md §9-§11):
 *   - the LAUNCH_START session blob (NONCE, WRAP_TK, WRAP_IV, WRAP_MAC, POLICY_MAC), from the
 *     ECDH secret Z, and its PSP-side unwrap;
 *   - LAUNCH_MEASURE (API >= 0.17 form with the 0x04||major||minor||build prefix, and the older
 *     form without it);
 *   - the ATTESTATION report (0xD0 bytes) layout and its verification with a PEK certificate;
 *   - LAUNCH_SECRET packets (header FLAGS/IV/MAC + ciphertext) and the PSP-side unpack;
 *   - the OVMF/Linux efi_secret table.
 * Failures that the firmware reports with a spec status come back as MC_E_VERIFY /
 * MC_E_FORMAT plus an enum mc_sev_chan_result the firmware maps to its status code.
 * All buffers are caller-owned; secrets written to caller buffers are the caller's to wipe.
 */
#ifndef MEMCRYPT_SEV_SESSION_H
#define MEMCRYPT_SEV_SESSION_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/sev_cert.h>

MC_BEGIN_DECLS

#define MC_SEV_SESSION_LEN 0x80
#define MC_SEV_MEASURE_LEN 0x30 /* MEASURE[32] || MNONCE[16] */
#define MC_SEV_SECRET_HDR_LEN 0x34
#define MC_SEV_REPORT_LEN 0xD0
#define MC_SEV_SECRET_MAX 0x5000 /* firmware limit on one LAUNCH_SECRET packet */
/* What a real host passes on: KVM copies the packet's payload with psp_copy_user_blob(), which
 * refuses more than SEV_FW_BLOB_MAX_SIZE = 16 KiB, so a payload above this never reaches the
 * firmware (Linux drivers/crypto/ccp, include/linux/psp-sev.h). */
#define MC_SEV_SECRET_KVM_MAX 0x4000

/* Session blob, decoded (wire: NONCE @0x00, WRAP_TK @0x10, WRAP_IV @0x30, WRAP_MAC @0x40, POLICY_MAC @0x60). */
struct mc_sev_session {
    uint8_t nonce[16];
    uint8_t wrap_tk[32];
    uint8_t wrap_iv[16];
    uint8_t wrap_mac[32];
    uint8_t policy_mac[32];
};

/* Transport keys. TEK encrypts (AES-128-CTR), TIK authenticates (HMAC-SHA256). Secret. */
struct mc_sev_tks {
    uint8_t tek[16];
    uint8_t tik[16];
};

/* Why a channel operation failed; the firmware maps these to spec status codes. */
enum mc_sev_chan_result {
    MC_SEV_CHAN_OK = 0,
    MC_SEV_CHAN_BAD_LENGTH,  /* -> INVALID_LENGTH */
    MC_SEV_CHAN_BAD_CERT,    /* -> INVALID_CERTIFICATE (GODH/PDH malformed, wrong usage/algo/curve) */
    MC_SEV_CHAN_BAD_MAC,     /* -> BAD_MEASUREMENT (wrap MAC, policy MAC, packet MAC) */
    MC_SEV_CHAN_UNSUPPORTED, /* -> UNSUPPORTED (e.g. COMPRESSED flag) */
    MC_SEV_CHAN_ERROR,       /* internal error (crypto library) */
};
MC_API const char *mc_sev_chan_result_name(enum mc_sev_chan_result r);

MC_API void mc_sev_session_encode(const struct mc_sev_session *s, uint8_t out[MC_SEV_SESSION_LEN]);
MC_API void mc_sev_session_decode(const uint8_t in[MC_SEV_SESSION_LEN], struct mc_sev_session *s);

/* Guest-owner side from the ECDH secret z (zlen bytes; 48 for P-384): MS = KDF(z, "sev-master-secret",
 * nonce), KEK/KIK = KDF(MS, "sev-kek"/"sev-kik"), WRAP_TK = AES-128-CTR(KEK, wrap_iv)(TEK||TIK),
 * WRAP_MAC = HMAC(KIK, WRAP_TK), POLICY_MAC = HMAC(TIK, LE32(policy)). */
MC_API mc_status mc_sev_session_wrap(const uint8_t *z, size_t zlen, const uint8_t nonce[16], const uint8_t wrap_iv[16],
                              const struct mc_sev_tks *tks, uint32_t policy, struct mc_sev_session *out,
                              struct mc_error *err);
/* The client's whole session from z: fresh TEK, TIK, NONCE and WRAP_IV drawn from rng in that
 * order, wrapped as above and encoded into session; *tks receives the keys. (The guest owner at
 * LAUNCH_START and the sending firmware at SEND_START.) */
struct mc_rng;
MC_API mc_status mc_sev_session_generate(struct mc_rng *rng, const uint8_t *z, size_t zlen, uint32_t policy,
                             uint8_t session[MC_SEV_SESSION_LEN], struct mc_sev_tks *tks, struct mc_error *err);
/* PSP side: verify WRAP_MAC, unwrap TEK/TIK, verify POLICY_MAC against `policy`.
 * On failure *why is set and *tks is untouched. */
MC_API mc_status mc_sev_session_unwrap(const uint8_t *z, size_t zlen, const struct mc_sev_session *s, uint32_t policy,
                                struct mc_sev_tks *tks, enum mc_sev_chan_result *why, struct mc_error *err);

/* Check a GODH certificate the way the firmware does at LAUNCH_START: exactly 0x824 bytes,
 * VERSION 1, usage PDH, algo ECDH-SHA256, curve P-384, point on the curve. Signatures are not
 * examined. *out receives the parsed key area. */
MC_API MC_MUST_CHECK mc_status mc_sev_godh_check(const uint8_t *cert, size_t len, struct mc_sev_cert *out, enum mc_sev_chan_result *why,
                            struct mc_error *err);

/* LAUNCH_MEASURE: MEASURE = HMAC-SHA256(TIK, [0x04||major||minor||build] || LE32(policy) || LD || MNONCE);
 * the bracketed prefix is present for API >= 0.17 and absent before. */
MC_API mc_status mc_sev_launch_measure(const uint8_t tik[16], uint8_t api_major, uint8_t api_minor, uint8_t build,
                                uint32_t policy, const uint8_t ld[32], const uint8_t mnonce[16], uint8_t measure[32],
                                struct mc_error *err);

/* ---- LAUNCH_SECRET ------------------------------------------------------------------------- */

struct mc_sev_secret_hdr {
    uint32_t flags; /* bit 0 = COMPRESSED (unsupported) */
    uint8_t iv[16];
    uint8_t mac[32];
};
MC_API void mc_sev_secret_hdr_encode(const struct mc_sev_secret_hdr *h, uint8_t out[MC_SEV_SECRET_HDR_LEN]);
MC_API void mc_sev_secret_hdr_decode(const uint8_t in[MC_SEV_SECRET_HDR_LEN], struct mc_sev_secret_hdr *h);

/* Guest-owner side: trans = AES-128-CTR(TEK, iv)(plain), header MAC =
 * HMAC(TIK, 0x01 || LE32(flags=0) || iv || LE32(len) || LE32(len) || trans [|| measure]).
 * measure (32 bytes) is appended for API >= 0.17 (pass api_17 = true) and must then be non-NULL.
 * len: non-zero multiple of 16, <= MC_SEV_SECRET_MAX. */
MC_API mc_status mc_sev_secret_seal(const struct mc_sev_tks *tks, bool api_17, const uint8_t iv[16], const uint8_t *plain,
                             size_t len, const uint8_t *measure, struct mc_sev_secret_hdr *hdr, uint8_t *trans,
                             struct mc_error *err);
/* PSP side: checks hdr_len = 0x34, guest_len = trans_len (non-zero, multiple of 16, <= 0x5000),
 * COMPRESSED clear, MAC; then decrypts into plain (trans_len bytes). Nothing is written on failure. */
MC_API mc_status mc_sev_secret_open(const struct mc_sev_tks *tks, bool api_17, const uint8_t *hdr, size_t hdr_len,
                             const uint8_t *trans, size_t trans_len, size_t guest_len, const uint8_t *measure,
                             uint8_t *plain, enum mc_sev_chan_result *why, struct mc_error *err);

/* ---- Migration packets (SEND_UPDATE_* / RECEIVE_UPDATE_*) ------------------------------------ */

#define MC_SEV_PACKET_CTX_DATA 0x02u /* context byte of SEND/RECEIVE_UPDATE_* MACs, DATA and VMSA alike */
#define MC_SEV_PACKET_CTX_XFER 0x05u /* memcrypt's transfer measurement (AMD uses 0x01-0x04) */
#define MC_SEV_PACKET_MAC_PREFIX 29 /* ctx || LE32(flags) || IV || LE32(guest_len) || LE32(trans_len) */
/* The bytes the packet MAC covers before the ciphertext: ctx (0x02 for SEND/RECEIVE_UPDATE_*),
 * FLAGS and IV as in the header, GUEST_LEN, TRANS_LEN. MAC = HMAC-SHA256(TIK, prefix || TRANS). */
MC_API void mc_sev_packet_mac_prefix(uint8_t out[MC_SEV_PACKET_MAC_PREFIX], uint8_t ctx, uint32_t flags, const uint8_t iv[16],
                              uint32_t guest_len, uint32_t trans_len);
/* memcrypt's transfer measurement (memcrypt/sev_api.h, mc_sev_packet_hdr_ext):
 * rm = HMAC-SHA256(TIK, 0x05 || LE32(seq) || LE32(xflags) || LE64(where) || prev[32] || mac[32]). */
MC_API mc_status mc_sev_xfer_measure(const uint8_t tik[16], uint32_t seq, uint32_t xflags, uint64_t where,
                              const uint8_t prev[32], const uint8_t mac[32], uint8_t rm[32], struct mc_error *err);
/* The message that HMAC covers (for callers holding the TIK in a context of their own). */
#define MC_SEV_XFER_MSG_LEN 81
MC_API void mc_sev_xfer_measure_msg(uint8_t msg[MC_SEV_XFER_MSG_LEN], uint32_t seq, uint32_t xflags, uint64_t where,
                             const uint8_t prev[32], const uint8_t mac[32]);

/* ---- ATTESTATION report (0xD0) ----------------------------------------------------------------- */

struct mc_sev_report {
    uint8_t mnonce[16];
    uint8_t launch_digest[32];
    uint32_t policy;
    uint32_t sig_usage; /* PEK usage 0x1002 */
    uint32_t sig_algo;  /* ECDSA-SHA256 0x0002 */
    uint8_t sig_r[72], sig_s[72]; /* little-endian, zero-padded */
};
MC_API void mc_sev_report_encode(const struct mc_sev_report *r, uint8_t out[MC_SEV_REPORT_LEN]);
/* Strict decode: exactly 0xD0 bytes, reserved word zero. */
MC_API mc_status mc_sev_report_decode(const uint8_t *in, size_t len, struct mc_sev_report *r, struct mc_error *err);
/* Verify the report's PEK signature over bytes 0x00-0x33 with the given PEK certificate. */
MC_API MC_MUST_CHECK mc_status mc_sev_report_verify(const uint8_t *report, size_t len, const struct mc_sev_cert *pek, struct mc_error *err);

/* ---- OVMF secret table (Linux efi_secret format) ------------------------------------------------ */

struct mc_sev_secret_entry {
    uint8_t guid[16]; /* EFI byte order ("bytes_le") */
    const uint8_t *data;
    size_t len;
};
/* How the table is padded to a multiple of 16 (the length field never counts the padding):
 * SEVCTL: to the next multiple of 16, nothing when aligned (sevctl `secret build`);
 * LIBVIRT: 16 - (length % 16) bytes, a whole zero block when aligned (libvirt's
 * virt-qemu-sev-validate). A 16,344-byte secret gives 16,384 bytes one way, 16,400 the other. */
enum mc_sev_secret_pad { MC_SEV_SECRET_PAD_SEVCTL = 0, MC_SEV_SECRET_PAD_LIBVIRT = 1 };
/* Table = header GUID 1e74f542-71dd-4d66-963e-ef4287ff173b || LE32(total length) || entries
 * {GUID || LE32(20 + len) || data}; then zero padding as pad says. *outlen = padded size. cap too
 * small -> MC_E_RANGE. */
MC_API mc_status mc_sev_secret_table_build(const struct mc_sev_secret_entry *e, size_t n, enum mc_sev_secret_pad pad,
                                    uint8_t *out, size_t cap, size_t *outlen, struct mc_error *err);

MC_END_DECLS

#endif
