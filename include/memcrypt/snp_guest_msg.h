/* memcrypt — SEV-SNP guest messages (SNP_GUEST_REQUEST payloads, SNP ABI 56860 chapter 7): the
 * pure-function core the firmware and the guest share.
 *
 *   message   0x60-byte header (pinned) + payload; AES-256-GCM, key VMPCK[MSG_VMPCK], IV = LE64
 *             MSG_SEQNO || 0u32, AAD = header bytes 0x30..0x5F, tag at 0x00.
 *   firmware  mc_snp_msg_fw_unwrap: header rules, pick the VMPCK, authenticate, sequence number
 *             (request = counter + 1), message version and type -> the command's status;
 *             mc_snp_msg_fw_wrap: response with MSG_SEQNO = request + 1, type + 1, counter += 2.
 *   payloads  MSG_REPORT_REQ/RSP, MSG_KEY_REQ/RSP (derived keys), MSG_TSC_INFO_REQ/RSP, the
 *             migration messages' codecs; per-message errors go in the payload STATUS.
 *   host      the extended-report certificate table.
 * The firmware owns the page/RMP checks, the guest context and dispatch; the guest owns its
 * rules (e.g. Linux wipes its VMPCK copy after any failure).
 *
 * Request payloads shorter than their structure read as zero-extended, as the firmware decrypts
 * into a zeroed page; bytes past the structure are ignored (docs/snp-platform.md).
 */
#ifndef MEMCRYPT_SNP_GUEST_MSG_H
#define MEMCRYPT_SNP_GUEST_MSG_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/snp_attest.h>
#include <memcrypt/snp_identity.h>

MC_BEGIN_DECLS

#define MC_SNP_MSG_HDR_SIZE 0x60u
#define MC_SNP_VMPCK_LEN 32u
#define MC_SNP_MSG_PAGE 4096u

enum mc_snp_msg_type {
    MC_SNP_MSG_CPUID_REQ = 1, MC_SNP_MSG_CPUID_RSP, MC_SNP_MSG_KEY_REQ, MC_SNP_MSG_KEY_RSP,
    MC_SNP_MSG_REPORT_REQ, MC_SNP_MSG_REPORT_RSP, MC_SNP_MSG_EXPORT_REQ, MC_SNP_MSG_EXPORT_RSP,
    MC_SNP_MSG_IMPORT_REQ, MC_SNP_MSG_IMPORT_RSP, MC_SNP_MSG_ABSORB_REQ, MC_SNP_MSG_ABSORB_RSP,
    MC_SNP_MSG_VMRK_REQ, MC_SNP_MSG_VMRK_RSP, MC_SNP_MSG_ABSORB_NOMA_REQ, MC_SNP_MSG_ABSORB_NOMA_RSP,
    MC_SNP_MSG_TSC_INFO_REQ, MC_SNP_MSG_TSC_INFO_RSP,
};
/* "MSG_REPORT_REQ", ...; "invalid" for 0 and unknown values. */
MC_API const char *mc_snp_msg_type_name(unsigned type);

/* ---- header ---- */
struct mc_snp_msg_hdr {
    uint8_t authtag[32];    /* AES-GCM tag in bytes 0..15 */
    uint64_t seqno;
    uint8_t algo;           /* 1 = AES-256-GCM */
    uint8_t hdr_version;    /* 1 */
    uint16_t hdr_size;      /* 0x60 */
    uint8_t msg_type, msg_version;
    uint16_t msg_size;      /* payload bytes */
    uint8_t msg_vmpck;      /* 0..3 */
    bool reserved_nonzero;  /* 0x28..0x2F, 0x38..0x3B or 0x3D..0x5F not zero (decode only) */
};
MC_API void mc_snp_msg_hdr_encode(const struct mc_snp_msg_hdr *h, uint8_t out[MC_SNP_MSG_HDR_SIZE]);
MC_API void mc_snp_msg_hdr_decode(const uint8_t in[MC_SNP_MSG_HDR_SIZE], struct mc_snp_msg_hdr *h);

/* Seal a message (either side): header from h's type, version, VMPCK id and seqno (algo 1,
 * version 1, size 0x60, MSG_SIZE = n), payload encrypted behind it. *out_len = 0x60 + n. */
MC_API mc_status mc_snp_msg_seal(const uint8_t vmpck[MC_SNP_VMPCK_LEN], const struct mc_snp_msg_hdr *h, const uint8_t *payload,
                          size_t n, uint8_t *out, size_t cap, size_t *out_len, struct mc_error *err);
