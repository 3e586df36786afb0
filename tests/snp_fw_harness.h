/* Shared set-up for the SEV-SNP firmware tests, fuzzer and benchmark: a board with the RMP the BIOS
 * reserved at the top of DRAM, the host's SNP bring-up (mc_board_snp_enable: table zeroed, SYSCFG
 * MFDM/SNP_EN/VMPL_EN; HWCR.SmmLock as the BIOS sets it), command helpers through the host driver's
 * mailbox, and RMP entries written with the RMP unit's raw firmware write (mc_rmp_fw_write: what a
 * test needs to build any page state, including the ones no instruction makes). */
#ifndef SNP_FW_HARNESS_H
#define SNP_FW_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/cpu.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>
#include <memcrypt/snp_api.h>

#include "crypto/crypto.h"

#define SFW_DRAM (64ull << 20)
#define SFW_RMP_BASE (SFW_DRAM - (1ull << 20)) /* 1 MiB at the top: 16 KiB + 16 B per page of 64 MiB */
#define SFW_RMP_END (SFW_DRAM - 1)
#define SFW_CMD 0x10000ull   /* the driver's command page */
#define SFW_OUT 0x20000ull   /* an output page (Firmware or hypervisor as a test needs) */
#define SFW_DATA 0x30000ull  /* host data: lists, ID blocks, wrapped VLEKs */
#define SFW_GCTX 0x40000ull  /* a guest context page */
#define SFW_GCTX2 0x41000ull
#define SFW_GUEST 0x400000ull /* guest pages (a 2 MiB aligned region) */
#define SFW_POOL_END (SFW_RMP_BASE - (1ull << 20))

struct sfw {
    struct mc_board *b;
    struct mc_machine *m;
    struct mc_psp *psp;
    struct mc_rmp *rmp;
    struct mc_error err;
    uint32_t last;
};

static const char *sfw_seed = "snp-fw-test";

typedef void (*sfw_tweak_fn)(struct mc_board_config *bc);

static inline int sfw_open(struct sfw *t, const char *platform, const char *state, sfw_tweak_fn tweak)
{
    memset(t, 0, sizeof *t);
    struct mc_board_config bc;
    if (mc_board_config_init(&bc, platform, &t->err) != MC_OK)
        return -1;
    bc.machine.dram_size = SFW_DRAM;
    bc.machine.seed = (const uint8_t *)sfw_seed;
    bc.machine.seed_len = strlen(sfw_seed);
    bc.fw.num_cores = 2;
    bc.fw.root_bits = 2048;
    bc.fw.state_path = state;
    bc.mbox_pa = SFW_CMD;
    bc.pool_base = 2ull << 20;
    bc.pool_size = SFW_POOL_END - bc.pool_base;
    if (bc.fw.snp)
        bc.rmp_size = SFW_RMP_END - SFW_RMP_BASE + 1;
    if (tweak)
        tweak(&bc);
    if (mc_board_create(&bc, &t->b, &t->err) != MC_OK) {
        fprintf(stderr, "board: %s\n", t->err.msg);
        return -1;
    }
    t->m = mc_board_machine(t->b);
    t->psp = mc_board_psp(t->b);
    t->rmp = mc_board_rmp(t->b);
    uint64_t base = 0, end = 0;
    mc_rmp_bounds(t->rmp, &base, &end);
    if (bc.fw.snp && (!t->rmp || base != SFW_RMP_BASE || end != SFW_RMP_END)) {
        fprintf(stderr, "board: the RMP is not at 0x%llx\n", (unsigned long long)SFW_RMP_BASE);
        return -1;
    }
    return 0;
}

static inline void sfw_close(struct sfw *t)
{
    mc_board_destroy(t->b);
    memset(t, 0, sizeof *t);
}

/* What Linux does before SNP_INIT (snp_rmptable_init: the table zeroed, MFDM, then SNP_EN and
 * VMPL_EN), with HWCR.SmmLock set as the BIOS leaves it. */
static inline int sfw_cpu_snp(struct sfw *t)
{
    struct mc_fault f;
    uint64_t v;
    if (mc_board_snp_enable(t->b, &t->err) || mc_machine_rdmsr(t->m, MC_MSR_HWCR, &v, &f, &t->err) ||
        mc_machine_wrmsr(t->m, MC_MSR_HWCR, v | MC_HWCR_SMMLOCK, &f, &t->err))
        return -1;
    return 0;
}

static inline uint32_t sfw_cmd(struct sfw *t, uint32_t cmd, void *buf, size_t len)
{
    uint32_t st = 0xFFFF;
    mc_board_fw(t->b, cmd, buf, len, &st, &t->err);
    t->last = st;
    return st;
}

static inline void sfw_write(struct sfw *t, uint64_t pa, const void *b, size_t n)
{
    struct mc_fault f;
    if (mc_machine_phys_write(t->m, pa, b, n, &f, NULL) != MC_OK)
        fprintf(stderr, "sfw_write 0x%llx failed\n", (unsigned long long)pa);
}
static inline void sfw_read(struct sfw *t, uint64_t pa, void *b, size_t n)
{
    struct mc_fault f;
    if (mc_machine_phys_read(t->m, pa, b, n, &f, NULL) != MC_OK)
        fprintf(stderr, "sfw_read 0x%llx failed\n", (unsigned long long)pa);
}

