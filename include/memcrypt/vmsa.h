/* memcrypt — the initial VMSA (SEV-ES save area) pages a VMM gives each vCPU of an SEV-ES or
 * SEV-SNP guest, as QEMU/KVM, AWS EC2 and Google GCE set them up, and the CPUID signatures of
 * QEMU's EPYC vCPU models.
 *
 * Layout: AMD APM vol. 2 table B-4 (struct sev_es_save_area in Linux). Every field not set by
 * mc_vmsa_build() is zero, as in the launch the measurement reproduces.
 */
#ifndef MEMCRYPT_VMSA_H
#define MEMCRYPT_VMSA_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/error.h>

MC_BEGIN_DECLS

#define MC_VMSA_SIZE 4096
#define MC_VMSA_BSP_EIP 0xfffffff0u

enum mc_vmm_type { MC_VMM_QEMU = 0, MC_VMM_EC2, MC_VMM_GCE };

/* Host-stack variants of the initial VMSA (bits; 0 = today's QEMU/KVM layout). The same guest
 * gets a different launch measurement on different host stacks, so the owner must say which:
 *  - ZERO_FPU: MXCSR 0 and x87 FCW 0, as KVM wrote the VMSA before it copied QEMU's FPU reset
 *    state (0x1F80 / 0x37F) into it (Linux before 6.x; sevctl's fixtures vmsa0.bin/vmsa1.bin).
 *  - DEBUG_SWAP: SEV_FEATURES bit 5 (DebugSwap) set, as KVM 6.5..6.9 did for SEV-ES guests when
 *    kvm_amd.debug_swap was on and the CPU has it (8000_001F EAX[14]); later kernels only set it
 *    when the VMM asks (KVM_SEV_INIT2 vmsa_features).
 *  - EC2_RDX0: with the EC2 VMM type, RDX 0 (the Rust `sev` crate's EC2 layout) instead of 0x600
 *    (virtee/sev-snp-measure's). */
enum {
    MC_VMSA_VARIANT_ZERO_FPU = 1u << 0,
    MC_VMSA_VARIANT_DEBUG_SWAP = 1u << 1,
    MC_VMSA_VARIANT_EC2_RDX0 = 1u << 2,
};
#define MC_VMSA_VARIANT_ALL 0x7u
/* Parse a comma-separated list of variant names ("qemu" = none, "zero-fpu", "debug-swap",
 * "ec2-rdx0"; "sevctl" = zero-fpu). MC_E_NOTFOUND lists the names. */
MC_API mc_status mc_vmsa_variant_parse(const char *s, unsigned *out, struct mc_error *err);
/* "qemu" or the names joined by ','. */
MC_API void mc_vmsa_variant_name(unsigned v, char *buf, size_t n);

struct mc_vmsa_params {
    uint64_t eip;          /* reset address: BSP 0xfffffff0, AP = SEV-ES reset block value;
                              SVSM style: the full 64-bit entry point */
    uint64_t sev_features; /* SEV_FEATURES (guest features; 0 for SEV-ES) */
    uint32_t vcpu_sig;     /* CPUID(1).EAX, put in RDX by QEMU */
    enum mc_vmm_type vmm;
    bool svsm;             /* COCONUT-SVSM entry state (flat 32-bit segments) */
    unsigned variant;      /* MC_VMSA_VARIANT_* bits */
};

/* SEV_FEATURES bits an SEV-SNP guest's VMSA may carry (AMD APM vol. 2 "SEV_FEATURES"; the guest's
 * SEV_STATUS MSR shows bit n at n + 2, as Linux's msr-index.h names them): 0 SNPActive, 1 vTOM,
 * 2 ReflectVC, 3 RestrictedInjection, 4 AlternateInjection, 5 DebugSwap, 6 PreventHostIBS,
 * 7 BTBIsolation, 8 VmplSSS, 9 SecureTSC, 10 VmgexitParameter, 12 IbsVirtualization,
 * 14 VmsaRegProt, 15 SmtProtection, 16 SecureAVIC, 21 IbpbOnEntry. Bits 11, 13, 17-20 and 22-63
 * are reserved. */
#define MC_SEV_FEATURES_SNP_ACTIVE 0x1ull
#define MC_SEV_FEATURES_DEFINED 0x21D7FFull
/* Can an SNP guest start with these SEV_FEATURES? SNPActive must be set (VMRUN of an SNP guest
 * fails without it) and no reserved bit may be; MC_E_INVAL with a sentence naming the bits. */
MC_API MC_MUST_CHECK mc_status mc_vmsa_snp_features_check(uint64_t sev_features, struct mc_error *err);

/* Fill page (MC_VMSA_SIZE bytes) with the initial save area. */
MC_API void mc_vmsa_build(const struct mc_vmsa_params *p, uint8_t page[MC_VMSA_SIZE]);

/* Named fields of the save area (for transcripts and diffs). */
struct mc_vmsa_field {
    const char *name;
    uint16_t offset;
    uint16_t size;
};
/* All named fields in offset order; *n receives the count. */
MC_API const struct mc_vmsa_field *mc_vmsa_fields(size_t *n);
/* Read a field of up to 8 bytes as a little-endian integer. */
MC_API uint64_t mc_vmsa_get(const uint8_t page[MC_VMSA_SIZE], const struct mc_vmsa_field *f);
/* Find a field by name (NULL if unknown). */
MC_API const struct mc_vmsa_field *mc_vmsa_field_by_name(const char *name);

/* CPUID(1).EAX from family/model/stepping (AMD CPUID spec 25481, Fn0000_0001_EAX).
 * family <= 0xff + 0xf, model <= 0xff, stepping <= 0xf, else MC_E_RANGE. */
MC_API mc_status mc_cpu_sig(unsigned family, unsigned model, unsigned stepping, uint32_t *sig, struct mc_error *err);
/* Signature of a QEMU vCPU model name ("EPYC-Milan", "EPYC-v4", ...); MC_E_NOTFOUND lists the names. */
MC_API mc_status mc_vcpu_type_sig(const char *name, uint32_t *sig, struct mc_error *err);
/* The i-th known vCPU model name, NULL past the end. */
MC_API const char *mc_vcpu_type_name_at(size_t i);

/* "QEMU", "ec2", "gce" (the reference tool's spelling; matching is case-insensitive). */
MC_API mc_status mc_vmm_type_parse(const char *s, enum mc_vmm_type *out, struct mc_error *err);
MC_API const char *mc_vmm_type_name(enum mc_vmm_type t);

MC_END_DECLS

#endif