/* Open a message (either side): decode the header, require algo 1, header version 1, size 0x60
 * and the payload inside len; authenticate and decrypt MSG_SIZE bytes into payload (cap bytes).
 * MC_E_FORMAT for a malformed header, MC_E_VERIFY when the tag does not authenticate (payload
 * wiped). Sequence numbers and types are the caller's rules. */
MC_API mc_status mc_snp_msg_open(const uint8_t vmpck[MC_SNP_VMPCK_LEN], const uint8_t *msg, size_t len,
                          struct mc_snp_msg_hdr *h, uint8_t *payload, size_t cap, struct mc_error *err);

/* ---- the firmware's side ---- */
/* One VMPCK and its message counter (the GCTX holds four: VMPCK0-3, MSG_COUNT0-3). */
struct mc_snp_vmpck {
    uint8_t key[MC_SNP_VMPCK_LEN];
    uint64_t count;
};
/* Unwrap a request. avail: bytes from the request's start to the end of its page. Rules in the
 * firmware's order: header fits, HDR_VERSION 1, HDR_SZ 0x60, ALGO 1, MSG_SZ non-zero and a
 * multiple of 16, payload inside the page, MSG_VMPCK <= 3 -> INVALID_PARAM; tag -> BAD_MEASUREMENT;
 * counter at 2^64-2 or MSG_SEQNO != counter + 1 -> AEAD_OFLOW; MSG_VERSION 0 or above 1, unknown
 * type or a response type -> INVALID_PARAM. payload gets MSG_SZ bytes (cap >= MSG_SZ, at most
 * 0xFA0). Nothing changes (counters included); returns MC_OK whenever *fw is set. */
MC_API mc_status mc_snp_msg_fw_unwrap(const struct mc_snp_vmpck vmpck[4], const uint8_t *req, size_t avail,
                               struct mc_snp_msg_hdr *h, uint8_t *payload, size_t cap, mc_fw_status *fw,
                               struct mc_error *err);
/* Wrap the response to req: type + 1, version 1, same VMPCK, MSG_SEQNO = request + 1, n payload
 * bytes; *fw = INVALID_PARAM when 0x60 + n exceeds avail (bytes to the end of the response
 * page). On success vmpck[req->msg_vmpck].count += 2. */
MC_API mc_status mc_snp_msg_fw_wrap(struct mc_snp_vmpck vmpck[4], const struct mc_snp_msg_hdr *req, const uint8_t *payload,
                             size_t n, uint8_t *out, size_t avail, size_t *out_len, mc_fw_status *fw,
                             struct mc_error *err);

/* ---- what the firmware knows when it handles a request ---- */
struct mc_snp_msg_ctx {
    /* the guest (GCTX) */
    struct mc_snp_report_ctx report; /* everything a report needs except vmpl, report_data, signer
                                        (the handlers fill those from the request) */
    bool id_block_en;                /* the ID block's key digest is mixed into derived keys */
    bool vcek_dis;                   /* LAUNCH_FINISH VCEK_DISABLED */
    uint8_t vmrk[32];                /* root for ROOT_KEY_SELECT 1 */
    uint32_t desired_tsc_khz;        /* LAUNCH_START DESIRED_TSC_FREQ */
    uint64_t psp_tsc_offset;
    /* the platform (MASK_CHIP_ID / MASK_CHIP_KEY are in report) */
    bool mit_vector;                 /* firmware knows LAUNCH_MIT_VECTOR (KEY_REQ bit 6, 0x20) */
};

/* KEY_SEL (reports and VCEK/VLEK-rooted keys): 0 VLEK if loaded else VCEK, 1 VCEK, 2 VLEK,
 * 3 reserved. INVALID_KEY for 3, VLEK-only without a VLEK, VCEK-only with VCEK_DIS, default with
 * VCEK_DIS and no VLEK. *signer: the report's SIGNING_KEY (the VCEK becomes NONE under
 * MASK_CHIP_KEY, the report then unsigned). */
MC_API mc_fw_status mc_snp_key_select(unsigned key_sel, bool vlek_loaded, bool vcek_dis, bool mask_chip_key, unsigned *signer);