/* RMP entries, through the RMP unit (its raw firmware write keeps its counters and caches right). */
static inline void sfw_rmp_get(struct sfw *t, uint64_t pa, struct mc_rmp_entry *e)
{
    if (mc_rmp_fw_read(t->rmp, pa, e, NULL, NULL) != MC_OK)
        fprintf(stderr, "sfw_rmp_get 0x%llx failed\n", (unsigned long long)pa);
}
static inline void sfw_rmp_put(struct sfw *t, uint64_t pa, const struct mc_rmp_entry *e)
{
    if (mc_rmp_fw_write(t->rmp, pa, e, NULL) != MC_OK)
        fprintf(stderr, "sfw_rmp_put 0x%llx failed\n", (unsigned long long)pa);
}
static inline enum mc_rmp_page_state sfw_rmp_state(struct sfw *t, uint64_t pa)
{
    struct mc_rmp_entry e;
    enum mc_rmp_page_state st = MC_RMP_PS_INVALID;
    mc_rmp_fw_read(t->rmp, pa, &e, &st, NULL);
    return st;
}
/* The states a test needs (a host makes Firmware pages with RMPUPDATE, Pre-Guest pages with
 * RMPUPDATE's Immutable bit, as KVM does before SNP_LAUNCH_UPDATE). */
static inline void sfw_make_fw(struct sfw *t, uint64_t pa)
{
    struct mc_rmp_entry e = {.assigned = 1, .immutable = 1};
    sfw_rmp_put(t, pa, &e);
}
static inline void sfw_make_hv(struct sfw *t, uint64_t pa)
{
    struct mc_rmp_entry e = {0};
    sfw_rmp_put(t, pa, &e);
}
/* A Pre-Guest page (4 KiB) or 2 MiB region (all 512 entries, GPAs consecutive, as the unit mirrors
 * a 2 MiB entry). */
static inline void sfw_make_preguest(struct sfw *t, uint64_t pa, uint32_t asid, uint64_t gpa, int big)
{
    struct mc_rmp_entry e = {.assigned = 1, .immutable = 1, .asid = asid, .gpa = gpa, .large = big,
                             .perm = {MC_VMPL_ALL}};
    for (unsigned i = 0; i < (big && !(pa & 0x1FFFFF) ? 512u : 1u); i++) {
        e.gpa = gpa + 4096ull * i;
        sfw_rmp_put(t, pa + 4096ull * i, &e);
    }
}

/* n Hypervisor pages from pa (an ASID's pages given back, as KVM does before reusing the ASID). */
static inline void sfw_make_hv_n(struct sfw *t, uint64_t pa, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        sfw_make_hv(t, pa + 4096ull * i);
}

/* A physical attacker's write into DRAM (the raw port, after the caches were written back). */
static inline void sfw_dram_write(struct sfw *t, uint64_t pa, const void *b, size_t n)
{
    if (mc_board_wbinvd(t->b, &t->err) != MC_OK || mc_dram_write(mc_machine_dram(t->m), pa, b, n, &t->err) != MC_OK)
        fprintf(stderr, "sfw_dram_write 0x%llx failed: %s\n", (unsigned long long)pa, t->err.msg);
}

/* What the guest (ASID asid) reads at pa: its private view (the memory controller with its key). */
static inline int sfw_guest_read(struct sfw *t, uint32_t asid, uint64_t pa, void *b, size_t n)
{
    struct memctl_access a = {.addr = pa, .size = n, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_GUEST, .asid = asid,
                          .guest_c = true};
    struct mc_fault f;
    return memctl_read(mc_machine_memctl(t->m), &a, b, &f, NULL) == MC_OK ? 0 : -1;
}

