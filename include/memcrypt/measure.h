/* memcrypt — expected launch digests of SEV, SEV-ES and SEV-SNP guests booted from OVMF.
 *
 * What the guest owner computes to compare with the firmware's launch measurement:
 *  - SEV:     SHA-256(OVMF image ‖ [kernel-hashes table])                 (SEV API 55766 §10)
 *  - SEV-ES:  SHA-256(OVMF image ‖ [kernel-hashes table] ‖ VMSA per vCPU)
 *  - SEV-SNP: the SHA-384 PAGE_INFO chain of SNP ABI 56860 (LAUNCH_UPDATE per 4 KiB page):
 *             OVMF pages (NORMAL), then the SEV metadata sections in table order, then one VMSA
 *             page per vCPU; "snp:ovmf-hash" stops after the OVMF pages, "snp:svsm" adds a
 *             COCONUT-SVSM image below OVMF and its VMSAs.
 * The same inputs and outputs as virtee/sev-snp-measure.
 *
 * Inputs are borrowed byte buffers (the caller loads files); nothing is kept after the call.
 * A transcript callback, when given, sees every measured unit in order.
 */
#ifndef MEMCRYPT_MEASURE_H
#define MEMCRYPT_MEASURE_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/vmsa.h>

MC_BEGIN_DECLS

#define MC_MEASURE_MAX_DIGEST 48
#define MC_MEASURE_MAX_VCPUS 4096
#define MC_SEV_HASHES_TABLE_LEN 0xb0 /* 168-byte table padded to 16 */

enum mc_measure_mode {
    MC_MEASURE_SEV = 0,
    MC_MEASURE_SEV_ES,
    MC_MEASURE_SNP,
    MC_MEASURE_SNP_OVMF_HASH, /* only the OVMF prefix of the SNP chain */
    MC_MEASURE_SNP_SVSM,
};

/* SNP LAUNCH_UPDATE page types (SNP ABI table "PAGE_TYPE"). */
enum mc_snp_page_type {
    MC_SNP_PAGE_NORMAL = 1,
    MC_SNP_PAGE_VMSA = 2,
    MC_SNP_PAGE_ZERO = 3,
    MC_SNP_PAGE_UNMEASURED = 4,
    MC_SNP_PAGE_SECRETS = 5,
    MC_SNP_PAGE_CPUID = 6,
};
/* Name of an SNP page type ("NORMAL", ...); "?" when unknown. */
MC_API const char *mc_snp_page_type_name(unsigned type);

/* One measured unit: an SNP 4 KiB page, or for SEV/SEV-ES one LAUNCH_UPDATE region
 * (type 0 = DATA, MC_SNP_PAGE_VMSA = VMSA). */
struct mc_measure_step {
    size_t index;
    uint64_t gpa;         /* guest address; VMSA pages: 0xFFFFFFFFF000 as KVM places them */
    unsigned page_type;   /* SNP page type; SEV/SEV-ES: 0 data, 2 VMSA */
    uint64_t length;      /* bytes in this unit */
    uint8_t contents[MC_MEASURE_MAX_DIGEST]; /* SNP: PAGE_INFO CONTENTS; SEV: SHA-256 of the region */
    uint8_t digest[MC_MEASURE_MAX_DIGEST];   /* running launch digest after this unit */
    size_t digest_len;
    const uint8_t *data;  /* unit bytes when available (VMSA pages, hashes page), else NULL */
    int vcpu;             /* VMSA pages: vCPU index; else -1 */
    const char *what;     /* "ovmf", "svsm", "kernel-hashes", section name, "vmsa" */
};
typedef void (*mc_measure_step_fn)(void *ctx, const struct mc_measure_step *step);

struct mc_measure_input {
    enum mc_measure_mode mode;
    const uint8_t *ovmf;
    size_t ovmf_len;
    unsigned vcpus;          /* SEV-ES / SNP / SVSM: 1..MC_MEASURE_MAX_VCPUS */
    uint32_t vcpu_sig;       /* CPUID(1).EAX for RDX (QEMU) */
    enum mc_vmm_type vmm;
    unsigned vmsa_variant;   /* MC_VMSA_VARIANT_* bits (memcrypt/vmsa.h); 0 = QEMU/KVM today */
    const uint8_t *vmsa_pages[2]; /* SEV-ES: given VMSA pages (BSP, APs; MC_VMSA_SIZE bytes each) measured
                                     instead of built ones, as sevctl's --vmsa-cpu0/--vmsa-cpu1; NULL = build */
    uint64_t guest_features; /* SNP SEV_FEATURES */
    bool has_kernel;         /* direct kernel boot: build the kernel-hashes table */
    const uint8_t *kernel;
    size_t kernel_len;
    const uint8_t *initrd; /* NULL = no initrd (hash of empty input) */
    size_t initrd_len;
    const char *append;    /* NULL = no command line */
    const uint8_t *ovmf_hash; /* SNP only: 48-byte precomputed OVMF prefix digest, or NULL */
    const uint8_t *svsm;      /* snp:svsm: the SVSM image */
    size_t svsm_len;
    uint64_t vars_size;       /* snp:svsm: size of the OVMF_VARS flash */
    unsigned threads;         /* page hashing threads; 0 = one per online CPU (at most 4) */
    mc_measure_step_fn on_step; /* optional transcript callback */
    void *cb_ctx;
    struct mc_measure_memo *memo; /* optional: reuse the image-only work of earlier calls (below) */
};

