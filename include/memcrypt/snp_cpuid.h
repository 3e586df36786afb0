/* memcrypt — the CPUID page of an SEV-SNP guest (SNP ABI, LAUNCH_UPDATE page type CPUID): the table
 * a QEMU/KVM hypervisor fills from the vCPU's CPUID before launch, the guest's look-up in it (as
 * Linux's snp_cpuid does), and QEMU's report of the entries the firmware corrected.
 *
 * What is filled, and why: docs/snp-platform.md ("The CPUID page"). */
#ifndef MEMCRYPT_SNP_CPUID_H
#define MEMCRYPT_SNP_CPUID_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <memcrypt/cpu.h>
#include <memcrypt/error.h>

MC_BEGIN_DECLS

struct mc_snp_cpuid_params {
    const struct mc_cpu_profile *host; /* the platform: FMS, brand, address sizes in host mode; C-bit */
    const char *vcpu_type;             /* a QEMU model (mc_vcpu_type_sig's names); NULL: -cpu host */
    unsigned vcpus;                    /* libvirt <vcpu>N</vcpu>: N sockets of one core, one thread */
    unsigned reduced_phys_bits;        /* launchSecurity reducedPhysBits (0x8000001F EBX[11:6]) */
    unsigned cbitpos;                  /* launchSecurity cbitpos; 0: the host's */
};

/* Fill page (4096 bytes) with the CPUID table QEMU gives the firmware for this vCPU: header (count)
 * and one entry per leaf / sub-leaf KVM_GET_CPUID2 lists, in QEMU's order. MC_E_NOTFOUND for an
 * unknown vCPU type, MC_E_UNSUPPORTED for a host without SEV-SNP or a non-AMD one, MC_E_RANGE when
 * the table would exceed 64 entries (QEMU refuses too). */
MC_API mc_status mc_snp_cpuid_build(const struct mc_snp_cpuid_params *p, uint8_t page[4096], struct mc_error *err);

/* The guest's look-up, as Linux's snp_cpuid: the entry of (leaf, subleaf) — the sub-leaf counts for
 * the indexed leaves (4, 7, 0xB, 0xD, 0xF, 0x10, 0x8000001D, 0x80000020, ...), and for 0xD
 * sub-leaves 0/1 only the entry for XCR0 = 1 or 3 with XSS = 0. False (and zeros) when there is
 * none or the page's count is out of range. */
MC_API bool mc_snp_cpuid_find(const uint8_t page[4096], uint32_t leaf, uint32_t subleaf, struct mc_cpuid_regs *out);

/* QEMU's report when SNP_LAUNCH_UPDATE refuses the CPUID page: one line per entry the firmware
 * changed ("function 0x.., index 0x..: provided eax .. ebx .. ecx .. edx .., expected ..."), written
 * into out (cap bytes, NUL-terminated, truncated with "..."). Returns the number of entries that differ
 * (a count that differs is one line and returns 1). */
MC_API unsigned mc_snp_cpuid_mismatches(const uint8_t sent[4096], const uint8_t corrected[4096], char *out, size_t cap);

MC_END_DECLS

#endif