/* Refused with `want` and nothing changed (firmware, RMP, watched pages). */
#define REFUSED(t, call, want)                                                                     \
    do {                                                                                           \
        uint8_t s0_[32], s1_[32];                                                                  \
        sfw_snap(t, s0_);                                                                          \
        uint32_t st_ = (call);                                                                     \
        sfw_snap(t, s1_);                                                                          \
        CHECK_MSG(st_ == (want), "%s: status 0x%x (%s), want 0x%x (%s): %s", #call, st_,            \
                  mc_fw_status_name(st_), (unsigned)(want), mc_fw_status_name(want), (t)->err.msg);  \
        CHECK_MSG(memcmp(s0_, s1_, 32) == 0, "%s changed state", #call);                            \
    } while (0)

static inline uint32_t sfw_paddr_cmd(struct sfw *t, uint32_t cmd, uint64_t pa)
{
    uint8_t b[8];
    mc_put_le64(b, pa);
    return sfw_cmd(t, cmd, b, sizeof b);
}

static inline uint32_t sfw_init(struct sfw *t) { return sfw_cmd(t, MC_SEV_CMD_SNP_INIT, NULL, 0); }

/* SNP_INIT, then WBINVD + DF_FLUSH, as Linux does. */
static inline uint32_t sfw_up(struct sfw *t)
{
    if (sfw_cpu_snp(t))
        return 0xFFFF;
    uint32_t st = sfw_init(t);
    if (!st)
        mc_board_df_flush(t->b, &st, &t->err);
    return st;
}

static inline uint32_t sfw_platform_status(struct sfw *t, uint8_t out[0x20])
{
    sfw_make_fw(t, SFW_OUT);
    uint32_t st = sfw_paddr_cmd(t, MC_SEV_CMD_SNP_PLATFORM_STATUS, SFW_OUT);
    sfw_read(t, SFW_OUT, out, 0x20);
    return st;
}

static inline uint32_t sfw_gctx_create(struct sfw *t, uint64_t pa)
{
    sfw_make_fw(t, pa);
    return sfw_paddr_cmd(t, MC_SEV_CMD_SNP_GCTX_CREATE, pa);
}

static inline uint32_t sfw_activate(struct sfw *t, uint64_t gctx, uint32_t asid)
{
    uint8_t b[sizeof(struct mc_snp_activate)] = {0};
    mc_put_le64(b + offsetof(struct mc_snp_activate, gctx_paddr), gctx);
    mc_put_le32(b + offsetof(struct mc_snp_activate, asid), asid);
    return sfw_cmd(t, MC_SEV_CMD_SNP_ACTIVATE, b, sizeof b);
}

static inline uint32_t sfw_launch_start(struct sfw *t, uint64_t gctx, uint64_t policy)
{
    uint8_t b[sizeof(struct mc_snp_launch_start)] = {0};
    mc_put_le64(b + offsetof(struct mc_snp_launch_start, gctx_paddr), gctx);
    mc_put_le64(b + offsetof(struct mc_snp_launch_start, policy), policy);
    return sfw_cmd(t, MC_SEV_CMD_SNP_LAUNCH_START, b, sizeof b);
}

static inline uint32_t sfw_launch_update(struct sfw *t, uint64_t gctx, uint64_t page, unsigned type, int big,
                                         uint32_t perms)
{
    uint8_t b[sizeof(struct mc_snp_launch_update)] = {0};
    mc_put_le64(b + offsetof(struct mc_snp_launch_update, gctx_paddr), gctx);
    mc_put_le32(b + offsetof(struct mc_snp_launch_update, flags), (big ? 1u : 0u) | type << 1);
    mc_put_le64(b + offsetof(struct mc_snp_launch_update, page_paddr), page);
    mc_put_le32(b + offsetof(struct mc_snp_launch_update, perms), perms);
    return sfw_cmd(t, MC_SEV_CMD_SNP_LAUNCH_UPDATE, b, sizeof b);
}

static inline uint32_t sfw_launch_finish(struct sfw *t, uint64_t gctx, uint64_t flags, uint64_t idb, uint64_t ida,
                                         const uint8_t host_data[32])
{
    uint8_t b[sizeof(struct mc_snp_launch_finish)] = {0};
    mc_put_le64(b + offsetof(struct mc_snp_launch_finish, gctx_paddr), gctx);
    mc_put_le64(b + offsetof(struct mc_snp_launch_finish, id_block_paddr), idb);
    mc_put_le64(b + offsetof(struct mc_snp_launch_finish, id_auth_paddr), ida);
    mc_put_le64(b + offsetof(struct mc_snp_launch_finish, flags), flags);
    if (host_data)
        memcpy(b + offsetof(struct mc_snp_launch_finish, host_data), host_data, 32);
    return sfw_cmd(t, MC_SEV_CMD_SNP_LAUNCH_FINISH, b, sizeof b);
}

static inline uint32_t sfw_guest_status(struct sfw *t, uint64_t gctx, uint8_t out[0x20])
{
    sfw_make_fw(t, SFW_OUT);
    uint8_t b[sizeof(struct mc_snp_guest_status_cmd)] = {0};
    mc_put_le64(b, gctx);
    mc_put_le64(b + 8, SFW_OUT);
    uint32_t st = sfw_cmd(t, MC_SEV_CMD_SNP_GUEST_STATUS, b, sizeof b);
    sfw_read(t, SFW_OUT, out, 0x20);
    return st;
}

/* A firmware snapshot plus the RMP's bytes and the pages a test watches (GCTX pages, the first
 * guest page): equal digests = nothing changed. */
static inline void sfw_snap(struct sfw *t, uint8_t d[32])
{
    static uint8_t buf[(1 << 20) + 3 * 4096];
    if (mc_psp_snapshot(t->psp, buf, NULL) != MC_OK) {
        memset(d, 0xEE, 32);
        return;
    }
    sfw_read(t, SFW_RMP_BASE, buf + 32, (1 << 20) - 32);
    sfw_read(t, SFW_GCTX, buf + (1 << 20), 2 * 4096);
    sfw_read(t, SFW_GUEST, buf + (1 << 20) + 2 * 4096, 4096);
    if (mc_sha256(buf, sizeof buf, d, NULL) != MC_OK)
        memset(d, 0xEE, 32);
}

#endif
