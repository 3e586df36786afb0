/* memcrypt — the emulated AMD Secure Processor (PSP) running the SEV API firmware.
 *
 * The host talks to the firmware through a mailbox: a command ID and the system-physical
 * address of a command buffer in emulated DRAM (memcrypt/sev_api.h has the layouts). The
 * firmware copies the buffer in, checks the platform and guest state, runs the command and
 * copies results back by the spec's rules; the answer is a firmware status
 * (memcrypt/fw_status.h). Every byte the firmware reads or writes goes through a memory port
 * (struct mc_psp_mem) that the board wires to its memory controller, with an explicit key
 * domain: the host's view (C=0 plaintext or C=1 host key, chosen by the C-bit of each address
 * the host passes) or a guest ASID's key.
 *
 * The platform identity (chip secret, CEK, emulated ARK/ASK, OCA, PEK, PDH; memcrypt/sev_identity.h)
 * is created on first use and kept in the persistent state.
 *
 * Guest keys (VEKs) live inside the firmware and reach the memory controller only through
 * mem->bind_key at ACTIVATE; they are wiped at DEACTIVATE/DECOMMISSION/SHUTDOWN.
 *
 * A failing command changes no firmware state (only buffer fields the spec says are written
 * back on a length error). Single-threaded: one mc_psp per emulated platform, no globals.
 */
#ifndef MEMCRYPT_PSP_H
#define MEMCRYPT_PSP_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/sev_api.h>

MC_BEGIN_DECLS

struct mc_rng;
struct mc_psp;
struct mc_rmp;

/* Key domain of one firmware memory access. */
enum mc_psp_dom {
    MC_PSP_DOM_SHARED = 0, /* no encryption (C=0) */
    MC_PSP_DOM_HOST = 1,   /* the host's SME key (address had the C-bit set) */
    MC_PSP_DOM_GUEST = 2,  /* the key bound to `asid` */
};

/* What SNP_INIT reads from the cores (AMD's firmware asks every core; the board answers for the
 * machine's cores). */
struct mc_psp_snp_cpu {
    uint64_t syscfg;        /* SYSCFG: MemEncryptionModEn, SNP_EN, VMPL_EN, MFDM must be set */
    uint64_t hwcr;          /* HWCR: SmmLock must be set */
    uint64_t rmp_base;      /* RMP_BASE MSR: SPA of the table (1 MiB aligned) */
    uint64_t rmp_end;       /* RMP_END MSR: its last byte (size a multiple of 1 MiB) */
    bool same_on_all_cores; /* SYSCFG, HWCR and the RMP MSRs read the same on every core */
    bool vm_hsave_clear;    /* VM_HSAVE_PA is 0 on every core (no guest ran before the RMP) */
    bool smt;               /* SMT enabled on the host (SNP policy bit 16, PLATFORM_INFO) */
    bool tsme;              /* TSME enabled (PLATFORM_INFO) */
    uint32_t fms;           /* CPUID Fn0000_0001 EAX (secrets page, CPUID page checks) */
};

/* The firmware's memory port. All callbacks get the stripped physical address (no C-bit).
 * read/write: any length; [pa, pa+len) is inside DRAM (the firmware checks that first).
 * bind_key: install key (32 bytes, AES-128-XTS data||tweak halves) for asid in the memory
 * controller, replacing nothing (the firmware unbinds first). unbind_key: remove it. */
struct mc_psp_mem {
    void *ctx;
    uint64_t dram_size; /* bytes of DRAM the firmware may address */
    unsigned cbit_pos;  /* host C-bit position in addresses passed to the firmware; 0 = none */
    mc_status (*read)(void *ctx, enum mc_psp_dom dom, uint32_t asid, uint64_t pa, void *buf, size_t len,
                      struct mc_error *err);
    mc_status (*write)(void *ctx, enum mc_psp_dom dom, uint32_t asid, uint64_t pa, const void *buf, size_t len,
                       struct mc_error *err);
    mc_status (*bind_key)(void *ctx, uint32_t asid, const uint8_t *key, size_t keylen, struct mc_error *err);
    mc_status (*unbind_key)(void *ctx, uint32_t asid, struct mc_error *err);
    /* SEV-SNP: the CPU-side state SNP_INIT checks (NULL: the platform has no SNP). */
    mc_status (*snp_cpu)(void *ctx, struct mc_psp_snp_cpu *out, struct mc_error *err);
    /* SEV-SNP: the RMP unit (memcrypt/rmp.h), reached through its firmware side (mc_rmp_fw_*) only:
     * the AMD-SP reads and writes RMP entries directly, and the unit keeps the CPUs' cached RMP
     * checks right. NULL: the platform has no SNP. */
    struct mc_rmp *rmp;
};

