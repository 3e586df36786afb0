/* memcrypt — Intel TME/MKTME status of a platform profile, decoded: CPUID.(7,0):ECX[13] and
 * EDX[18], CPUID leaf 0x1B, and the TME MSRs (0x981 capability, 0x982 activation as the BIOS
 * settings leave it, 0x983/0x984 exclusion, 0x9FF, 0x87) read through a machine with the TME
 * unit attached. One decoder for every tool (`memcrypt tme status`, `memcrypt info`).
 */
#ifndef MEMCRYPT_TME_STATUS_H
#define MEMCRYPT_TME_STATUS_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <memcrypt/cpu.h>
#include <memcrypt/error.h>

MC_BEGIN_DECLS

#define MC_TME_STATUS_NMSR 6
#define MC_TME_STATUS_N1B 4

struct mc_tme_status {
    const struct mc_cpu_profile *profile; /* borrowed (static profile data) */
    bool tme, pconfig;                    /* CPUID.(7,0):ECX[13], EDX[18] */
    /* Leaf 0x1B subleaves 0..n1b-1: the valid ones, then the first invalid one (if within
     * MC_TME_STATUS_N1B). Only filled when TME is enumerated on an Intel profile. */
    unsigned n1b;
    struct mc_cpuid_regs cpuid_1b[MC_TME_STATUS_N1B];
    /* The MSRs as RDMSR answers them (ok = false: #GP, value 0). */
    uint32_t msr[MC_TME_STATUS_NMSR];
    const char *msr_name[MC_TME_STATUS_NMSR];
    uint64_t value[MC_TME_STATUS_NMSR];
    bool ok[MC_TME_STATUS_NMSR];
    /* IA32_TME_CAPABILITY */
    uint32_t cap_algs; /* bits 3:0 */
    bool bypass_supported;
    unsigned max_keyid_bits, max_keys;
    /* IA32_TME_ACTIVATE */
    bool locked, enabled, key_restore, save_key, bypass;
    unsigned policy;     /* bits 7:4 */
    unsigned keyid_bits; /* K */
    unsigned maxphyaddr; /* M: KeyID = PA[M-1 : M-K] */
    uint32_t mktme_algs; /* bits 51:48 */
    uint32_t keyids;     /* usable MKTME KeyIDs: min(2^K-1, MAX_KEYS) */
};

/* Decode the profile with the given BIOS settings (NULL or MC_BIOS_DEFAULTS: the profile's).
 * Not an Intel part or no TME: MC_OK with only profile/tme/pconfig set. Bad BIOS settings:
 * the error of mc_cpu_bios_resolve. */
MC_API mc_status mc_tme_status_get(const struct mc_cpu_profile *p, const struct mc_bios *bios, struct mc_tme_status *out,
                            struct mc_error *err);
/* "AES-XTS-128", "AES-XTS-128 with integrity", "AES-XTS-256" or "invalid". */
MC_API const char *mc_tme_policy_name(unsigned policy);
/* Comma-separated names of algorithm bits 3:0 ("none" when zero); always NUL-terminated. */
MC_API void mc_tme_algs_text(uint32_t algs, char *buf, size_t n);
/* Text report (CPUID lines, one line per MSR, decoded capability and activation). */
MC_API void mc_tme_status_print(const struct mc_tme_status *s, FILE *out);
/* JSON members "cpuid_1b", "msrs", "capability", "activate" into the open object. */
struct mc_json;
MC_API void mc_tme_status_json(const struct mc_tme_status *s, struct mc_json *j);

MC_END_DECLS

#endif
