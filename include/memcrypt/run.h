/* memcrypt — `memcrypt run DOMAIN.xml`: launch a libvirt SEV domain on an emulated platform the
 * way QEMU and KVM do, play the guest owner, and run a small guest workload.
 *
 * The launch (shared/spec/sev-api.md §17): INIT (with the SEV-ES flag and TMR when the platform
 * has SEV-ES), WBINVD on every core and DF_FLUSH (as the Linux ccp driver does right after INIT),
 * PLATFORM_STATUS, PDH_CERT_EXPORT (when a channel is built), LAUNCH_START with the
 * policy and the guest owner's GODH certificate and session, ACTIVATE, LAUNCH_UPDATE_DATA over
 * the whole firmware image, then the padded kernel-hashes table when kernelHashes='yes',
 * LAUNCH_UPDATE_VMSA per vCPU for SEV-ES, LAUNCH_MEASURE, LAUNCH_SECRET, LAUNCH_FINISH; at the
 * end DEACTIVATE and DECOMMISSION. Every firmware command goes through the PSP mailbox with a
 * command buffer in emulated DRAM.
 *
 * The guest owner's part is computed independently of the firmware: the expected launch digest
 * from the image (memcrypt/measure.h), MEASURE recomputed with the owner's TIK and compared in
 * constant time, the secret table sealed with TEK/TIK.
 *
 * Ownership: the report holds no pointers; opts and domain are borrowed for the call.
 *
 * Why public: CI users drive a whole libvirt launch from C (the CLI's `memcrypt run` is a thin
 * wrapper); the steps are also public one by one (board.h, vm.h, measure.h) for other flows.
 */
#ifndef MEMCRYPT_RUN_H
#define MEMCRYPT_RUN_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>
#include <memcrypt/mc.h>
#include <memcrypt/libvirt.h>
#include <memcrypt/measure.h>
#include <memcrypt/snp_report.h>

MC_BEGIN_DECLS

struct mc_run_report;

/* Called after LAUNCH_MEASURE with the report filled so far (measurement, API version, build,
 * policy). It may hand back an externally sealed LAUNCH_SECRET packet (header of 0x34 bytes and
 * payload, malloc'd, the runner frees them); leave *hdr NULL to let the runner seal its own.
 * A non-OK return aborts the launch (the guest is torn down). */
typedef mc_status (*mc_run_measured_fn)(void *ctx, const struct mc_run_report *r, uint8_t **hdr, size_t *hdr_len,
                                        uint8_t **payload, size_t *payload_len, struct mc_error *err);
/* Progress of long phases: "boot" (the platform; a new chip makes its keys), "launch-update"
 * (bytes done / total), "workload"; done = total = 0 when there is no count. */
