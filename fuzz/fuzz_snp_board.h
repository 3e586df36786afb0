/* The platform the SNP guest fuzz targets start from: a Milan board (64 MiB DRAM, 2048-bit emulated
 * roots, an RMP the BIOS reserved) with SNP brought up as the Linux ccp driver does; and the small
 * SNP guest the saved-guest targets launch on a board of their own. */
#ifndef FUZZ_SNP_BOARD_H
#define FUZZ_SNP_BOARD_H

#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>

#include "crypto/crypto.h"

static inline mc_status fuzz_snp_board(const char *seed, struct mc_board **out, struct mc_error *e)
{
    mc_crypto_init();
    struct mc_board_config bc;
    mc_status s = mc_board_config_init(&bc, "milan", e);
    if (s)
        return s;
    bc.machine.dram_size = 64ull << 20;
    bc.machine.seed = (const uint8_t *)seed;
    bc.machine.seed_len = strlen(seed);
    bc.fw.root_bits = 2048;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    if ((s = mc_board_create(&bc, out, e)))
        return s;
    return mc_board_snp_init(*out, NULL, e);
}

/* A page of fuzz_snp_launch: its GPA and SNP page type (MC_SNP_PT_NORMAL pages hold 0x5A bytes; the
 * others' contents are the firmware's: zero, secrets, ...). */
struct fuzz_snp_page {
    uint64_t gpa;
    uint8_t type;
};

/* On a board with SNP up (mc_board_snp_init): a 1-vCPU SNP guest of mem bytes, policy 0x30000,
 * launched in KVM's order: SNP_LAUNCH_UPDATE of the n pages in order, one VMSA (the reset vector,
 * SNP active, Milan's CPUID signature), SNP_LAUNCH_FINISH. */
static inline mc_status fuzz_snp_launch(struct mc_board *b, uint64_t mem, const struct fuzz_snp_page *pages, size_t n,
                                        struct mc_vm **out, struct mc_error *e)
{
    struct mc_vm_config c = {.vcpus = 1, .mem_size = mem, .snp = true, .snp_policy = 0x30000};
    struct mc_vm *vm = NULL;
    mc_status s = mc_vm_create(mc_board_vmm(b), &c, &vm, NULL, e);
    uint8_t page[4096], vmsa[4096];
    memset(page, 0x5A, sizeof page);
    struct mc_vmsa_params p = {.eip = 0xfffffff0u, .sev_features = MC_SEV_FEATURES_SNP_ACTIVE, .vcpu_sig = 0x00A00F11};
    mc_vmsa_build(&p, vmsa);
    for (size_t i = 0; !s && i < n; i++) {
        bool normal = pages[i].type == MC_SNP_PT_NORMAL;
        s = mc_vm_snp_launch_update(vm, pages[i].gpa, normal ? page : NULL, sizeof page, pages[i].type, 0, e);
    }
    if (!s)
        s = mc_vm_snp_launch_vmsa(vm, 0, vmsa, e);
    if (!s)
        s = mc_vm_snp_launch_finish(vm, NULL, NULL, 0, NULL, e);
    if (s && vm)
        mc_vm_destroy(vm);
    else
        *out = vm;
    return s;
}

#endif
