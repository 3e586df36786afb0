/* memcrypt — libvirt domain XML (the parts an SEV / SEV-SNP launch needs), domain
 * capabilities, and the QEMU arguments libvirt would generate for them.
 *
 * Reading: mc_libvirt_parse() takes untrusted XML (at most MC_LV_MAX_XML bytes) and fills a
 * struct mc_lv_domain. libxml2 is used with network access off, no DTD loading, no entity
 * substitution, and any <!DOCTYPE> is refused before parsing. Numbers, units and base64 are
 * checked strictly; a failure returns MC_E_FORMAT/MC_E_RANGE with a sentence naming the element.
 *
 * Checking: mc_libvirt_validate() compares a parsed domain with a platform's facts (struct
 * mc_lv_platform: C-bit, reduction, ASID ranges, SEV-ES / SNP support, firmware version) and
 * reports the first thing that platform cannot launch, in the words QEMU and libvirt users
 * know ("cbitpos check failed, host '51' requested '47'").  It also fills the values libvirt
 * fills itself at start (cbitpos / reducedPhysBits when absent).
 *
 * Ownership: every pointer inside struct mc_lv_domain belongs to it; free with
 * mc_libvirt_free(). Strings returned through char ** are malloc'd; the caller frees them.
 */
#ifndef MEMCRYPT_LIBVIRT_H
#define MEMCRYPT_LIBVIRT_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

#define MC_LV_MAX_XML (1u << 20) /* largest domain XML we read (idAuth alone is ~5.5 KiB) */

/* Fixed decoded sizes of the SEV / SNP binary blobs. */
#define MC_LV_DH_CERT_LEN 0x824u  /* SEV certificate (guest owner's DH cert) */
#define MC_LV_SESSION_LEN 0x80u   /* LAUNCH_START session buffer */
#define MC_LV_GOSVW_LEN 16u       /* SNP guest-visible workarounds */
#define MC_LV_ID_BLOCK_LEN 96u    /* SNP ID block */
#define MC_LV_ID_AUTH_LEN 4096u   /* SNP ID authentication information structure */
#define MC_LV_HOST_DATA_LEN 32u   /* SNP HOST_DATA */

enum mc_lv_sectype { MC_LV_SEC_NONE = 0, MC_LV_SEC_SEV, MC_LV_SEC_SEV_SNP };
enum mc_lv_tristate { MC_LV_ABSENT = 0, MC_LV_YES, MC_LV_NO };

/* A base64 element as written in the XML. libvirt itself does not decode dhCert/session (it
 * hands the text to QEMU), so the raw text is kept for the QEMU arguments and the decoded
 * bytes (when the text is valid base64) for a launch. */
struct mc_lv_blob {
    char *text;     /* NULL when the element is absent; whitespace removed */
    uint8_t *data;  /* decoded bytes, NULL when absent or not valid base64 */
    size_t len;     /* decoded length */
    bool valid;     /* text is canonical base64 */
};

struct mc_lv_launch_security {
    enum mc_lv_sectype type;
    bool has_cbitpos, has_reduced_phys_bits, has_policy;
    uint32_t cbitpos;
    uint32_t reduced_phys_bits;
    uint64_t policy;                       /* 32-bit for sev, 64-bit for sev-snp */
    enum mc_lv_tristate kernel_hashes;     /* kernelHashes='yes|no' */
    enum mc_lv_tristate author_key;        /* sev-snp authorKey='yes|no' */
    enum mc_lv_tristate vcek;              /* sev-snp vcek='yes|no' */
    struct mc_lv_blob dh_cert, session;    /* sev */
    struct mc_lv_blob gosvw, id_block, id_auth, host_data; /* sev-snp */
};

