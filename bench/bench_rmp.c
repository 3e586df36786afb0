/* Benchmark of SEV-SNP's RMP check on the guest path.
 *   bench_rmp [--passes N] [--json]   (N rounds, default 15)
 * One board (Milan, 128 MiB DRAM, the RMP reserved by the BIOS), one process, two guests of the
 * same shape: an SEV-ES guest created before SNP is enabled (no RMP check on its vCPU), and an SNP
 * guest created after (every guest page assigned to its ASID in 4 KiB RMP entries and validated,
 * the vCPU SNP-active: every access meets the RMP check). Each copies 16 MiB in 4 KiB guest pages
 * (mc_guest_copy: TLB, guest walk, nested walk, RMP check, controller with the guest's key); the
 * passes alternate between the two guests and the best pass of each counts (the host is shared:
 * other work only ever slows a pass down). A third figure runs the SNP guest with its verdicts
 * re-checked on every access (no TLB caching) to show what the cache buys. Times are the thread's
 * CPU time. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <memcrypt/board.h>
#include <memcrypt/guest.h>
#include <memcrypt/json.h>

#include "bench_target.h"
#include <memcrypt/rmp.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/vm.h>

#define G_SIZE (16ull << 20)
#define SRC_VA 0x10000000ull
#define DST_VA 0x40000000ull
#define G_MEM (2 * G_SIZE + (4ull << 20))

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A guest with src and dst regions (4 KiB guest pages) written once. */
static mc_status make_guest(struct mc_board *b, const uint8_t *pattern, struct mc_vm **out, struct mc_error *e)
{
    struct mc_vm_config vc = {.vcpus = 1, .mem_size = G_MEM, .policy = MC_SEV_POLICY_ES};
    struct mc_fault f;
    mc_status st = mc_vm_create(mc_board_vmm(b), &vc, out, NULL, e);
    if (!st)
        st = mc_guest_paging_init(*out, 2 * G_SIZE, 4ull << 20, e);
    if (!st)
        st = mc_guest_map(*out, SRC_VA, 0, G_SIZE, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, e);
    if (!st)
        st = mc_guest_map(*out, DST_VA, G_SIZE, G_SIZE, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, e);
    struct mc_vcpu *v = mc_vm_vcpu(*out, 0);
    for (uint64_t o = 0; !st && o < G_SIZE; o += 4096) {
        st = mc_guest_store(v, SRC_VA + o, pattern + o, 4096, false, &f, e);
        if (!st)
            st = mc_guest_store(v, DST_VA + o, pattern + o, 4096, false, &f, e);
    }
    return st;
}

/* What the SNP launch and the guest's acceptance leave: every guest page assigned to the VM's
 * ASID at its GPA (4 KiB entries) and validated; the vCPU SNP-active. */