/* ---- MSG_REPORT_REQ (0x60) -> MSG_REPORT_RSP (0x4C0) ---- */
#define MC_SNP_REPORT_REQ_SIZE 0x60u
#define MC_SNP_REPORT_RSP_SIZE 0x4C0u
struct mc_snp_report_req {
    uint8_t report_data[64];
    uint32_t vmpl;
    uint32_t key_sel;
};
MC_API void mc_snp_report_req_encode(const struct mc_snp_report_req *r, uint8_t out[MC_SNP_REPORT_REQ_SIZE]);
/* STATUS in the response: INVALID_PARAM (reserved bits/bytes, VMPL < MSG_VMPCK), INVALID_KEY
 * (KEY_SEL rules). A successful response carries the report signed as the key selection says. */
MC_API mc_status mc_snp_handle_report_req(struct mc_snp_identity *id, const struct mc_snp_msg_ctx *ctx, uint8_t msg_vmpck,
                                   const uint8_t *req, size_t n, uint8_t rsp[MC_SNP_REPORT_RSP_SIZE],
                                   struct mc_error *err);
/* Decode a response (guest side): STATUS, and the report when STATUS is 0 (REPORT_SIZE must be
 * 0x4A0, else MC_E_FORMAT). */
MC_API mc_status mc_snp_report_rsp_decode(const uint8_t *rsp, size_t n, uint32_t *status,
                                   uint8_t report[MC_SNP_REPORT_SIZE], struct mc_error *err);

/* ---- MSG_KEY_REQ (0x20; 0x28 with LAUNCH_MIT_VECTOR) -> MSG_KEY_RSP (0x40) ---- */
#define MC_SNP_KEY_REQ_SIZE 0x20u
#define MC_SNP_KEY_REQ_SIZE_MIT 0x28u
#define MC_SNP_KEY_RSP_SIZE 0x40u
enum {
    MC_SNP_GFS_POLICY = 1u << 0, MC_SNP_GFS_IMAGE_ID = 1u << 1, MC_SNP_GFS_FAMILY_ID = 1u << 2,
    MC_SNP_GFS_MEASUREMENT = 1u << 3, MC_SNP_GFS_GUEST_SVN = 1u << 4, MC_SNP_GFS_TCB_VERSION = 1u << 5,
    MC_SNP_GFS_LAUNCH_MIT_VECTOR = 1u << 6,
};
struct mc_snp_key_req {
    uint32_t root_key_select;   /* 0 VCEK/VLEK, 1 VMRK */
    uint32_t key_sel;
    uint64_t guest_field_select;
    uint32_t vmpl, guest_svn;
    uint64_t tcb_version;
    uint64_t launch_mit_vector;
};
MC_API void mc_snp_key_req_encode(const struct mc_snp_key_req *r, uint8_t out[MC_SNP_KEY_REQ_SIZE_MIT]);
/* Checks in the firmware's order -> STATUS: reserved bits -> INVALID_PARAM; root 0 with
 * MASK_CHIP_KEY or against the KEY_SEL rules -> INVALID_KEY; VMPL < MSG_VMPCK, unknown
 * GUEST_FIELD_SELECT bits, a selected TCB above the committed TCB in any part or with reserved
 * bytes, a selected GUEST_SVN above the ID block's -> INVALID_PARAM. Then DERIVED_KEY =
 * SP 800-108 KDF(root, "gmsg-keyreq", MIX_DATA): root = the VLEK seed, or the VCEK seed at the
 * requested TCB (when selected) or at REPORTED_TCB, or the VMRK; MIX_DATA layout in
 * docs/snp-platform.md (fields not selected are zero). */
MC_API mc_status mc_snp_handle_key_req(struct mc_snp_identity *id, const struct mc_snp_msg_ctx *ctx, uint8_t msg_vmpck,
                                const uint8_t *req, size_t n, uint8_t rsp[MC_SNP_KEY_RSP_SIZE], struct mc_error *err);

/* ---- MSG_TSC_INFO_REQ (0x80) -> MSG_TSC_INFO_RSP (0x80) ---- */
#define MC_SNP_TSC_INFO_SIZE 0x80u
#define MC_SNP_TSC_REF_KHZ 99800u  /* Secure TSC reference clock (100 MHz - 0.2 %, ASPFW Genoa) */
#define MC_SNP_TSC_FACTOR 200u     /* (100000 - 99600) / 2, ASPFW Genoa */
/* GUEST_TSC_SCALE: 8.32 fixed point desired / reference, fraction rounded up (ASPFW). */
MC_API uint64_t mc_snp_tsc_scale(uint32_t desired_khz, uint32_t ref_khz);
/* Reserved bytes non-zero -> STATUS INVALID_PARAM. */
MC_API void mc_snp_handle_tsc_info_req(const struct mc_snp_msg_ctx *ctx, const uint8_t *req, size_t n,
                                uint8_t rsp[MC_SNP_TSC_INFO_SIZE]);