#define MC_PSP_MAX_GUESTS 1024u /* guest handles 1..1024, as in AMD's firmware */
#define MC_PSP_MAX_CORES 64u

struct mc_psp_config {
    const char *platform;  /* profile name ("rome"); recorded in the state file. Required. */
    uint8_t api_major;     /* firmware API version and build, as PLATFORM_STATUS reports them */
    uint8_t api_minor;
    uint8_t build;
    uint32_t max_asid;     /* highest SEV ASID (CPUID 8000_001F ECX), >= 1 */
    uint32_t min_sev_asid; /* SEV-ES guests use 1..min_sev_asid-1, plain SEV min_sev_asid..max */
    bool es_supported;     /* SEV-ES available (INIT flag bit 0 accepted) */
    unsigned num_cores;    /* cores that must WBINVD before DF_FLUSH, 1..64 */
    uint32_t max_guests;   /* 1..1024; 0 means 1024 */
    unsigned root_bits;    /* RSA size of the emulated ARK/ASK: 2048 or 4096; 0 means 4096 */
    const char *state_path; /* persistent state file (OCA/PEK/PDH/owner/chip secret); NULL = memory only */
    unsigned state_wait_ms; /* how long to wait for another process's lock on state_path;
                               0 = MC_PSP_STATE_WAIT_MS */
    /* SEV-SNP (docs/snp-platform.md "SNP firmware"). snp = false: every SNP command answers
     * INVALID_COMMAND. The running firmware is api_major.api_minor build `build` at TCB snp_tcb
     * (the generation's TCB_VERSION layout); a new chip has committed it, unless snp_provisional:
     * then the committed firmware is the previous one (build - 1, SNP SVN - 1) until SNP_COMMIT,
     * so REPORTED_TCB < CURRENT_TCB. What SNP_COMMIT, SNP_CONFIG and SNP_VLEK_LOAD change is kept
     * in the state file. */
    bool snp;
    unsigned snp_gen;       /* enum mc_snp_gen (memcrypt/snp_report.h): TCB layout, identity */
    uint64_t snp_tcb;
    bool snp_provisional;
};

#define MC_PSP_STATE_WAIT_MS 30000u

/* Create the firmware in UNINIT. cfg, mem and rng are copied/borrowed (rng must outlive the
 * PSP). With a state_path, the state file is locked (see below), an existing file is loaded and
 * checked now (corrupt, truncated or written for another platform -> MC_E_FORMAT with a message
 * naming the file); a missing file is created with a fresh chip secret. A symbolic link as
 * state_path is followed: its target is read, locked and replaced (the link stays). */
MC_API mc_status mc_psp_create(const struct mc_psp_config *cfg, const struct mc_psp_mem *mem, struct mc_rng *rng,
                        struct mc_psp **out, struct mc_error *err);
/* Wipes every secret, releases the state file's lock and frees. NULL is fine. Does not touch
 * DRAM or the memory controller. */
MC_API void mc_psp_destroy(struct mc_psp *psp);

/* The state file is shared by processes (CLI commands, an emulated /dev/sev): one exclusive lock
 * (flock(2) on STATE.lock beside it) covers each read-modify-write. mc_psp_create takes the lock
 * (waiting up to cfg->state_wait_ms for another holder, then MC_E_BUSY naming the holder's pid),
 * removes temporary copies a killed process left (STATE.tmpXXXXXX, holding the chip secret),
 * then reads or creates the state; the lock is held until mc_psp_destroy. Every change to the
 * persistent state is written to the file (atomically) before the command that made it returns:
 * the commit is part of the command. A long-lived front end releases the lock between commands
 * and acquires it again (which re-reads the file: another process may have changed the identity)
 * before the next. While released, a command that would change the persistent state fails with
 * HWERROR_PLATFORM and a sentence saying so; the others run on the state last read. Without a
 * state file both calls succeed and do nothing. */
MC_API mc_status mc_psp_state_acquire(struct mc_psp *psp, unsigned wait_ms, struct mc_error *err);
MC_API void mc_psp_state_release(struct mc_psp *psp);
MC_API bool mc_psp_state_locked(const struct mc_psp *psp);
/* The platform a state file was written for (its profile name, NUL-terminated, into name[32]),
 * read without taking its lock (the name never changes). MC_E_IO/MC_E_NOTFOUND when it cannot be
 * read, MC_E_FORMAT when it is not a state file. */
MC_API mc_status mc_psp_state_file_platform(const char *path, char name[32], struct mc_error *err);