static mc_status make_snp(struct mc_board *b, struct mc_vm *vm, struct mc_error *e)
{
    struct mc_rmp *r = mc_board_rmp(b);
    const uint64_t cmask = mc_machine_enc_bit(mc_board_machine(b));
    for (uint64_t gpa = 0; gpa < G_MEM; gpa += 4096) {
        uint64_t spa;
        struct mc_fault f;
        uint32_t eax = 0;
        mc_status st = mc_vm_npt_translate(vm, gpa, 0, &spa, &f, e);
        const struct mc_rmp_state s = {.gpa = gpa, .assigned = 1, .asid = mc_vm_asid(vm)};
        if (!st)
            st = mc_rmp_rmpupdate(r, spa & ~cmask, &s, &eax, &f, e);
        if (!st && eax)
            st = mc_seterr(e, MC_E_STATE, "RMPUPDATE: %s", mc_rmp_code_name(eax));
        struct mc_rmp_entry en;
        if (!st)
            st = mc_rmp_fw_read(r, spa & ~cmask, &en, NULL, e);
        en.validated = true;
        if (!st)
            st = mc_rmp_fw_write(r, spa & ~cmask, &en, e);
        if (st)
            return st;
    }
    mc_vm_set_snp(vm, true);
    return MC_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double copy_pass(struct mc_vm *vm, struct mc_error *e)
{
    struct mc_fault f;
    double t0 = now();
    if (mc_guest_copy(mc_vm_vcpu(vm, 0), DST_VA, SRC_VA, G_SIZE, &f, e))
        return -1;
    return (double)G_SIZE / 1e6 / (now() - t0);
}

static int check_copy(struct mc_vm *vm, const uint8_t *pattern)
{
    uint8_t page[4096];
    struct mc_fault f;
    for (uint64_t o = 0; o < G_SIZE; o += G_SIZE / 8)
        if (mc_guest_load(mc_vm_vcpu(vm, 0), DST_VA + o, page, 4096, false, &f, NULL) ||
            memcmp(page, pattern + o, 4096))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned passes = 15;
    int json = 0;
    static const struct option opts[] = {{"passes", required_argument, NULL, 'p'}, {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'p' && atoi(optarg) > 0)
            passes = (unsigned)atoi(optarg);
        else if (c == 'j')
            json = 1;
        else {
            fprintf(stderr, "usage: bench_rmp [--passes N] [--json]\n");
            return 2;
        }
    }
    uint8_t *pattern = malloc(G_SIZE);
    if (!pattern)
        return 1;
    for (uint64_t i = 0; i < G_SIZE; i++)
        pattern[i] = (uint8_t)(i * 131 + (i >> 12));
    struct mc_error e = {0};
    struct mc_board_config cfg;
    struct mc_board *b = NULL;
    struct mc_vm *es = NULL, *snp = NULL;
    int rc = 1;
    if (mc_board_config_init(&cfg, "milan", &e))
        goto out;
    cfg.machine.dram_size = 128ull << 20;
    cfg.machine.seed = (const uint8_t *)"bench-rmp";
    cfg.machine.seed_len = 9;
    cfg.fw.root_bits = 2048;
    cfg.rmp_size = MC_BOARD_RMP_AUTO;
    struct mc_sev_init in = {.flags = MC_SEV_INIT_FLAG_ES, .tmr_paddr = 0x100000, .tmr_len = MC_SEV_TMR_LEN};
    uint8_t init[sizeof in]; /* little-endian host: the packed struct is the buffer */
    memcpy(init, &in, sizeof in);
    if (mc_board_create(&cfg, &b, &e) || mc_board_fw(b, MC_SEV_CMD_INIT, init, sizeof init, NULL, &e) ||
        make_guest(b, pattern, &es, &e))
        goto out;
    if (mc_board_snp_enable(b, &e) || mc_rmp_fw_init_table(mc_board_rmp(b)) != MC_RMP_FW_OK ||
        make_guest(b, pattern, &snp, &e) || make_snp(b, snp, &e))
        goto out;
    /* Rounds of three adjacent passes: SEV-ES, SNP, SNP with uncached verdicts. The figures are
     * the best pass of each and the median over rounds of the SNP/SEV-ES ratio of one round. */
    struct mc_lcpu *cpu = mc_vcpu_cpu(mc_vm_vcpu(snp, 0));
    const uint32_t *epoch = mc_rmp_epoch(mc_board_rmp(b));
    double best_es = 0, best_snp = 0, best_nocache = 0;
    double *ratio = calloc(passes, sizeof *ratio), *ratio_nc = calloc(passes, sizeof *ratio_nc);
    if (!ratio || !ratio_nc) {
        free(ratio);
        free(ratio_nc);
        goto out;
    }
    copy_pass(es, &e); /* warm-up */
    copy_pass(snp, &e);
    for (unsigned p = 0; p < passes; p++) {
        double a = copy_pass(es, &e), s = copy_pass(snp, &e);
        mc_lcpu_set_check_epoch(cpu, NULL);
        double n = copy_pass(snp, &e);
        mc_lcpu_set_check_epoch(cpu, epoch);
        if (a < 0 || s < 0 || n < 0) {
            free(ratio);
            free(ratio_nc);
            goto out;
        }
        best_es = a > best_es ? a : best_es;
        best_snp = s > best_snp ? s : best_snp;
        best_nocache = n > best_nocache ? n : best_nocache;
        ratio[p] = s / a;
        ratio_nc[p] = n / a;
    }
    qsort(ratio, passes, sizeof *ratio, cmp_double);
    qsort(ratio_nc, passes, sizeof *ratio_nc, cmp_double);
    const double med = ratio[passes / 2], med_nc = ratio_nc[passes / 2];
    free(ratio);
    free(ratio_nc);
    if (check_copy(es, pattern) || check_copy(snp, pattern)) {
        fprintf(stderr, "bench_rmp: a guest copy's result differs\n");
        goto out;
    }
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "platform", "milan");
        mc_json_u64(&j, "bytes", G_SIZE);
        mc_json_u64(&j, "passes", passes);
        mc_json_double(&j, "guest_copy_sev_es_MBps", best_es);
        mc_json_double(&j, "guest_copy_snp_MBps", best_snp);
        mc_json_double(&j, "guest_copy_snp_uncached_checks_MBps", best_nocache);
        mc_json_double(&j, "snp_over_sev_es_best", best_snp / best_es);
        mc_json_double(&j, "snp_over_sev_es_median", med);
        mc_json_double(&j, "snp_uncached_over_sev_es_median", med_nc);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("guest copy, 16 MiB in 4 KiB pages (%u rounds of adjacent passes, thread CPU time)\n", passes);
        printf("  SEV-ES guest, no SNP          %8.1f MB/s (best)\n", best_es);
        printf("  SNP guest, RMP checks         %8.1f MB/s (best) = %.2fx; median ratio of a round %.2fx\n",
               best_snp, best_snp / best_es, med);
        printf("  SNP guest, checks uncached    %8.1f MB/s (best) = %.2fx; median ratio of a round %.2fx\n",
               best_nocache, best_nocache / best_es, med_nc);
        bench_target("bench_rmp", "SNP guest 4 KiB-page copy / same copy in an SEV-ES guest", med, ">=", 0.85,
                     "median of %u rounds; best %.0f vs %.0f MB/s", passes, best_snp, best_es);
    }
    rc = 0;
out:
    if (rc && e.msg[0])
        fprintf(stderr, "bench_rmp: %s\n", e.msg);
    mc_vm_destroy(snp);
    mc_vm_destroy(es);
    mc_board_destroy(b);
    free(pattern);
    return rc;
}
