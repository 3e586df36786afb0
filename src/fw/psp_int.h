/* memcrypt — internals of the emulated Secure Processor (shared by the files in src/fw only). */
#ifndef MC_FW_PSP_INT_H
#define MC_FW_PSP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <memcrypt/psp.h>
#include <memcrypt/sev_identity.h>

#include "crypto/crypto.h"
#include "crypto/hashctx.h"

struct mc_snp_identity;

#define PSP_VEK_LEN 32      /* AES-128-XTS key for the memory engine: data || tweak */
#define PSP_CHIP_SECRET_LEN 32
#define PSP_IDENT_MAX 0x7000u /* opaque identity blob (OCA/PEK/PDH keys and certs) */
#define PSP_PLATFORM_NAME_LEN 32

/* The persistent (non-volatile) state: what survives SHUTDOWN and power cycles. */
struct psp_nv {
    uint8_t chip_secret[PSP_CHIP_SECRET_LEN]; /* chip-unique secret (fused on hardware) */
    uint32_t owned;                           /* 1 = externally owned (PEK_CERT_IMPORT) */
    uint32_t ident_len;                       /* 0 = no OCA/PEK/PDH yet */
    uint8_t ident[PSP_IDENT_MAX];
};

/* One direction of a migration channel (SEND_UPDATE_* on the source, RECEIVE_UPDATE_* on the
 * target). mode: 0 no packet yet, 1 the spec's 0x34-byte headers, 2 memcrypt's extended headers
 * (sequence number, FINAL flag, running transfer measurement; see sev_api.h). */
struct psp_xfer {
    uint32_t mode;
    uint32_t seq;    /* packets accepted */
    bool final;      /* a FINAL packet was sent / received */
    uint8_t rm[32];  /* running transfer measurement after packet `seq` (zero before the first) */
};

struct psp_guest {
    uint32_t handle;
    uint32_t state;       /* enum mc_sev_gstate */
    uint32_t policy;
    uint32_t asid;        /* 0 = none */
    bool activation_pending; /* ACTIVATE before RUNNING: takes effect at LAUNCH/RECEIVE_FINISH */
    uint8_t vek[PSP_VEK_LEN];
    uint8_t tek[16], tik[16];
    bool have_channel;    /* LAUNCH_START had a DH cert / session */
    struct mc_hashctx *ld_ctx; /* running launch digest (LUPDATE) */
    uint64_t ld_bytes;
    uint8_t ld[32];       /* finalised at LAUNCH_MEASURE */
    bool ld_final;
    uint8_t measure[32];  /* kept for LAUNCH_SECRET */
    struct psp_xfer xfer; /* SUPDATE / RUPDATE: the migration channel's packet stream */
    struct mc_chan *chan; /* TEK/TIK contexts for the packets (a cache of tek/tik, not state) */
};

struct psp_snap_work {
    struct mc_hashctx *md;
    uint32_t ident_len; /* UINT32_MAX: nothing cached */
    uint8_t ident[PSP_IDENT_MAX];
    uint8_t ident_digest[32];
};

/* ---- SEV-SNP (psp_snp*.c) ---------------------------------------------------------------- */

#define PSP_ASID_SNP 0xFFFFFFFFu /* asid_owner[]: the ASID belongs to an SNP guest (snp.asid_gctx) */

/* What the SNP firmware keeps across commands and processes (the state file's SNP section). */
struct psp_snp_nv {
    bool committed_set;        /* an SNP_COMMIT happened (else: as the configuration says) */
    uint64_t committed_tcb;
    uint8_t committed_ver[3];  /* major, minor, build */
    uint64_t config_tcb;       /* SNP_CONFIG REPORTED_TCB; 0 = the committed TCB */
    uint32_t config_flags;     /* SNP_CONFIG MASK_CHIP_ID / MASK_CHIP_KEY */
    bool vlek;                 /* the identity holds a VLEK (SNP_VLEK_LOAD; SNP_SHUTDOWN wipes it) */
    uint32_t ident_len;        /* serialised SNP identity (memcrypt/snp_identity.h), 0 = none yet */
    uint8_t *ident;
};