/* The mailbox: run command `cmd` with its buffer at system-physical address buf_paddr (ignored
 * for commands without a buffer). *fw_status always receives the firmware status. Returns
 * MC_OK whenever the firmware produced a status (including failures: then err, if given,
 * holds a sentence explaining which check failed); MC_E_INVAL for NULL arguments. */
MC_API mc_status mc_psp_command(struct mc_psp *psp, uint32_t cmd, uint64_t buf_paddr, uint32_t *fw_status,
                         struct mc_error *err);

/* Register-level view of the same mailbox ("sevv2" MMIO offsets, Rome and later). Writing
 * CmdResp runs the command synchronously: afterwards CmdResp reads back with bit 31 (RESP) set
 * and the status in bits 15:0. Unknown offsets read as 0 and ignore writes. */
#define MC_PSP_REG_CMDRESP 0x10980u
#define MC_PSP_REG_ADDR_LO 0x109E0u
#define MC_PSP_REG_ADDR_HI 0x109E4u
#define MC_PSP_REG_FEATURE 0x109FCu /* bit0 = SEV supported */
#define MC_PSP_CMDRESP_RESP (1u << 31)
#define MC_PSP_CMDRESP_IOC 1u
MC_API void mc_psp_mmio_write32(struct mc_psp *psp, uint32_t off, uint32_t val);
MC_API uint32_t mc_psp_mmio_read32(const struct mc_psp *psp, uint32_t off);

/* A core executed WBINVD (the machine calls this); DF_FLUSH needs every core to have done so
 * since ASIDs last became dirty. core < num_cores, else ignored. */
MC_API void mc_psp_wbinvd(struct mc_psp *psp, unsigned core);

/* Trace of every state change (platform and guest): what = "platform" or "guest". */
typedef void (*mc_psp_trace_fn)(void *ctx, const char *what, uint32_t handle, uint32_t from, uint32_t to);
MC_API void mc_psp_set_trace(struct mc_psp *psp, mc_psp_trace_fn fn, void *ctx);

/* SEV-SNP launch log: one call per 4 KiB chunk a successful SNP_LAUNCH_UPDATE measured, in order,
 * after the command committed (a failed command logs nothing). The same fields as the owner's
 * transcript (memcrypt/measure.h), so the two can be compared line by line. */
struct mc_psp_snp_page {
    uint64_t gctx_paddr;   /* the guest's context page */
    uint64_t spa;          /* system physical address of the chunk */
    uint64_t gpa;          /* GPA from the RMP entry (measured) */
    unsigned page_type;    /* LAUNCH_UPDATE PAGE_TYPE */
    bool imi;              /* IMI_PAGE */
    uint8_t vmpl_perms[3]; /* VMPL1..3 */
    uint8_t contents[48];  /* PAGE_INFO CONTENTS */
    uint8_t digest[48];    /* launch digest after this chunk */
    const uint8_t *data;   /* VMSA pages: the 4 KiB as measured; else NULL. Valid during the call. */
};
typedef void (*mc_psp_snp_log_fn)(void *ctx, const struct mc_psp_snp_page *page);
MC_API void mc_psp_set_snp_log(struct mc_psp *psp, mc_psp_snp_log_fn fn, void *ctx);

/* Read-only introspection (the CLI and tests; a real host learns these via PLATFORM_STATUS /
 * GUEST_STATUS). */
MC_API uint32_t mc_psp_platform_state(const struct mc_psp *psp);
MC_API uint32_t mc_psp_snp_state(const struct mc_psp *psp); /* enum mc_snp_pstate */
MC_API uint32_t mc_psp_snp_guest_count(const struct mc_psp *psp);
/* The SNP TCB model: running (current) firmware, committed, reported (SNP_CONFIG or committed). */
struct mc_psp_snp_tcb {
    uint64_t current, committed, reported;
    uint8_t current_ver[3], committed_ver[3]; /* major, minor, build */
    bool provisional;                        /* committed is older than current */
};
MC_API void mc_psp_snp_tcb(const struct mc_psp *psp, struct mc_psp_snp_tcb *out);
MC_API uint32_t mc_psp_guest_count(const struct mc_psp *psp);
MC_API bool mc_psp_asid_dirty(const struct mc_psp *psp, uint32_t asid);
/* True once the platform identity exists (it is created on first use, see above). */
MC_API bool mc_psp_has_identity(const struct mc_psp *psp);
/* The platform identity (created and persisted now if needed), for what AMD's key server and the
 * platform owner's tools would hand out: the ASK-signed CEK, the emulated ARK/ASK. Borrowed;
 * valid until the next identity-changing command. NULL with err set on failure. */
