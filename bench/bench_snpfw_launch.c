/* Benchmark: SEV-SNP launch through the emulated firmware, in KVM's order.
 * For each guest size (MiB, arguments; default 1024): Linux's SNP bring-up (RMP zeroed, SNP_EN),
 * SNP_INIT, WBINVD + DF_FLUSH, GCTX_CREATE, LAUNCH_START, ACTIVATE; then per 2 MiB of guest RAM the
 * host writes the plaintext, RMPUPDATEs the region to a Pre-Guest 2 MiB page and issues
 * SNP_LAUNCH_UPDATE (NORMAL: the firmware measures the 512 pages into the launch digest and
 * encrypts them in place under the guest's key); then LAUNCH_FINISH. Prints SNP_LAUNCH_UPDATE
 * throughput (wall and per CPU second) and the whole launch time (bring-up included). Baseline in
 * the same run, after each command: the measurement the ABI makes the firmware compute for the
 * same 2 MiB (SHA-384 of every 4 KiB page and of its 112-byte PAGE_INFO), timed the same way —
 * the floor of SNP_LAUNCH_UPDATE on one core.
 * Usage: bench_snpfw_launch [MiB ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/engine.h>
#include <memcrypt/lcpu.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>
#include <memcrypt/snp_api.h>

#include "bench_target.h"
#include "crypto/crypto.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

#define F(S, f) offsetof(struct S, f)
#define CHUNK (2ull << 20)

static int fail(const char *what, uint32_t fw, const struct mc_error *err)
{
    fprintf(stderr, "%s: status 0x%x: %s\n", what, fw, err->msg);
    return 1;
}

static int one(unsigned mib)
{
    const uint64_t mem = (uint64_t)mib << 20, guest = 64ull << 20, gctx = 0x200000;
    struct mc_board_config bc;
    struct mc_error err = {0};
    if (mc_board_config_init(&bc, "milan", &err))
        return fail("board", 0, &err);
    bc.machine.dram_size = guest + mem + (64ull << 20);
    bc.machine.seed = (const uint8_t *)"bench";
    bc.machine.seed_len = 5;
    bc.fw.root_bits = 2048;
    bc.hypervisor = false;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    struct mc_board *b;
    uint8_t *buf = malloc(CHUNK);
    if (!buf || mc_board_create(&bc, &b, &err))
        return fail("setup", 0, &err);
    struct mc_machine *m = mc_board_machine(b);
    struct mc_rmp *r = mc_board_rmp(b);
    for (uint64_t i = 0; i < CHUNK; i++)
        buf[i] = (uint8_t)(i * 131 + (i >> 12));
    uint32_t fw = 0, eax = 0;
    struct mc_fault f;
    double t0 = now();
    uint64_t v;
    if (mc_board_snp_enable(b, &err) || mc_machine_rdmsr(m, MC_MSR_HWCR, &v, &f, &err) ||
        mc_machine_wrmsr(m, MC_MSR_HWCR, v | MC_HWCR_SMMLOCK, &f, &err))
        return fail("SNP bring-up", 0, &err);
    if (mc_board_fw(b, MC_SEV_CMD_SNP_INIT, NULL, 0, &fw, &err) || mc_board_df_flush(b, &fw, &err))
        return fail("SNP_INIT", fw, &err);
    const struct mc_rmp_state fwpage = {.assigned = 1, .immutable = 1};
    if (mc_rmp_rmpupdate(r, gctx, &fwpage, &eax, &f, &err) || eax)
        return fail("RMPUPDATE (context page)", eax, &err);
    uint8_t p[8];
    mc_put_le64(p, gctx);
    uint8_t ls[sizeof(struct mc_snp_launch_start)] = {0};
    mc_put_le64(ls + F(mc_snp_launch_start, gctx_paddr), gctx);
    mc_put_le64(ls + F(mc_snp_launch_start, policy), 0x30000);
    uint8_t ac[sizeof(struct mc_snp_activate)] = {0};
    mc_put_le64(ac + F(mc_snp_activate, gctx_paddr), gctx);
    mc_put_le32(ac + F(mc_snp_activate, asid), 1);
    if (mc_board_fw(b, MC_SEV_CMD_SNP_GCTX_CREATE, p, sizeof p, &fw, &err) ||
        mc_board_fw(b, MC_SEV_CMD_SNP_LAUNCH_START, ls, sizeof ls, &fw, &err) ||
        mc_board_fw(b, MC_SEV_CMD_SNP_ACTIVATE, ac, sizeof ac, &fw, &err))
        return fail("GCTX_CREATE/LAUNCH_START/ACTIVATE", fw, &err);
    double t1 = now(), c1 = cpu(), in_fw = 0, in_fw_cpu = 0, floor_cpu = 0;
    for (uint64_t off = 0; off < mem; off += CHUNK) {
        const uint64_t spa = guest + off;
        struct mc_fault wf;
        /* QEMU copies the image with a bulk copy: non-temporal whole-line runs through the host
         * CPU's access path (the RMP host-write check included). */
        if (mc_lcpu_access(mc_machine_cpu(m), spa, NULL, buf, CHUNK, 0, MEMCTL_ACC_F_STREAM, &wf, &err))
            return fail("host write", 0, &err);
        const struct mc_rmp_state pre = {.gpa = off, .assigned = 1, .pagesize = 1, .immutable = 1, .asid = 1};
        if (mc_rmp_rmpupdate(r, spa, &pre, &eax, &f, &err) || eax)
            return fail("RMPUPDATE (guest region)", eax, &err);
        uint8_t lu[sizeof(struct mc_snp_launch_update)] = {0};
        mc_put_le64(lu + F(mc_snp_launch_update, gctx_paddr), gctx);
        mc_put_le32(lu + F(mc_snp_launch_update, flags), 1u | (uint32_t)MC_SNP_PT_NORMAL << 1);
        mc_put_le64(lu + F(mc_snp_launch_update, page_paddr), spa);
        double a = now(), ca = cpu();
        if (mc_board_fw(b, MC_SEV_CMD_SNP_LAUNCH_UPDATE, lu, sizeof lu, &fw, &err))
            return fail("SNP_LAUNCH_UPDATE", fw, &err);
        in_fw += now() - a;
        in_fw_cpu += cpu() - ca;
        double cf = cpu();
        uint8_t pi[0x70] = {0};
        for (uint64_t p4 = 0; p4 < CHUNK; p4 += 4096) {
            if (mc_sha384(buf + p4, 4096, pi + 0x30, &err) || mc_sha384(pi, sizeof pi, pi, &err))
                return fail("SHA-384", 0, &err);
        }
        floor_cpu += cpu() - cf;
    }
    double t2 = now(), c2 = cpu();
    uint8_t lf[sizeof(struct mc_snp_launch_finish)] = {0};
    mc_put_le64(lf + F(mc_snp_launch_finish, gctx_paddr), gctx);
    if (mc_board_fw(b, MC_SEV_CMD_SNP_LAUNCH_FINISH, lf, sizeof lf, &fw, &err))
        return fail("SNP_LAUNCH_FINISH", fw, &err);
    double t3 = now();
    double la = 0;
    FILE *lfp = fopen("/proc/loadavg", "r");
    if (lfp) {
        if (fscanf(lfp, "%lf", &la) != 1)
            la = 0;
        fclose(lfp);
    }
    c2 -= floor_cpu; /* the baseline is not part of the launch */
    t2 -= floor_cpu;
    t3 -= floor_cpu;
    printf("guest %5u MiB  SNP_LAUNCH_UPDATE %7.1f MB/s wall, %7.1f MB/s per CPU second (firmware only; "
           "measurement floor %.1f MB/s per CPU second, ratio %.2f)   "
           "update loop incl. host writes and RMPUPDATE %.2f s (%.2f CPU s)   whole launch %.2f s   engine %s   "
           "load %.1f\n",
           mib, (double)mem / 1e6 / in_fw, (double)mem / 1e6 / in_fw_cpu, (double)mem / 1e6 / floor_cpu,
           floor_cpu / in_fw_cpu, t2 - t1, c2 - c1, t3 - t0,
           mc_engine_impl_name(mc_engine_get_impl(mc_machine_engine(m))), la);
    bench_target("bench_snpfw_launch", "SNP_LAUNCH_UPDATE (2 MiB NORMAL pages), MB/s per CPU second",
                 (double)mem / 1e6 / in_fw_cpu, ">=", 500, "%u MiB guest; measurement floor %.0f MB/s (ratio %.2f)",
                 mib, (double)mem / 1e6 / floor_cpu, floor_cpu / in_fw_cpu);
    mc_board_destroy(b);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= one((unsigned)atoi(argv[i]));
    if (argc < 2)
        rc = one(1024);
    return rc;
}