typedef void (*mc_run_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

struct mc_run_opts {
    const char *platform;         /* CPU profile name; NULL = "milan" */
    const uint8_t *seed;          /* NULL = OS randomness; else a deterministic run */
    size_t seed_len;
    const char *firmware;         /* overrides the XML's <loader>; NULL = use the XML */
    const char *state_path;       /* the firmware's persistent state file (identity kept between
                                     runs); NULL = a fresh platform identity each run. Locked
                                     until the launch is measured (memcrypt/psp.h) */
    unsigned state_wait_ms;       /* wait for another process's lock on it; 0 = the default */
    const char *default_firmware; /* for <os firmware='efi'> without a loader path */
    const uint8_t *tek, *tik;     /* the guest owner's transport keys (16 bytes each); NULL = fresh */
    bool no_session;              /* XML without dhCert: launch without a channel, as QEMU does
                                     (the firmware then uses all-zero TEK/TIK) */
    const uint8_t *secret;        /* plaintext of the demo secret; NULL = a built-in sentence */
    size_t secret_len;
    bool has_secret_gpa;          /* put the secret here instead of the firmware's secret area */
    uint64_t secret_gpa;
    bool platform_only;           /* stop after LAUNCH_FINISH: no guest workload */
    const char *save_path;        /* at the end, save the running guest here instead of tearing it
                                     down (memcrypt/migrate.h, mc_guest_save): another process on
                                     the same chip (state_path) continues or migrates it */
    /* SEV-SNP domains: the vCPU model QEMU is given (a QEMU model name as `measure --vcpu-type`
     * takes, e.g. "EPYC-Milan"; NULL = the platform's own processor, as -cpu host gives it) and the
     * VMSA's SEV_FEATURES (has_guest_features false = 0x1, SNPActive, as QEMU). */
    const char *vcpu_type;
    bool has_guest_features;
    uint64_t guest_features;
    /* SEV-SNP: when non-NULL, receives the firmware's own page-by-page launch log (every page
     * SNP_LAUNCH_UPDATE measured, as mc_psp_set_snp_log reports it) as a transcript in the form
     * `measure --transcript` prints (source "firmware"); the caller frees it. */
    struct mc_measure_transcript *launch_log;
    /* SEV-SNP: a folder for what the guest owner verified with: the emulated chip's roots
     * (ark.pem, ask.pem, asvk.pem, the VCEK/VLEK; mc_snp_identity_export), report.bin (the raw
     * report) and certs.bin (the certificate table the guest received). NULL = a temporary folder,
     * removed afterwards. */
    const char *owner_dir;
    mc_run_measured_fn on_measured;
    mc_run_progress_fn progress;
    void *cb_ctx;
    /* Every write to guest and host memory as the memory controller takes it (see mc.h), from
     * the moment the platform is assembled; e.g. to draw the memory map by key domain. */
    memctl_write_observer_fn write_observer;
    void *observer_ctx;
};

/* One guest page as each party sees it (first 64 bytes). */
struct mc_run_view {
    uint64_t gpa, spa;
    uint8_t guest[64];      /* the guest, through its own key (C=1) or in the clear (C=0) */
    uint8_t hypervisor[64]; /* the host reading the same frame with C=0 */
    uint8_t host_key[64];   /* the host reading it with C=1 (its SME key) */
    uint8_t bus[64];        /* what a DRAM bus snooper sees */
};

/* One verdict of the guest owner on an SNP report. */
#define MC_RUN_MAX_CHECKS 32
struct mc_run_check {
    char name[24];   /* "report", "chain", "signature", "measurement", "launch_log", "policy",
                        "report_data", "host_data", "vmpl", "id_key_digest", "author_key_digest" */
    unsigned state;  /* enum mc_check_state of memcrypt/snp_verify.h: pass, fail, skip */
    char reason[256];
};

/* What `memcrypt run` did and saw for an SEV-SNP domain. */
struct mc_run_snp {
    uint64_t policy;              /* the launch policy (LAUNCH_START) */
    uint8_t gosvw[16];            /* guest OS visible workarounds (LAUNCH_START) */
    uint64_t guest_features;      /* SEV_FEATURES of every VMSA */
    char vcpu_type[48];           /* the vCPU model, or "host (<platform>)" */
    char vcpu_source[32];         /* where it came from: "--vcpu-type", "domain <cpu>", "host" */
    uint32_t vcpu_sig;            /* CPUID(1).EAX in the VMSAs' RDX */
    uint8_t abi_major, abi_minor; /* SNP_PLATFORM_STATUS */
    uint32_t fw_build;
    uint64_t current_tcb, reported_tcb;
    uint32_t guest_count;         /* SNP guests the firmware knew after LAUNCH_FINISH */
    uint64_t launch_pages;        /* pages SNP_LAUNCH_UPDATE measured (VMSAs included) */
    uint64_t pages_by_type[7];    /* ... per PAGE_TYPE (index = MC_SNP_PT_*) */
    uint64_t secrets_gpa, cpuid_gpa;
    unsigned cpuid_entries;       /* entries of the CPUID table the hypervisor filled (QEMU's) */
    bool guest_cpuid_read;        /* the guest read its CPUID page after launch: */
    uint32_t guest_cpuid_sig;     /* ... Fn0000_0001 EAX found there */
    uint32_t guest_cpuid_cbit;    /* ... Fn8000_001F EBX[5:0] found there */
    uint64_t finish_flags;        /* LAUNCH_FINISH: ID_BLOCK_EN | AUTH_KEY_EN | VCEK_DISABLED */
    uint8_t host_data[32];        /* LAUNCH_FINISH HOST_DATA (the domain's hostData, else zero) */
    uint32_t guest_state;         /* the guest's state after LAUNCH_FINISH (enum mc_snp_gstate of snp_api.h) */
    uint8_t expected_measurement[48]; /* the owner's: memcrypt measure of the same inputs */
    uint8_t firmware_digest[48];  /* the firmware's launch digest after its last page */
    size_t log_steps, owner_steps;/* pages in the firmware's log and in the owner's transcript */
    bool log_identical;           /* the two agree step by step */
    size_t log_diff_index;        /* else: the first step where they part ... */
    char log_diff[512];           /* ... and why (measure diff's wording) */
    uint8_t nonce[64];            /* the owner's fresh nonce, the guest's REPORT_DATA */
    bool have_report;
    uint32_t report_status;       /* MSG_REPORT_RSP STATUS (0 = a report came back) */
    uint8_t report[MC_SNP_REPORT_SIZE];
    uint64_t certs_bytes;         /* the certificate table the guest received with its report */
    size_t nchecks;
    struct mc_run_check checks[MC_RUN_MAX_CHECKS];
    bool verified;                /* a report came back and every check passed */
};

struct mc_run_report {
    char platform[32];
    char generation[64];
    uint8_t api_major, api_minor, build;
    char name[128];
    uint64_t memory_bytes;
    unsigned vcpus;
    uint32_t policy;
    bool es;
    uint32_t handle, asid;
    bool df_flush;                /* WBINVD + DF_FLUSH were issued right after INIT */
    uint32_t dirty_asids_after_init; /* ASIDs still needing DF_FLUSH after the bring-up (0) */
    char firmware[256];
    uint64_t firmware_size;
    bool kernel_hashes;
    uint64_t hashes_gpa;
    uint8_t vmsa[2][4096];        /* SEV-ES: the measured VMSA of the BSP and of the APs */
    uint64_t launch_bytes;        /* bytes LAUNCH_UPDATE_DATA/VMSA encrypted */
    double update_seconds;        /* time inside LAUNCH_UPDATE_DATA/VMSA */
    double launch_seconds;        /* platform boot .. LAUNCH_FINISH */
    double boot_seconds;          /* machine, firmware and hypervisor created */
    double init_seconds;          /* INIT + PLATFORM_STATUS (the firmware makes its identity keys) */
    double channel_seconds;       /* PDH_CERT_EXPORT (the firmware makes its PEK/PDH chain on first
                                     use) and the owner's session */
    double guest_launch_seconds;  /* LAUNCH_START .. LAUNCH_FINISH incl. the owner's checks */
    double workload_seconds;
    uint64_t dram_touched;        /* DRAM frames actually allocated (sparse DRAM) */
    char owner[160];              /* who played the guest owner and how the channel was built */
    bool channel;                 /* LAUNCH_START had a GODH cert and session */
    bool owner_knows_tik;         /* the owner's TIK is known, so MEASURE could be checked */
    uint8_t launch_digest[32];    /* the owner's expected launch digest */
    uint8_t measurement[48];      /* MEASURE || MNONCE from the firmware */
    bool measurement_ok;
    bool external_secret;         /* the secret packet came from on_measured */
    uint64_t secret_gpa;
    uint32_t secret_len;
    bool secret_area_from_firmware;
    uint32_t secret_fw_status;
    bool secret_ok;               /* the guest read back the secret it was given */
    char secret_seen[128];        /* what the guest found in the secret table, as text for display:
                                     only for the built-in demo secret, else empty */
    bool secret_found;            /* the guest found its secret's entry in the table */
    uint32_t secret_seen_len;     /* its length, and SHA-256 (shown instead of a user's secret) */
    uint8_t secret_seen_sha256[32];
    uint32_t final_state;         /* guest state after LAUNCH_FINISH (GUEST_STATUS) */
    bool workload;                /* the guest workload ran */
    struct mc_run_view priv, shared;
    bool io_ok;                   /* bounce-buffered device I/O round trip matched */
    bool io_direct_ciphertext;    /* a device reading the private page directly got ciphertext */
    bool wrong_asid_tried;
    bool wrong_asid_garbage;      /* the VM run under another ASID does not see its plaintext */
    uint32_t wrong_asid;
    char wrong_asid_note[160];    /* what happened: garbage bytes, or why the access was refused */
    uint8_t io_device_saw[32];    /* what the device read from the bounce buffer */
    bool saved;                   /* the guest was saved to opts.save_path */
    uint64_t saved_bytes;
    bool is_snp;                  /* an SEV-SNP domain: the fields below, not policy/measurement */
    struct mc_run_snp snp;
};

/* Launch d (already parsed; it is validated here against the platform) and fill *r. */
MC_API mc_status mc_run(struct mc_lv_domain *d, const struct mc_run_opts *o, struct mc_run_report *r, struct mc_error *err);

MC_END_DECLS

#endif