struct psp_snp {
    uint32_t state;          /* enum mc_snp_pstate */
    bool rmp_init;           /* an SNP_INIT initialised the RMP (kept across SNP_SHUTDOWN) */
    uint64_t rmp_init_tcb;   /* committed TCB of the firmware that initialised it */
    uint64_t rmp_base, rmp_end; /* the RMP bounds read at SNP_INIT */
    bool smt, tsme;          /* host SMT / TSME as SNP_INIT saw them */
    uint32_t fms;
    uint32_t guest_count;    /* launched SNP guests */
    uint64_t *asid_gctx;     /* [0..max_asid]: GCTX page of the SNP guest owning the ASID, 0 = none */
    uint8_t gctx_key[32];    /* seals guest context pages: this firmware instance's (a boot's) */
    uint64_t gctx_seq;       /* seal counter (GCM IV), one sequence per key */
    uint8_t vmsa_tweak[64];  /* VMSA register-protection bitmap (secrets page) */
    struct psp_snp_nv nv;    /* committed copy */
    struct mc_snp_identity *id; /* the chip's SNP identity, NULL until first use */
    /* LAUNCH_UPDATE transcript (mc_psp_set_snp_measure_log) */
    mc_psp_snp_log_fn log;
    void *log_ctx;
    /* SNP_LAUNCH_UPDATE's workspace for a 2 MiB page (not firmware state; wiped after every
     * command): kept across commands so a launch does not map and fault in 2 MiB per command. */
    uint8_t *lu_buf;
};

struct mc_psp {
    struct mc_psp_config cfg;
    char platform[PSP_PLATFORM_NAME_LEN];
    char *state_path; /* resolved (a link's target) */
    int state_lock;   /* fd holding the state file's lock, -1 when not held */
    /* The state file as this firmware last read or wrote it (every write is an atomic rename: a new
     * inode): while it stays so, taking the lock again need not read it again. */
    dev_t seen_dev;
    ino_t seen_ino;
    off_t seen_size;
    struct timespec seen_mtime, seen_ctime;
    bool seen;
    struct mc_psp_mem mem;
    struct mc_rng *rng;

    uint32_t pstate;
    bool es_init;
    uint64_t tmr_paddr;
    uint32_t tmr_len;
    uint64_t nv_paddr;   /* INIT_EX with a DRAM NV area: written back after NV commands */
    bool nv_in_dram;

    struct psp_guest **guests; /* [1..max_guests] */
    uint32_t guest_count;
    uint32_t *asid_owner;      /* [0..max_asid]: handle owning the ASID, 0 = free */
    uint8_t *asid_dirty;       /* [0..max_asid] */
    uint64_t wbinvd_needed;    /* bit per core */

    struct psp_nv nv;
    struct mc_sev_identity *id; /* live identity (the committed nv.ident, deserialised); NULL until first use */
    bool id_changed;            /* id was changed by a command not yet committed (psp_identity.c) */
    struct psp_snp snp;

    mc_psp_trace_fn trace;
    void *trace_ctx;
    /* mc_psp_snapshot's workspace (not firmware state): a reused SHA-256 context, and the
     * identity bytes last hashed with their digest (compared byte for byte before reuse). */
    struct psp_snap_work *snap;

    /* MMIO registers */
    uint32_t reg_cmdresp, reg_lo, reg_hi;
};

/* ---- psp.c helpers used by the command files ---- */
void psp_set_pstate(struct mc_psp *psp, uint32_t to);
void psp_set_gstate(struct mc_psp *psp, struct psp_guest *g, uint32_t to);
struct psp_guest *psp_guest_get(struct mc_psp *psp, uint32_t handle);
void psp_guest_free(struct psp_guest *g);

/* Host-provided address (may carry the C-bit): split into domain + stripped address and check
 * that [pa, pa+len) lies inside DRAM. Returns MC_FW_SUCCESS or MC_FW_INVALID_ADDRESS. */
uint32_t psp_host_addr(const struct mc_psp *psp, uint64_t raw, uint64_t len, enum mc_psp_dom *dom, uint64_t *pa,
                       struct mc_error *err);
/* An output buffer named by a (paddr, len) pair in the command buffer, with the spec's length
 * convention: the len field always receives `need`; a smaller len is INVALID_LENGTH (this is how
 * callers query the size); then [paddr, paddr+need) must lie in DRAM. *raw gets paddr. */