struct mc_lv_domain {
    char *type;              /* <domain type='kvm'> */
    char *name;
    char *uuid;              /* as written, or NULL */
    uint64_t memory_kib;     /* <memory>, converted to KiB (rounded up, as libvirt does) */
    bool has_current_memory;
    uint64_t current_memory_kib;
    uint32_t vcpus;          /* <vcpu> (1 when absent, libvirt's default) */
    /* <cpu mode='...'><model>NAME</model></cpu>: mode as written (custom, host-model,
     * host-passthrough, maximum; NULL when absent: libvirt's default custom when a model is given)
     * and the model's text (NULL when absent). Nothing else of <cpu> is read. */
    char *cpu_mode, *cpu_model;
    char *os_type;           /* "hvm" */
    char *arch, *machine;    /* <type arch= machine=> */
    char *os_firmware;       /* <os firmware='efi'> or NULL */
    char *loader;            /* <loader> path or NULL */
    enum mc_lv_tristate loader_readonly;
    char *loader_type;       /* 'rom' | 'pflash' | NULL */
    enum mc_lv_tristate loader_stateless;
    char *nvram;
    char *kernel, *initrd, *cmdline, *shim;
    bool acpi;               /* <features><acpi/> */
    bool mem_locked;         /* <memoryBacking><locked/> */
    bool has_hard_limit;     /* <memtune><hard_limit> */
    uint64_t hard_limit_kib;
    /* Virtio devices under <devices> (up to MC_LV_MAX_VIRTIO are described; nvirtio counts all),
     * each with whether its <driver iommu='on'/> is set. */
    size_t nvirtio;
    struct mc_lv_virtio {
        char what[64];       /* e.g. "interface (model virtio)", "disk vda (bus virtio)" */
        bool iommu;
    } virtio[16];
    size_t virtio_no_iommu;  /* virtio devices without iommu='on' (all of them, not only the first 16) */
    unsigned pci_hostdevs;   /* <hostdev mode='subsystem' type='pci'> (PCI passthrough) */
    struct mc_lv_launch_security sec;
};
#define MC_LV_MAX_VIRTIO 16

/* Facts about a platform that decide whether a domain can launch there. */
struct mc_lv_platform {
    char name[32];
    uint32_t cbitpos;                /* CPUID 8000_001F EBX[5:0] */
    uint32_t phys_addr_reduction;    /* host EBX[11:6] */
    uint32_t guest_reduced_phys_bits;/* the value reported to guests / in domcaps (QEMU and
                                        libvirt report 1, see docs/libvirt-and-run.md) */
    uint32_t max_sev_asid;           /* ECX: highest SEV ASID */
    uint32_t min_sev_asid;           /* EDX: first ASID for plain SEV; 1..EDX-1 are SEV-ES */
    bool sev, sev_es, sev_snp;
    uint8_t api_major, api_minor, build; /* SEV firmware API version */
    uint8_t snp_api_major, snp_api_minor;/* SNP ABI version (0.0 when no SNP) */
    bool smt_enabled;                /* host SMT on (SNP policy bit 16 must then be set) */
    unsigned addr_bits;              /* usable host physical-address bits: MAXPHYADDR (CPUID
                                        8000_0008 EAX[7:0]) less the reduction when encryption is on */
    unsigned phys_bits;              /* MAXPHYADDR itself */
    uint8_t cpu0_id[64];             /* GET_ID of socket 0 (libvirt <cpu0Id>); set by the caller */
    size_t cpu0_id_len;              /* 0: not known, <cpu0Id> is left out */
};

/* Host physical memory a guest of guest_bytes occupies (the model `memcrypt run` builds): the
 * host's first 2 MiB, the guest's memory in 2 MiB pages, its nested page tables, a copy of the
 * firmware flash (up to MC_OVMF_MAX_SIZE) and 16 MiB for VMSAs, mailbox and buffers. An SEV
 * guest's memory is pinned in host RAM, so a domain fits a platform when this fits in
 * 2^addr_bits bytes; `domain check` and `run` check exactly this. */
#define MC_LV_HOST_LOW_BYTES (2ull << 20)
MC_API uint64_t mc_libvirt_host_bytes(uint64_t guest_bytes);