/* ---- migration messages: payload codecs only (the firmware owns their semantics) ---- */
#define MC_SNP_MIG_GCTX_SIZE 0x300u
#define MC_SNP_MIG_GCTX_VERSION 3u
#define MC_SNP_EXPORT_REQ_SIZE 0x10u
#define MC_SNP_EXPORT_RSP_SIZE (MC_SNP_MSG_PAGE - MC_SNP_MSG_HDR_SIZE) /* the firmware's MSG_SZ */
#define MC_SNP_IMPORT_REQ_SIZE 0x320u                                /* also ABSORB, ABSORB_NOMA */
#define MC_SNP_VMRK_REQ_SIZE 0x40u
#define MC_SNP_STATUS_RSP_SIZE 0x10u                                 /* IMPORT/ABSORB/VMRK responses */
/* The migration guest context (ASPFW snp_msg_gctx_t, 0x300 bytes). */
struct mc_snp_mig_gctx {
    uint8_t ld[48], oek[32], vmpck[4][32], vmrk[32], host_data[32], id_key_digest[48], author_key_digest[48];
    uint8_t report_id[32], imd[48];
    uint64_t msg_count[4];
    uint8_t root_md_entry[64];   /* metadata entry: bit 0 of the u64 at 0x20 is VALID */
    bool author_key_en, id_block_en, vcek_dis;
    uint64_t policy;
    uint8_t state;
    uint64_t oek_iv_count;
    uint8_t id_block[0x60];
    uint8_t gosvw[16];
    uint32_t desired_tsc_freq;
    uint64_t psp_tsc_offset, launch_tcb;
};
MC_API void mc_snp_mig_gctx_encode(const struct mc_snp_mig_gctx *g, uint8_t out[MC_SNP_MIG_GCTX_SIZE]);
MC_API void mc_snp_mig_gctx_decode(const uint8_t in[MC_SNP_MIG_GCTX_SIZE], struct mc_snp_mig_gctx *g);
/* MSG_EXPORT_REQ: GCTX_PADDR bits 11:0, IMI_EN's reserved bits or the reserved word -> INVALID_PARAM. */
MC_API mc_fw_status mc_snp_export_req_decode(const uint8_t *req, size_t n, uint64_t *gctx_paddr, bool *imi_en);
/* MSG_EXPORT_RSP: status, GCTX_SIZE 0x300, GCTX_VERSION 3, the context (g NULL: zero). */
MC_API void mc_snp_export_rsp_encode(uint32_t status, const struct mc_snp_mig_gctx *g, uint8_t out[MC_SNP_EXPORT_RSP_SIZE]);
/* MSG_IMPORT_REQ / MSG_ABSORB_REQ (type picks the layout; ABSORB_NOMA has no GCTX_PADDR, its
 * first qword is reserved): reserved, GCTX_PADDR bits 11:0, IN_GCTX_SIZE != 0x300 or
 * IN_GCTX_VERSION != 3 -> INVALID_PARAM. */
MC_API mc_fw_status mc_snp_import_req_decode(unsigned type, const uint8_t *req, size_t n, uint64_t *gctx_paddr,
                                      struct mc_snp_mig_gctx *g);
/* MSG_VMRK_REQ: GCTX_PADDR and VMRK. */
MC_API mc_fw_status mc_snp_vmrk_req_decode(const uint8_t *req, size_t n, uint64_t *gctx_paddr, uint8_t vmrk[32]);
/* IMPORT/ABSORB/ABSORB_NOMA/VMRK responses: u32 STATUS, reserved to 0x10. */
MC_API void mc_snp_status_rsp_encode(uint32_t status, uint8_t out[MC_SNP_STATUS_RSP_SIZE]);

/* ---- the extended-report certificate table (GHCB extended guest request) ---- */
/* The 4 KiB pages a table of len bytes needs (what the host answers in RBX when the guest's
 * buffer is too small). */
MC_API size_t mc_snp_certtable_pages(size_t len);

MC_END_DECLS

#endif