uint32_t psp_out_buffer(struct mc_psp *psp, uint8_t *buf, size_t paddr_off, size_t len_off, uint32_t need,
                        const char *cmd, uint64_t *raw, struct mc_error *err);
/* Read/write host memory at a raw host address (domain from its C-bit). */
uint32_t psp_host_read(struct mc_psp *psp, uint64_t raw, void *buf, size_t len, struct mc_error *err);
uint32_t psp_host_write(struct mc_psp *psp, uint64_t raw, const void *buf, size_t len, struct mc_error *err);
/* Status + sentence. */
uint32_t psp_fail(struct mc_error *err, uint32_t fw, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- psp_guest.c helpers shared with the migration commands (psp_send.c, psp_receive.c) ---- */
/* Guest memory at pa through the memory port with the guest's ASID key. */
uint32_t psp_guest_read(struct mc_psp *psp, const struct psp_guest *g, uint64_t pa, void *b, size_t n,
                        struct mc_error *err);
uint32_t psp_guest_write(struct mc_psp *psp, const struct psp_guest *g, uint64_t pa, const void *b, size_t n,
                         struct mc_error *err);
/* INACTIVE unless the guest has an ASID. */
uint32_t psp_need_asid(const struct psp_guest *g, const char *what, struct mc_error *err);
/* LAUNCH_START / RECEIVE_START: the ES, policy, key-sharing and slot checks, the channel (the
 * DH cert and session at dh_pa / ses_pa, unwrapped with this platform's PDH; dh_pa 0 at
 * LAUNCH_START: no channel, zero TEK/TIK; RUPDATE always has one), then a new guest in state
 * gstate with a fresh (or shared) VEK; the platform becomes WORKING. *handle gets the new
 * handle. Nothing changes on failure. */
uint32_t psp_guest_start(struct mc_psp *psp, const char *what, uint32_t share, uint32_t policy, uint64_t dh_pa,
                         uint32_t dh_len, uint64_t ses_pa, uint32_t ses_len, uint32_t gstate, uint32_t *handle,
                         struct mc_error *err);

/* psp_send.c: the checks SEND_UPDATE_* and RECEIVE_UPDATE_* share (ES for VMSA, ASID, header,
 * lengths, guest alignment, the stream's header mode and FINAL), in the firmware's order. */
/* The transport layout's fields (LAUNCH_SECRET, SEND_UPDATE_*, RECEIVE_UPDATE_*). */
struct psp_xfer_args {
    uint64_t hdr_raw, g_raw, t_raw;
    uint32_t hdr_len, g_len, t_len;
};
void psp_xfer_decode(const uint8_t *buf, struct psp_xfer_args *a);
/* The guest's channel contexts for its TEK/TIK, made on first use; psp_xfer_end wipes the keys. */
uint32_t psp_xfer_chan(struct psp_guest *g, const char *what, struct mc_error *err);
void psp_xfer_end(struct psp_guest *g);
/* memcrypt's transfer measurement after packet seq (memcrypt/sev_session.h), under g's TIK. */
mc_status psp_xfer_measure(struct psp_guest *g, uint32_t seq, uint32_t xflags, uint64_t where, const uint8_t mac[32],
                           uint8_t rm[32], struct mc_error *err);
uint32_t psp_xfer_checks(const struct psp_guest *g, const char *what, bool vmsa, uint32_t hdr_len, uint32_t g_len,
                         uint32_t t_len, bool receive, uint64_t g_raw, struct mc_error *err);

/* ---- psp_nv.c: persistent state ----
 * Sealed NV image (the INIT_EX NV area and the body of the state file): magic, version,
 * platform name, chip id, owner flag, identity blob encrypted with AES-128-CTR under a key
 * derived from the chip secret, HMAC-SHA256 over everything (key also derived from it). */
/* Seal nv into out (cap bytes, padded with 0xFF up to cap when pad is true); *len = used bytes. */
mc_status psp_nv_encode(struct mc_psp *psp, const struct psp_nv *nv, uint8_t *out, size_t cap, bool pad, size_t *len,
                        struct mc_error *err);
/* Unseal an image (trailing 0xFF padding allowed) made by this chip for this platform into
 * nv->owned / ident (chip_secret is the chip's). what names the source in messages. */
mc_status psp_nv_decode(const struct mc_psp *psp, const uint8_t chip_secret[PSP_CHIP_SECRET_LEN], const uint8_t *in,
                        size_t len, struct psp_nv *nv, const char *what, struct mc_error *err);
/* Persist nv (not yet committed to psp->nv) to the INIT_EX NV area when one is in use, else
 * to the state file (if any). */
mc_status psp_nv_save(struct mc_psp *psp, const struct psp_nv *nv, struct mc_error *err);
/* Persist the SNP section (committed firmware, SNP_CONFIG, identity) with the rest of the state
 * file; nothing without a state file. */
mc_status psp_nv_save_snp(struct mc_psp *psp, const struct psp_snp_nv *snp, struct mc_error *err);
/* Wipe and free an SNP section (psp_snp_platform.c). */
void psp_snp_nv_clear(struct psp_snp_nv *n);
/* Lock the state file (waiting up to wait_ms, 0 = the default), remove stale temporary copies,
 * load it (missing file -> fresh chip secret, file written). Unlocked again on failure. */
mc_status psp_nv_open(struct mc_psp *psp, unsigned wait_ms, struct mc_error *err);

/* ---- psp_identity.c: the platform identity (memcrypt/sev_identity.h) ----
 * Mutators change psp->id and write its new serialisation into the staged nv; when the caller
 * then fails to persist, psp_id_reload() goes back to the committed psp->nv. */
uint32_t psp_id_get(struct mc_psp *psp, struct mc_error *err); /* create on first use (persisted) */
uint32_t psp_id_reload(struct mc_psp *psp, struct mc_error *err);
/* Does this sealed identity blob deserialise? (INIT_EX NV area check) */
bool psp_id_blob_ok(const uint8_t *blob, size_t len, struct mc_error *err);
uint32_t psp_id_reset(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err); /* PLATFORM_RESET */
uint32_t psp_id_pek_gen(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err);
uint32_t psp_id_pdh_gen(struct mc_psp *psp, struct psp_nv *nv, struct mc_error *err);
uint32_t psp_id_pek_import(struct mc_psp *psp, struct psp_nv *nv, const uint8_t pek[MC_SEV_CERT_LEN],
                           const uint8_t oca[MC_SEV_CERT_LEN], struct mc_error *err);
uint32_t psp_id_pek_csr(struct mc_psp *psp, uint8_t out[MC_SEV_CERT_LEN], struct mc_error *err);
uint32_t psp_id_pdh_export(struct mc_psp *psp, uint8_t pdh[MC_SEV_CERT_LEN], uint8_t chain[MC_SEV_CHAIN_LEN],
                           struct mc_error *err);
uint32_t psp_id_get_id(struct mc_psp *psp, uint8_t id[MC_SEV_ID_LEN], struct mc_error *err);
uint32_t psp_id_oca_cert(struct mc_psp *psp, uint8_t out[MC_SEV_CERT_LEN], struct mc_error *err);
/* LAUNCH_START/RECEIVE_START channel: GODH cert + session -> TEK/TIK (MACs checked). */
uint32_t psp_id_unwrap_session(struct mc_psp *psp, const uint8_t godh[MC_SEV_CERT_LEN],
                               const uint8_t session[MC_SEV_SESSION_LEN], uint32_t policy, uint8_t tek[16],
                               uint8_t tik[16], struct mc_error *err);
/* SEND_START: this platform's PDH with the target's (peer_pdh, already checked by the caller)
 * -> fresh TEK/TIK wrapped in a session for `policy`. */
uint32_t psp_id_make_session(struct mc_psp *psp, const uint8_t peer_pdh[MC_SEV_CERT_LEN], uint32_t policy,
                             uint8_t session[MC_SEV_SESSION_LEN], uint8_t tek[16], uint8_t tik[16],
                             struct mc_error *err);
/* ATTESTATION: the 0xD0 report signed by the PEK. */
uint32_t psp_id_attest(struct mc_psp *psp, const uint8_t mnonce[16], const uint8_t ld[32], uint32_t policy,
                       uint8_t report[MC_SEV_REPORT_LEN], struct mc_error *err);

#endif