/* Parse a domain XML held in memory (len bytes, need not be NUL-terminated). */
MC_API mc_status mc_libvirt_parse(const char *xml, size_t len, struct mc_lv_domain **out, struct mc_error *err);
/* Read and parse a file. */
MC_API mc_status mc_libvirt_load(const char *path, struct mc_lv_domain **out, struct mc_error *err);
MC_API void mc_libvirt_free(struct mc_lv_domain *d);

/* Facts of a named CPU profile (memcrypt/cpu.h: naples, rome, milan, genoa, ...), decoded from its
 * CPUID values, plus the firmware build and SNP ABI of its generation. MC_E_NOTFOUND lists the
 * known names. */
MC_API mc_status mc_libvirt_platform(const char *name, struct mc_lv_platform *out, struct mc_error *err);

/* Validation flags. */
#define MC_LV_CHECK_FILES 1u  /* the loader / kernel / initrd files must exist and be readable */
#define MC_LV_CHECK_BLOBS 2u  /* base64 blobs must decode to their fixed sizes (needed to launch) */
#define MC_LV_CHECK_HOST 4u   /* the VM requirements of a real SEV host (mc_libvirt_requirements) */

/* What an SEV / SEV-SNP domain needs on a real host besides <launchSecurity> (libvirt's
 * "Launch security with AMD SEV" knowledge base): a Q35 machine, UEFI (OVMF) firmware,
 * <driver iommu='on'/> on every virtio device, pinned memory (<memoryBacking><locked/>, or a
 * <memtune><hard_limit>) and no PCI passthrough. Each unmet one is one sentence, worded as
 * libvirt's documentation / QEMU / the guest kernel word it. Nothing for a domain without
 * launch security. */
#define MC_LV_MAX_REQ 24
struct mc_lv_requirements {
    size_t n;
    char msg[MC_LV_MAX_REQ][640];
};
MC_API void mc_libvirt_requirements(const struct mc_lv_domain *d, struct mc_lv_requirements *out);

/* Check d against platform p. On success, fills cbitpos / reducedPhysBits / policy in d when the
 * XML left them out (libvirt's own behaviour at start; QEMU's policy defaults 0x1 / 0x30000).
 * On failure d is unchanged and err says what the platform refuses. */
MC_API mc_status mc_libvirt_validate(struct mc_lv_domain *d, const struct mc_lv_platform *p, unsigned flags,
                              struct mc_error *err);

/* Number of guests of each kind the platform can run at once (libvirt's maxGuests/maxESGuests). */
MC_API uint32_t mc_libvirt_max_guests(const struct mc_lv_platform *p);
MC_API uint32_t mc_libvirt_max_es_guests(const struct mc_lv_platform *p);

/* libvirt-style <domainCapabilities> for p, written with libxml2's xmlTextWriter. */
MC_API mc_status mc_libvirt_domcaps_xml(const struct mc_lv_platform *p, char **out, struct mc_error *err);

/* The QEMU arguments libvirt generates for the fields we model (machine, memory, smp, firmware,
 * direct kernel boot, the sev-guest / sev-snp-guest object), one argument per line, shell-quoted
 * like libvirt's .args files. state_dir is where libvirt would write dh_cert.base64 and
 * session.base64 (NULL: /var/lib/libvirt/qemu/domain--1-NAME, an inactive domain's folder). */
MC_API mc_status mc_libvirt_qemu_args(const struct mc_lv_domain *d, const char *state_dir, char **out,
                               struct mc_error *err);

/* "sev", "sev-snp" or "none". */
MC_API const char *mc_libvirt_sectype_name(enum mc_lv_sectype t);

/* The libxml2 the library reads XML with (dlopen()ed the first time XML is used, not linked):
 * loads it if needed and gives its dotted version and shared-object name (static strings), or
 * MC_E_UNSUPPORTED with err saying why it cannot be loaded. */
MC_API mc_status mc_libvirt_xml_runtime(const char **version, const char **soname, struct mc_error *err);

MC_END_DECLS

#endif