/* Compute the launch digest. out must hold MC_MEASURE_MAX_DIGEST bytes; *out_len is 32 (SEV,
 * SEV-ES) or 48 (SNP modes). Refuses requests the image cannot support (missing reset block,
 * hashes-table entry or SNP_KERNEL_HASHES section, unknown section types) with a message that
 * names what is missing. */
MC_API mc_status mc_measure(const struct mc_measure_input *in, uint8_t *out, size_t *out_len, struct mc_error *err);

/* A memo of the work that depends on the firmware image alone: its SNP page chain (the
 * snp:ovmf-hash prefix) and the SHA-256 state after its bytes (SEV, SEV-ES). A measurement
 * given a memo (in.memo) whose image has the same bytes (compared byte for byte with a private
 * copy; up to 4 images, least recently used replaced) starts from there instead of hashing the
 * image again; results are identical. Not used when on_step is set (a transcript needs every
 * page). For many measurements of one image in one process (`measure --batch`). Not
 * thread-safe: one memo per thread. */
struct mc_measure_memo;
MC_API mc_status mc_measure_memo_create(struct mc_measure_memo **out, struct mc_error *err);
MC_API void mc_measure_memo_destroy(struct mc_measure_memo *m);
/* How many measurements found their image in the memo (for tests and benchmarks). */
MC_API unsigned long mc_measure_memo_hits(const struct mc_measure_memo *m);

/* The kernel part of those checks alone: can this OVMF image measure a kernel/initrd/command line
 * in this mode? Lets a caller refuse before it reads (possibly large) kernel files. */
MC_API mc_status mc_measure_kernel_supported(enum mc_measure_mode mode, const uint8_t *ovmf, size_t ovmf_len,
                                      struct mc_error *err);

/* The QEMU kernel-hashes table (SEV API §12): header GUID, cmdline/initrd/kernel SHA-256 entries,
 * zero padded to MC_SEV_HASHES_TABLE_LEN. initrd NULL = no initrd; cmdline NULL = none. */
MC_API mc_status mc_sev_hashes_table(const uint8_t *kernel, size_t kernel_len, const uint8_t *initrd, size_t initrd_len,
                              const char *cmdline, uint8_t out[MC_SEV_HASHES_TABLE_LEN], struct mc_error *err);

/* SEV (legacy) launch digest from an OVMF image and an optional hashes table (NULL = none):
 * SHA-256(ovmf ‖ table). Shared with the SEV firmware's `run` path. */
MC_API mc_status mc_sev_launch_digest(const uint8_t *ovmf, size_t ovmf_len, const uint8_t *table, size_t table_len,
                               uint8_t out[32], struct mc_error *err);

/* Name of a mode as the reference tool spells it ("snp", "seves", "sev", "snp:ovmf-hash",
 * "snp:svsm") and its parser. */
MC_API const char *mc_measure_mode_name(enum mc_measure_mode m);
MC_API mc_status mc_measure_mode_parse(const char *s, enum mc_measure_mode *out, struct mc_error *err);

/* ------------------------------------------------------------ launch plans -- */

/* An SNP launch plan: the 4 KiB pages a VMM gives SNP_LAUNCH_UPDATE for these inputs, in
 * QEMU/KVM's order (the OVMF image as NORMAL pages, the SEV metadata sections, one VMSA per vCPU
 * at the VMSA GPA), with the bytes of NORMAL and VMSA pages; and the launch digest the firmware
 * must reach. Built from the same steps mc_measure measures (mode snp or snp:svsm; no
 * precomputed OVMF hash). Free with mc_snp_plan_free. */
struct mc_snp_launch_page {
    uint64_t gpa;
    unsigned page_type;   /* MC_SNP_PAGE_* */
    int vcpu;             /* VMSA pages: the vCPU; else -1 */
    bool has_data;        /* data holds the page's bytes (NORMAL, VMSA); else zeros */
    const uint8_t *data;  /* 4 KiB */
};
struct mc_snp_plan {
    struct mc_snp_launch_page *pages;
    size_t n;
    uint8_t *data;             /* n pages of bytes */
    uint8_t expected_ld[48];   /* what mc_measure computes for the same inputs */
};
MC_API mc_status mc_snp_plan_build(const struct mc_measure_input *in, struct mc_snp_plan *out, struct mc_error *err);
MC_API void mc_snp_plan_free(struct mc_snp_plan *p);

/* ------------------------------------------------------------- transcripts -- */

/* A recorded transcript: every step, with a private copy of each VMSA page. Use
 * mc_measure_transcript_step as the on_step callback with the transcript as cb_ctx. */
struct mc_measure_record {
    struct mc_measure_step step; /* step.data is NULL; VMSA bytes are in vmsa */
    uint8_t *vmsa;               /* MC_VMSA_SIZE bytes for VMSA steps, else NULL */
};
struct mc_measure_transcript {
    struct mc_measure_record *rec;
    size_t n, cap;
    bool failed; /* out of memory while recording: the transcript is incomplete */
};
MC_API void mc_measure_transcript_step(void *transcript, const struct mc_measure_step *step);
MC_API void mc_measure_transcript_free(struct mc_measure_transcript *t);

/* Where two transcripts part. index == SIZE_MAX and identical == true when they do not. */
struct mc_measure_diff {
    bool identical;
    size_t index;      /* first differing step (or the length of the shorter one) */
    char reason[512];  /* which field differs, for a person */
};
MC_API void mc_measure_transcript_diff(const struct mc_measure_transcript *a, const struct mc_measure_transcript *b,
                                struct mc_measure_diff *d);

MC_END_DECLS

#endif
