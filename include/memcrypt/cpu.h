/* memcrypt — CPU platform profiles: CPUID values, MSR reset values, BIOS settings.
 *
 * A profile describes one processor generation as software sees it: the CPUID leaves that
 * matter for memory encryption (0x80000000, 0x80000008, 0x8000001F on AMD; 7 and 0x1B on
 * Intel), the MSR values firmware leaves behind, the SEV firmware API version, and the
 * BIOS defaults. Decoded fields (C-bit, reduction, ASID counts, KeyID bits) are always
 * derived from the raw register values by the decode functions below — one source of truth.
 * Profiles are immutable static data; lookups return borrowed pointers.
 */
#ifndef MEMCRYPT_CPU_H
#define MEMCRYPT_CPU_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/engine.h>
#include <memcrypt/error.h>
#include <memcrypt/mc.h>

MC_BEGIN_DECLS

enum mc_vendor { MC_VENDOR_AMD = 1, MC_VENDOR_INTEL = 2 };

struct mc_cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

struct mc_cpuid_entry {
    uint32_t leaf, subleaf;
    struct mc_cpuid_regs r;
};

/* MSR numbers. */
#define MC_MSR_SYSCFG 0xC0010010u
#define MC_MSR_HWCR 0xC0010015u
#define MC_MSR_VM_PAGE_FLUSH 0xC001011Eu
#define MC_MSR_SEV_STATUS 0xC0010131u
#define MC_MSR_TME_CAPABILITY 0x981u
#define MC_MSR_TME_ACTIVATE 0x982u
#define MC_MSR_TME_EXCLUDE_MASK 0x983u
#define MC_MSR_TME_EXCLUDE_BASE 0x984u

/* SYSCFG (AMD APM vol. 2, "System Configuration Register"; Linux msr-index.h / mtrr). */
#define MC_SYSCFG_MTRR_FIX_DRAM_EN (1ull << 18)     /* MtrrFixDramEn */
#define MC_SYSCFG_MTRR_FIX_DRAM_MOD_EN (1ull << 19) /* MtrrFixDramModEn (MFDM) */
#define MC_SYSCFG_MTRR_VAR_DRAM_EN (1ull << 20)     /* MtrrVarDramEn */
#define MC_SYSCFG_MTRR_TOM2_EN (1ull << 21)         /* MtrrTom2En */
#define MC_SYSCFG_TOM2_FORCE_WB (1ull << 22)        /* Tom2ForceMemTypeWB */
#define MC_SYSCFG_MEM_ENCRYPT_MOD_EN (1ull << 23)   /* MemEncryptionModEn (SMEE) */
#define MC_SYSCFG_SNP_EN (1ull << 24)               /* SecureNestedPagingEn */
#define MC_SYSCFG_VMPL_EN (1ull << 25)              /* VMPLEn */
#define MC_HWCR_SMMLOCK (1ull << 0)

/* Name of a SYSCFG / HWCR bit (NULL when the bit has no name here). */
MC_API const char *mc_syscfg_bit_name(unsigned bit);
MC_API const char *mc_hwcr_bit_name(unsigned bit);

/* BIOS settings. -1 in a field of struct mc_bios means "the profile's default". */
struct mc_bios {
    int sme;        /* AMD: SYSCFG[23] MemEncryptionModEn */
    int tsme;       /* AMD: Transparent SME (sets SYSCFG[23] too) */
    int smm_lock;   /* AMD: HWCR[0] SmmLock */
    int tme;        /* Intel: TME enabled and locked by BIOS (TME_ACTIVATE[1:0]) */
    int keyid_bits; /* Intel: MK_TME_KEYID_BITS programmed by BIOS (0 = MKTME off) */
    int tme_bypass; /* Intel: TME_ACTIVATE[31] */
};
#define MC_BIOS_DEFAULTS {-1, -1, -1, -1, -1, -1}

