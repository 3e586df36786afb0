/* memcrypt — the guest side of SEV-SNP guest messages: what Linux's sev-guest driver does inside
 * an SNP guest (a VM made with mc_vm_create + cfg.snp, launched with a secrets page).
 *
 *   VMPCKn     read from the secrets page the launch put in guest memory (offset 0x20 + 32n),
 *              through the vCPU's own access path (a private access at the vCPU's VMPL);
 *   sequence   the guest's counter lives in the secrets page's OS area (u32 msg_seqno_n at 0xA0 +
 *              4n, Linux's layout): a request uses counter + 1, the counter moves by 2 once the
 *              hypervisor answered;
 *   request    sealed (AES-256-GCM, memcrypt/snp_guest_msg.h) into a shared page, handed over with
 *              VMGEXIT through the GHCB page (exit 0x80000011, or 0x80000012 with a certificate
 *              buffer), the hypervisor issues SNP_GUEST_REQUEST with the guest's context;
 *   response   copied from the shared page into the guest's private memory, then checked as Linux
 *              checks it: MSG_SEQNO = request + 1, MSG_TYPE = request + 1, the same MSG_VERSION,
 *              MSG_SZ within the caller's buffer, the tag;
 *   failures   any firmware or hypervisor error (but the extended request's "buffer too small")
 *              and any response that fails a check wipe the VMPCK in the secrets page: the
 *              sequence numbers may be out of step, so the key is never used again (Linux's
 *              snp_disable_vmpck). A wiped (all-zero) VMPCK refuses every request.
 *
 * Statuses: MC_OK with the firmware's message STATUS in *status (0 or e.g. INVALID_PARAM for a
 * VMPL below the VMPCK's); MC_E_STATE when the VMPCK is wiped or the sequence counter is used up;
 * MC_E_FIRMWARE when the firmware failed the request (its status in err->fw_status and in
 * mc_snp_guest_last_exitinfo2); MC_E_VERIFY when the hypervisor failed it (the error in the upper
 * half of mc_snp_guest_last_exitinfo2) or the response did not check; MC_E_RANGE for a certificate buffer too small
 * (*cert_pages says how many pages; the VMPCK stays); MC_E_FAULT when a guest access faulted.
 */
#ifndef MEMCRYPT_SNP_GUEST_H
#define MEMCRYPT_SNP_GUEST_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/mc.h>
#include <memcrypt/snp_guest_msg.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/vm.h>

MC_BEGIN_DECLS

#define MC_SNP_SECRETS_VMPCK0 0x20u
#define MC_SNP_SECRETS_OS_SEQNO 0xA0u /* u32 msg_seqno_0..3 (Linux's guest OS area) */
#define MC_SNP_GUEST_VMPCK_OF_VMPL (-1) /* use the VMPCK of the vCPU's VMPL */

struct mc_snp_guest_config {
    uint64_t secrets_gpa; /* where the launch put the secrets page (private, validated) */
    uint64_t ghcb_gpa;    /* a shared page for the GHCB (registered with the MSR protocol at open) */
    uint64_t req_gpa;     /* shared page: the sealed request */
    uint64_t rsp_gpa;     /* shared page: the sealed response */
    uint64_t certs_gpa;   /* shared pages for the extended report's certificates (0: none) */
    unsigned certs_pages; /* how many */
    int vmpck;            /* 0..3, or MC_SNP_GUEST_VMPCK_OF_VMPL */
};

struct mc_snp_guest;

/* Open the guest's message channel on vCPU v: the VMPCK must be non-zero, the GHCB is registered
 * (MSR protocol 0x012). MC_E_INVAL on a VM that is not SNP; MC_E_STATE for an empty VMPCK. */
MC_API mc_status mc_snp_guest_create(struct mc_vcpu *v, const struct mc_snp_guest_config *cfg, struct mc_snp_guest **out,
                            struct mc_error *err);
MC_API void mc_snp_guest_destroy(struct mc_snp_guest *g); /* NULL is fine; the secrets page stays as it is */
MC_API unsigned mc_snp_guest_vmpck(const struct mc_snp_guest *g);
/* SW_EXITINFO2 of the last request (VMM error << 32 | firmware status). */
MC_API uint64_t mc_snp_guest_last_exitinfo2(const struct mc_snp_guest *g);
/* Whether the VMPCK in the secrets page is wiped (all zero). */
MC_API bool mc_snp_guest_vmpck_wiped(struct mc_snp_guest *g);

/* Any message: payload (n bytes) of type (a request type), message version 1; the response's
 * payload goes to rsp (cap bytes, *rsp_len its MSG_SZ). */
MC_API mc_status mc_snp_guest_request(struct mc_snp_guest *g, unsigned type, const uint8_t *payload, size_t n, uint8_t *rsp,
                               size_t cap, size_t *rsp_len, struct mc_error *err);

/* What Linux's sev-guest driver sends for its ioctls: payload exactly as given (n bytes), message
 * version `version` (the caller's msg_version, unchecked here: the firmware judges it), ext: the
 * extended exit (0x80000012) offering *npages (at most cfg.certs_pages) certificate pages, zeroed
 * first; *npages then holds the pages the host filled or, with MC_E_RANGE, needs (the message was
 * re-sent as a plain request, the response decrypted into rsp). */
MC_API mc_status mc_snp_guest_request_raw(struct mc_snp_guest *g, unsigned type, unsigned version, const uint8_t *payload,
                                          size_t n, bool ext, uint64_t *npages, uint8_t *rsp, size_t cap,
                                          size_t *rsp_len, struct mc_error *err);
/* The first len bytes of the certificate pages (what the host left there). */
MC_API mc_status mc_snp_guest_read_certs(struct mc_snp_guest *g, uint8_t *buf, size_t len, struct mc_error *err);

/* MSG_REPORT_REQ: report_data (64 bytes), vmpl (>= the VMPCK's), key_sel (0 default, 1 VCEK,
 * 2 VLEK). report (0x4A0 bytes) is filled when *status is 0. */
MC_API mc_status mc_snp_guest_report(struct mc_snp_guest *g, const uint8_t report_data[64], uint32_t vmpl, uint32_t key_sel,
                              uint8_t report[MC_SNP_REPORT_SIZE], uint32_t *status, struct mc_error *err);
/* The extended report (GHCB exit 0x80000012): the report as above, and the host's certificate
 * table copied from the certificate pages into certs (cap bytes; *certs_len = the pages the host
 * filled × 4 KiB, 0 when the host has none). Too few pages: MC_E_RANGE with *cert_pages = the pages
 * needed (the request was re-sent as a plain one to keep the sequence numbers in step, as Linux
 * does, and its report is in report). */
MC_API mc_status mc_snp_guest_ext_report(struct mc_snp_guest *g, const uint8_t report_data[64], uint32_t vmpl,
                                  uint32_t key_sel, uint8_t report[MC_SNP_REPORT_SIZE], uint32_t *status,
                                  uint8_t *certs, size_t cap, size_t *certs_len, unsigned *cert_pages,
                                  struct mc_error *err);
/* MSG_KEY_REQ (root key, key selection, guest field select mix, VMPL, SVN, TCB: struct
 * mc_snp_key_req of memcrypt/snp_guest_msg.h). key (32 bytes) is filled when *status is 0. */
MC_API mc_status mc_snp_guest_key(struct mc_snp_guest *g, const struct mc_snp_key_req *req, uint8_t key[32], uint32_t *status,
                           struct mc_error *err);

MC_END_DECLS

#endif
