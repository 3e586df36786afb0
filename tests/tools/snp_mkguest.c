/* snp_mkguest — makes a saved SEV-SNP guest for the interposer's tests (until `memcrypt run --save`
 * launches SNP domains): on the chip of STATE (made when missing), an SNP guest is launched in
 * KVM's order (a data page, the secrets page, a CPUID page, a VMSA; HOST_DATA), and saved to GUEST
 * (memcrypt/migrate.h kind 3). Prints "measurement HEX" (the firmware's launch digest, as a report
 * from inside the guest gives it) and "host_data HEX".
 * Usage: snp_mkguest STATE GUEST [PLATFORM [SEED]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/machine.h>
#include <memcrypt/migrate.h>
#include <memcrypt/psp.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>

#define MEM (4ull << 20)
#define SECRETS 0x1000ull
#define CPUID_PG 0x2000ull

static void digest_log(void *ctx, const struct mc_psp_snp_page *p) { memcpy(ctx, p->digest, 48); }

static int fail(const char *what, const struct mc_error *e)
{
    fprintf(stderr, "snp_mkguest: %s: %s\n", what, e->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: snp_mkguest STATE GUEST [PLATFORM [SEED]]\n");
        return 2;
    }
    const char *platform = argc > 3 ? argv[3] : "milan";
    struct mc_error e = {0};
    struct mc_board_config bc;
    if (mc_board_config_init(&bc, platform, &e))
        return fail("platform", &e);
    bc.machine.dram_size = 64ull << 20;
    if (argc > 4) {
        bc.machine.seed = (const uint8_t *)argv[4];
        bc.machine.seed_len = strlen(argv[4]);
    }
    bc.fw.state_path = argv[1];
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    struct mc_board *b = NULL;
    if (mc_board_create(&bc, &b, &e))
        return fail("board", &e);
    struct mc_machine *m = mc_board_machine(b);
    struct mc_fault f;
    uint64_t hwcr;
    uint32_t fs = 0;
    if (mc_machine_rdmsr(m, MC_MSR_HWCR, &hwcr, &f, &e) || mc_machine_wrmsr(m, MC_MSR_HWCR, hwcr | MC_HWCR_SMMLOCK, &f, &e) ||
        mc_board_snp_enable(b, &e) || mc_board_fw(b, MC_SEV_CMD_SNP_INIT, NULL, 0, &fs, &e) ||
        mc_board_df_flush(b, &fs, &e))
        return fail("SNP bring-up", &e);
    struct mc_vm_config c = {.vcpus = 1, .mem_size = MEM, .snp = true, .snp_policy = 0x30000};
    struct mc_vm *vm = NULL;
    if (mc_vm_create(mc_board_vmm(b), &c, &vm, NULL, &e))
        return fail("VM", &e);
    uint8_t page[4096], cpuid[4096] = {0}, vmsa[4096], host_data[32], ld[48] = {0};
    memset(page, 0x5A, sizeof page);
    for (int i = 0; i < 32; i++)
        host_data[i] = (uint8_t)(0xC0 + i);
    mc_put_le32(cpuid, 1);
    mc_put_le32(cpuid + 0x10 + 0x18, 0x10);
    struct mc_vmsa_params p = {.eip = 0xfffffff0u, .sev_features = MC_SEV_FEATURES_SNP_ACTIVE, .vcpu_sig = 0x00A00F11};
    mc_vmsa_build(&p, vmsa);
    mc_psp_set_snp_log(mc_board_psp(b), digest_log, ld);
    if (mc_vm_snp_launch_update(vm, 0, page, sizeof page, MC_SNP_PT_NORMAL, 0, &e) ||
        mc_vm_snp_launch_update(vm, SECRETS, NULL, 4096, MC_SNP_PT_SECRETS, 0, &e) ||
        mc_vm_snp_launch_update(vm, CPUID_PG, cpuid, 4096, MC_SNP_PT_CPUID, 0, &e) ||
        mc_vm_snp_launch_vmsa(vm, 0, vmsa, &e) || mc_vm_snp_launch_finish(vm, NULL, NULL, 0, host_data, &e))
        return fail("launch", &e);
    mc_psp_set_snp_log(mc_board_psp(b), NULL, NULL);
    uint8_t *file = NULL;
    size_t len = 0;
    if (mc_guest_save(b, &vm, NULL, &file, &len, &e) || mc_file_write_atomic(argv[2], file, len, &e))
        return fail("save", &e);
    free(file);
    mc_board_destroy(b);
    printf("measurement ");
    for (int i = 0; i < 48; i++)
        printf("%02x", ld[i]);
    printf("\nhost_data ");
    for (int i = 0; i < 32; i++)
        printf("%02x", host_data[i]);
    printf("\n");
    return 0;
}