struct mc_cpu_profile {
    const char *name;        /* lookup key, e.g. "milan" */
    const char *model;       /* marketing name of the reference part */
    const char *generation;  /* e.g. "EPYC 7003 (Zen 3)" */
    enum mc_vendor vendor;
    uint32_t family, model_id;
    const struct mc_cpuid_entry *cpuid;
    size_t ncpuid;
    uint64_t syscfg_base;    /* SYSCFG without bit 23 (BIOS settings add it) */
    uint64_t tme_capability; /* Intel MSR 0x981 */
    uint8_t fw_api_major, fw_api_minor; /* SEV firmware API version (AMD); 0.0 on Intel */
    enum mc_cipher sme_cipher;         /* cipher of the host / TSME / TME key */
    struct mc_bios bios_default;       /* no -1 fields */
    const char *notes;                 /* provenance of the values, UNCONFIRMED items */
    /* Intel: the part can save the TME key for standby (IA32_TME_ACTIVATE[3] is writable).
     * No CPUID or MSR bit enumerates this ("may be unsupported on some parts"). */
    bool tme_save_key;
    /* AMD: the SEV firmware build that PLATFORM_STATUS reports, and the SNP ABI version of the
     * generation (0.0: no SNP). Representative public firmware; the build numbers are chosen
     * examples (UNCONFIRMED), used everywhere the firmware version is shown or measured. */
    uint8_t fw_build;
    uint8_t snp_api_major, snp_api_minor;
};

/* Lookup by name (case-insensitive). MC_E_NOTFOUND with the list of names for unknown ones. */
MC_API mc_status mc_cpu_profile_find(const char *name, const struct mc_cpu_profile **out, struct mc_error *err);
/* i-th profile or NULL past the end. */
MC_API const struct mc_cpu_profile *mc_cpu_profile_at(size_t i);
MC_API size_t mc_cpu_profile_count(void);

/* CPUID as the profile's processor answers: unknown leaves read as zero (like a leaf above
 * the maximum on real parts, simplified). Returns false when the leaf is not in the table. */
MC_API bool mc_cpuid(const struct mc_cpu_profile *p, uint32_t leaf, uint32_t subleaf, struct mc_cpuid_regs *out);

/* CPUID Fn0000_0001 EAX (family, model, stepping) as the processor reports it. */
MC_API uint32_t mc_cpu_fms(const struct mc_cpu_profile *p);

/* Decoded fields (from the CPUID values). */
struct mc_cpu_features {
    unsigned phys_bits, lin_bits;      /* 0x80000008 EAX[7:0], [15:8] */
    /* AMD 0x8000001F */
    bool sme, sev, vm_page_flush, sev_es, sev_snp, vmpl, sme_coherent, host64_only, vte;
    bool rmpread, segmented_rmp;       /* EAX[21], EAX[23] (Zen 5) */
    unsigned cbit, reduction, vmpls;   /* EBX[5:0], [11:6], [15:12] */
    uint32_t max_asid, min_sev_asid;   /* ECX, EDX */
    /* Intel */
    bool tme, pconfig, pconfig_mktme_target;
    bool xts128, xts256, bypass_supported;
    unsigned max_keyid_bits, max_keys; /* 0x981 [35:32], [50:36] */
};
MC_API void mc_cpu_decode(const struct mc_cpu_profile *p, struct mc_cpu_features *f);

/* Resolve BIOS settings (-1 -> profile default) and check them against the profile
 * (TSME on Intel, KeyID bits beyond MAX_KEYID_BITS, ... -> MC_E_UNSUPPORTED / MC_E_RANGE). */
MC_API mc_status mc_cpu_bios_resolve(const struct mc_cpu_profile *p, const struct mc_bios *in, struct mc_bios *out,
                              struct mc_error *err);
/* The memory controller's platform description for a profile + resolved BIOS settings. */
MC_API mc_status mc_cpu_platform(const struct mc_cpu_profile *p, const struct mc_bios *bios, struct memctl_platform *out,
                          struct mc_error *err);
/* MSR values after BIOS (reset state of the architectural MSRs the profile models). */
MC_API uint64_t mc_cpu_syscfg(const struct mc_cpu_profile *p, const struct mc_bios *bios);
MC_API uint64_t mc_cpu_hwcr(const struct mc_cpu_profile *p, const struct mc_bios *bios);
MC_API uint64_t mc_cpu_tme_activate(const struct mc_cpu_profile *p, const struct mc_bios *bios);

MC_END_DECLS

#endif