struct mc_sev_identity;
MC_API const struct mc_sev_identity *mc_psp_identity(struct mc_psp *psp, struct mc_error *err);
/* The chip's SEV-SNP identity (VCEK per TCB, loaded VLEK, emulated ARK/ASK/ASVK:
 * memcrypt/snp_identity.h), created and persisted now if needed. Borrowed; valid until the next
 * command that changes it (SNP_VLEK_LOAD, SNP_SHUTDOWN) or a state re-read. NULL with err set
 * on failure or without SNP. */
struct mc_snp_identity;
MC_API struct mc_snp_identity *mc_psp_snp_identity(struct mc_psp *psp, struct mc_error *err);
/* SHA-256 over a canonical serialisation of all firmware state (platform, guests incl. keys,
 * ASID tables, persistent state). Equal digests = unchanged state. For tests. */
MC_API mc_status mc_psp_snapshot(const struct mc_psp *psp, uint8_t digest[32], struct mc_error *err);

/* ---- SEV-SNP guest hibernation (memcrypt's own: the SNP ABI has no command for it) -----------
 * What a platform that hibernates with SNP guests running would need its firmware for, used by
 * mc_guest_save / mc_guest_restore (memcrypt/migrate.h, kind 3). Export: the firmware opens the
 * guest's context (RUNNING), reads every RMP entry of guest RAM and of the vCPUs' VMSA pages and
 * hands out, for each page assigned to the guest's ASID, a record (MC_PSP_HIB_REC bytes: header
 * and the frame's ciphertext as DRAM holds it), and a sealed blob (MC_PSP_HIB_SEALED bytes):
 * AES-256-GCM under a key derived from the chip secret (SEV KDF, label "memcrypt-snp-hibernate"),
 * a random IV, the caller's header bytes as additional data, over the context (policy, launch
 * digest, VMPCKs and their sequence numbers, VEK, TCB, ID-block data, HOST_DATA, ...), the
 * SHA-384 of all records, their count and the RAM's old address. Only this chip opens it; the
 * hypervisor's file holds no plaintext.
 * Import (on the same chip, SNP initialised): the sealed blob must open (MC_E_VERIFY otherwise:
 * another chip, or altered), the records must hash to its digest (MC_E_VERIFY) and be well formed
 * (MC_E_FORMAT), every target page must be a Hypervisor page, the context page a Firmware page and
 * the ASID a clean, free SNP ASID (MC_E_FIRMWARE: DF_FLUSH_REQUIRED, ASID_OWNED, INVALID_ASID,
 * INVALID_PAGE_STATE in err->fw_status and *fw_status) — all checked before anything changes.
 * Then the key is bound to the new ASID, every frame is re-encrypted from its old address to the
 * new one (the engine's tweak is the physical address), its RMP entry written (assigned, ASID,
 * GPA, Validated, VMSA, VMPL permissions), and the context sealed into the Context page, RUNNING. */
#define MC_PSP_HIB_SEALED 0x400u
#define MC_PSP_HIB_REC_HDR 0x20u
#define MC_PSP_HIB_REC (MC_PSP_HIB_REC_HDR + 4096u)
enum mc_psp_hib_rec { MC_PSP_HIB_PRIVATE = 1, MC_PSP_HIB_VMSA = 2, MC_PSP_HIB_SHARED = 3 };
struct mc_psp_hib_guest {
    uint64_t gctx_pa;        /* export: the guest's Context page; import: a Firmware page */
    uint64_t mem_spa, mem_size; /* guest RAM (host physical, GPA 0 at mem_spa) */
    uint64_t vmsa_spa[64];   /* vCPU i's VMSA page (0: none) */
    unsigned nvcpu;
    uint32_t asid;           /* import: the ASID to bind */
    const uint64_t *pages;   /* export: the GPAs the hypervisor assigned to the guest (ascending), or
                                NULL: every page of guest RAM is looked at. Either way every page of
                                the guest's ASID must be found (the RMP's count per ASID), else
                                MC_E_STATE */
    uint64_t npages;
};
typedef mc_status (*mc_psp_hib_sink)(void *ctx, const void *buf, size_t len, struct mc_error *err);
MC_API mc_status mc_psp_snp_hib_export(struct mc_psp *psp, const struct mc_psp_hib_guest *g, const uint8_t *aad,
                                       size_t aad_len, mc_psp_hib_sink w, void *wctx, uint64_t *nrec,
                                       uint8_t sealed[MC_PSP_HIB_SEALED], struct mc_error *err);
MC_API mc_status mc_psp_snp_hib_import(struct mc_psp *psp, const struct mc_psp_hib_guest *g, const uint8_t *aad,
                                       size_t aad_len, const uint8_t sealed[MC_PSP_HIB_SEALED], const uint8_t *recs,
                                       uint64_t nrec, uint32_t *fw_status, struct mc_error *err);

MC_END_DECLS

#endif
