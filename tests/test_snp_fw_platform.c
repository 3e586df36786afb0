/* The SEV-SNP firmware's platform commands: SNP_INIT(_EX) and the RMP it sets up, SNP_SHUTDOWN(_EX),
 * SNP_PLATFORM_STATUS, SNP_DF_FLUSH, SNP_CONFIG, SNP_COMMIT, SNP_VLEK_LOAD, SNP_FEATURE_INFO, the
 * TCB model and its persistence, and the legacy SEV commands next to SNP. Every refusal is checked
 * for its status (in AMD's check order) and for an unchanged firmware, RMP and watched pages. */
#include <stdlib.h>
#include <unistd.h>

#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>

#include "check.h"
#include "snp_fw_harness.h"

#define F(S, f) offsetof(struct S, f)

static uint32_t init_ex(struct sfw *t, uint32_t flags, uint64_t list, int rsvd_at)
{
    uint8_t b[sizeof(struct mc_snp_init_ex)] = {0};
    mc_put_le32(b + F(mc_snp_init_ex, flags), flags);
    mc_put_le64(b + F(mc_snp_init_ex, list_paddr), list);
    if (rsvd_at >= 0)
        b[rsvd_at] = 1;
    return sfw_cmd(t, MC_SEV_CMD_SNP_INIT_EX, b, sizeof b);
}

static uint32_t shutdown_ex(struct sfw *t, uint32_t len, uint32_t flags)
{
    uint8_t b[8];
    mc_put_le32(b, len);
    mc_put_le32(b + 4, flags);
    return sfw_cmd(t, MC_SEV_CMD_SNP_SHUTDOWN_EX, b, sizeof b);
}

static void test_status_uninit(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    uint8_t o[0x20];
    /* SNP UNINIT: the output page may be any page. */
    sfw_make_hv(&t, SFW_OUT);
    CHECK_EQ_U64(sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_PLATFORM_STATUS, SFW_OUT), 0);
    sfw_read(&t, SFW_OUT, o, sizeof o);
    const struct mc_psp_config *c = mc_board_fw_config(t.b);
    CHECK_EQ_U64(o[0], c->api_major);
    CHECK_EQ_U64(o[1], c->api_minor);
    CHECK_EQ_U64(o[2], MC_SNP_PSTATE_UNINIT);
    CHECK_EQ_U64(o[3], 0);
    CHECK_EQ_U64(mc_le32(o + 4), c->build);
    CHECK_EQ_U64(mc_le32(o + 8), MC_SNP_PS_FEATURE_INFO);
    CHECK_EQ_U64(mc_le32(o + 12), 0);
    CHECK_EQ_U64(mc_le64(o + 16), mc_snp_tcb_factory(MC_SNP_GEN_MILAN));
    CHECK_EQ_U64(mc_le64(o + 24), mc_snp_tcb_factory(MC_SNP_GEN_MILAN));
    /* the 0x20 bytes must not cross a page; they must lie in DRAM */
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_PLATFORM_STATUS, SFW_OUT + 0xFF0), MC_FW_INVALID_PARAM);
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_PLATFORM_STATUS, SFW_DRAM), MC_FW_INVALID_ADDRESS);
    sfw_close(&t);
    /* A platform without SNP does not know the commands. */
    CHECK(sfw_open(&t, "rome", NULL, NULL) == 0);
    CHECK_EQ_U64(sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_PLATFORM_STATUS, SFW_OUT), MC_FW_INVALID_COMMAND);
    CHECK_EQ_U64(sfw_init(&t), MC_FW_INVALID_COMMAND);
    sfw_close(&t);
}

static void test_init_checks(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    struct mc_fault f;
    uint64_t sys;
    mc_machine_rdmsr(t.m, MC_MSR_SYSCFG, &sys, &f, NULL);
    /* SNP_EN off on the cores */
    REFUSED(&t, sfw_init(&t), MC_FW_INVALID_CONFIG);
    /* SNP_EN cannot be set without MFDM (the RMP unit answers #GP), so SNP_INIT still finds it off;
     * the RMP bounds (1 MiB aligned, inside DRAM, covering it) are the unit's SNP_EN rules too. */
    CHECK(mc_machine_wrmsr(t.m, MC_MSR_SYSCFG, sys | MC_SYSCFG_SNP_EN | MC_SYSCFG_VMPL_EN, &f, NULL) == MC_E_FAULT);
    REFUSED(&t, sfw_init(&t), MC_FW_INVALID_CONFIG);
    CHECK(strstr(t.err.msg, "SNP_EN") != NULL);
    /* no SmmLock (when the BIOS did not lock SMM already: the lock cannot be undone) */
    uint64_t hwcr;
    mc_machine_rdmsr(t.m, MC_MSR_HWCR, &hwcr, &f, NULL);
    CHECK(mc_board_snp_enable(t.b, &t.err) == MC_OK);
    if (!(hwcr & MC_HWCR_SMMLOCK)) {
        REFUSED(&t, sfw_init(&t), MC_FW_INVALID_CONFIG);
        CHECK(strstr(t.err.msg, "SmmLock") != NULL);
    }
    CHECK(sfw_cpu_snp(&t) == 0);
    /* INIT_EX: reserved fields and flags of later ABIs; no RMP yet without INIT_RMP */
    REFUSED(&t, init_ex(&t, MC_SNP_INIT_EX_INIT_RMP, 0, F(mc_snp_init_ex, rsvd)), MC_FW_INVALID_PARAM);
    REFUSED(&t, init_ex(&t, MC_SNP_INIT_EX_INIT_RMP, 0, 0x3F), MC_FW_INVALID_PARAM);
    REFUSED(&t, init_ex(&t, MC_SNP_INIT_EX_INIT_RMP, 0, F(mc_snp_init_ex, max_snp_asid)), MC_FW_INVALID_PARAM);
    REFUSED(&t, init_ex(&t, MC_SNP_INIT_EX_INIT_RMP | 4, 0, -1), MC_FW_INVALID_PARAM);
    REFUSED(&t, init_ex(&t, 0, 0, -1), MC_FW_RMP_INIT_REQUIRED);
    /* a list the firmware cannot use: too many entries, reserved bits, misaligned base */
    uint8_t list[64] = {0};
    mc_put_le32(list, 256);
    sfw_write(&t, SFW_DATA, list, sizeof list);
    REFUSED(&t, init_ex(&t, MC_SNP_INIT_EX_INIT_RMP | MC_SNP_INIT_EX_LIST_PADDR_EN, SFW_DATA, -1),
            MC_FW_INVALID_PARAM);
    mc_put_le32(list, 1);
    mc_put_le64(list + 8, SFW_GUEST + 0x10);
    mc_put_le32(list + 16, 1);
    sfw_write(&t, SFW_DATA, list, sizeof list);
    REFUSED(&t, init_ex(&t, MC_SNP_INIT_EX_INIT_RMP | MC_SNP_INIT_EX_LIST_PADDR_EN, SFW_DATA, -1),
            MC_FW_INVALID_PARAM);
    REFUSED(&t, init_ex(&t, MC_SNP_INIT_EX_INIT_RMP | MC_SNP_INIT_EX_LIST_PADDR_EN, SFW_DRAM, -1),
            MC_FW_INVALID_ADDRESS);
    sfw_close(&t);
    /* SEV first (before the host enabled SNP): SNP_INIT needs both UNINIT */
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    uint8_t ib[0x14] = {0};
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_INIT, ib, sizeof ib), 0);
    CHECK(sfw_cpu_snp(&t) == 0);
    REFUSED(&t, sfw_init(&t), MC_FW_INVALID_PLATFORM_STATE);
    CHECK(strstr(t.err.msg, "initialise SNP first") != NULL);
    sfw_close(&t);
}

static void test_init_rmp(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "genoa", NULL, NULL) == 0);
    /* garbage in the table before SNP_EN: the host's bring-up zeroes it, SNP_INIT marks the RMP's pages */
    struct mc_rmp_entry junk = {.assigned = 1, .asid = 5, .validated = 1, .gpa = 0x1234000};
    sfw_rmp_put(&t, SFW_GUEST, &junk);
    CHECK_EQ_U64(sfw_up(&t), 0);
    CHECK_EQ_U64(mc_psp_snp_state(t.psp), MC_SNP_PSTATE_INIT);
    struct mc_rmp_entry e;
    sfw_rmp_get(&t, SFW_GUEST, &e);
    CHECK(!e.assigned && !e.immutable && !e.asid && !e.validated && !e.gpa); /* Hypervisor */
    sfw_rmp_get(&t, SFW_RMP_BASE, &e);
    CHECK(e.assigned && e.immutable && !e.asid && !e.gpa && !e.vmsa); /* the RMP's own pages: Firmware */
    sfw_rmp_get(&t, SFW_RMP_END & ~0xFFFull, &e);
    CHECK(e.assigned && e.immutable);
    /* the bookkeeping counters: ASID 0 owns the RMP's own 256 pages */
    CHECK_EQ_U64(mc_rmp_asid_pages(t.rmp, 0), 256);
    uint8_t o[0x20];
    CHECK_EQ_U64(sfw_platform_status(&t, o), 0);
    CHECK_EQ_U64(o[2], MC_SNP_PSTATE_INIT);
    CHECK_EQ_U64(o[3], 1);
    /* once SNP is INIT the status page must be a Firmware page (or beyond the RMP) */
    sfw_make_hv(&t, SFW_OUT);
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_PLATFORM_STATUS, SFW_OUT), MC_FW_INVALID_PAGE_STATE);
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_PLATFORM_STATUS, SFW_RMP_BASE), MC_FW_INVALID_ADDRESS);
    /* twice */
    REFUSED(&t, sfw_init(&t), MC_FW_INVALID_PLATFORM_STATE);
    REFUSED(&t, init_ex(&t, MC_SNP_INIT_EX_INIT_RMP, 0, -1), MC_FW_INVALID_PLATFORM_STATE);
    sfw_close(&t);
}

static void test_init_ex(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    CHECK(sfw_cpu_snp(&t) == 0);
    uint8_t list[64] = {0};
    mc_put_le32(list, 2);
    mc_put_le64(list + 8, SFW_GUEST);
    mc_put_le32(list + 16, 3);
    mc_put_le64(list + 24, SFW_GUEST + 0x10000 + (1ull << 51)); /* the C-bit is ignored */
    mc_put_le32(list + 32, 1);
    sfw_write(&t, SFW_DATA, list, sizeof list);
    CHECK_EQ_U64(init_ex(&t, MC_SNP_INIT_EX_INIT_RMP | MC_SNP_INIT_EX_LIST_PADDR_EN, SFW_DATA, -1), 0);
    struct mc_rmp_entry e;
    for (int i = 0; i < 4; i++) {
        sfw_rmp_get(&t, SFW_GUEST + 0x1000ull * i, &e);
        CHECK_EQ_U64(e.immutable, i < 3);
        CHECK(!e.assigned);
    }
    sfw_rmp_get(&t, SFW_GUEST + 0x10000, &e);
    CHECK(e.immutable && !e.assigned);
    /* SHUTDOWN keeps the RMP: INIT_EX without INIT_RMP is fine; with LIST_PADDR_EN it is not */
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_SNP_SHUTDOWN, NULL, 0), MC_FW_DF_FLUSH_REQUIRED);
    uint32_t st;
    mc_board_df_flush(t.b, &st, NULL);
    CHECK_EQ_U64(st, 0);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_SNP_SHUTDOWN, NULL, 0), 0);
    REFUSED(&t, init_ex(&t, MC_SNP_INIT_EX_LIST_PADDR_EN, SFW_DATA, -1), MC_FW_INVALID_PARAM);
    CHECK_EQ_U64(init_ex(&t, 0, 0, -1), 0);
    sfw_rmp_get(&t, SFW_GUEST, &e);
    CHECK(e.immutable); /* still HV-Fixed: the table was kept */
    mc_board_df_flush(t.b, &st, NULL);
    /* SHUTDOWN_EX: length, reserved flags, X86_SNP_SHUTDOWN (not offered), then IOMMU */
    REFUSED(&t, shutdown_ex(&t, 4, 0), MC_FW_INVALID_PARAM);
    REFUSED(&t, shutdown_ex(&t, 8, 4), MC_FW_INVALID_PARAM);
    REFUSED(&t, shutdown_ex(&t, 8, MC_SNP_SHUTDOWN_IOMMU | MC_SNP_SHUTDOWN_X86), MC_FW_INVALID_PARAM);
    CHECK_EQ_U64(shutdown_ex(&t, 8, MC_SNP_SHUTDOWN_IOMMU), 0);
    /* UNINIT: SNP_SHUTDOWN(_EX) succeeds and does nothing, whatever the buffer says */
    CHECK_EQ_U64(shutdown_ex(&t, 0, 0xFF), 0);
    REFUSED(&t, init_ex(&t, 0, 0, -1), MC_FW_RMP_INIT_REQUIRED);
    CHECK_EQ_U64(init_ex(&t, MC_SNP_INIT_EX_INIT_RMP, 0, -1), 0);
    sfw_rmp_get(&t, SFW_GUEST, &e);
    CHECK(e.immutable && !e.assigned); /* re-initialised: the RMP is set up once per SNP_EN, HV-Fixed stays */
    sfw_rmp_get(&t, SFW_RMP_BASE, &e);
    CHECK(e.assigned && e.immutable && !e.asid); /* the RMP's own pages: Firmware */
    sfw_close(&t);
}

/* SEV and SNP on one firmware: one ASID table, SNP first, SEV's TMR and outputs on Firmware pages. */
static void test_legacy_next_to_snp(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    CHECK(sfw_cpu_snp(&t) == 0);
    uint8_t ib[0x14] = {0};
    /* SNP_EN set but no SNP_INIT: SEV's INIT refuses (it could not protect the RMP) */
    REFUSED(&t, sfw_cmd(&t, MC_SEV_CMD_INIT, ib, sizeof ib), MC_FW_INVALID_PLATFORM_STATE);
    CHECK_EQ_U64(sfw_init(&t), 0);
    uint32_t st;
    mc_board_df_flush(t.b, &st, NULL);
    CHECK_EQ_U64(st, 0);
    /* SEV-ES TMR: 2 MiB, 2 MiB aligned, Firmware pages */
    mc_put_le32(ib, MC_SEV_INIT_FLAG_ES);
    mc_put_le64(ib + 8, 0x1000000);
    mc_put_le32(ib + 0x10, 1u << 20);
    REFUSED(&t, sfw_cmd(&t, MC_SEV_CMD_INIT, ib, sizeof ib), MC_FW_INVALID_LENGTH);
    mc_put_le32(ib + 0x10, 2u << 20);
    mc_put_le64(ib + 8, 0x1100000);
    REFUSED(&t, sfw_cmd(&t, MC_SEV_CMD_INIT, ib, sizeof ib), MC_FW_INVALID_ADDRESS);
    mc_put_le64(ib + 8, 0x1000000);
    REFUSED(&t, sfw_cmd(&t, MC_SEV_CMD_INIT, ib, sizeof ib), MC_FW_INVALID_PAGE_STATE);
    for (uint64_t p = 0x1000000; p < 0x1200000; p += 0x1000)
        sfw_make_fw(&t, p);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_INIT, ib, sizeof ib), 0);
    /* SEV's INIT after SNP does not dirty the ASIDs again (they are SNP's too) */
    CHECK(!mc_psp_asid_dirty(t.psp, 1));
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_DF_FLUSH, NULL, 0), 0);
    /* a legacy command that writes its buffer back needs the buffer on a Firmware page, which then
     * becomes Reclaim */
    uint8_t ps[0x0C] = {0};
    sfw_make_hv(&t, SFW_CMD);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_PLATFORM_STATUS, ps, sizeof ps), MC_FW_INVALID_PAGE_STATE);
    sfw_make_fw(&t, SFW_CMD);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_PLATFORM_STATUS, ps, sizeof ps), 0);
    CHECK_EQ_U64(ps[2], MC_SEV_PSTATE_INIT);
    struct mc_rmp_entry e;
    sfw_rmp_get(&t, SFW_CMD, &e);
    CHECK(e.assigned && !e.immutable); /* Reclaim */
    sfw_make_hv(&t, SFW_CMD);
    /* GET_ID's output too */
    uint8_t gb[0x0C] = {0};
    mc_put_le64(gb, SFW_OUT);
    mc_put_le32(gb + 8, 0x40);
    sfw_make_hv(&t, SFW_OUT);
    sfw_make_fw(&t, SFW_CMD);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_GET_ID, gb, sizeof gb), MC_FW_INVALID_PAGE_STATE);
    sfw_make_fw(&t, SFW_CMD);
    sfw_make_fw(&t, SFW_OUT);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_GET_ID, gb, sizeof gb), 0);
    sfw_make_hv(&t, SFW_CMD);
    /* SNP_SHUTDOWN while SEV runs */
    REFUSED(&t, sfw_cmd(&t, MC_SEV_CMD_SNP_SHUTDOWN, NULL, 0), MC_FW_INVALID_PLATFORM_STATE);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0), 0);
    CHECK_EQ_U64(mc_psp_snp_state(t.psp), MC_SNP_PSTATE_INIT); /* SEV's SHUTDOWN leaves SNP running */
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_SNP_SHUTDOWN, NULL, 0), 0);
    sfw_close(&t);
}

static void test_df_flush(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    CHECK(sfw_cpu_snp(&t) == 0);
    CHECK_EQ_U64(sfw_init(&t), 0);
    CHECK(mc_psp_asid_dirty(t.psp, 1));
    /* SNP_DF_FLUSH is DF_FLUSH: every core must have done WBINVD */
    REFUSED(&t, sfw_cmd(&t, MC_SEV_CMD_SNP_DF_FLUSH, NULL, 0), MC_FW_WBINVD_REQUIRED);
    CHECK(mc_board_wbinvd(t.b, NULL) == MC_OK);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_SNP_DF_FLUSH, NULL, 0), 0);
    CHECK(!mc_psp_asid_dirty(t.psp, 1));
    sfw_close(&t);
}

static uint32_t config(struct sfw *t, uint64_t tcb, uint32_t flags, int rsvd_at)
{
    uint8_t b[sizeof(struct mc_snp_config)] = {0};
    mc_put_le64(b, tcb);
    mc_put_le32(b + 8, flags);
    if (rsvd_at >= 0)
        b[rsvd_at] = 0x80;
    return sfw_cmd(t, MC_SEV_CMD_SNP_CONFIG, b, sizeof b);
}

static uint32_t commit(struct sfw *t, uint32_t len)
{
    uint8_t b[4];
    mc_put_le32(b, len);
    return sfw_cmd(t, MC_SEV_CMD_SNP_COMMIT, b, sizeof b);
}

static void provisional(struct mc_board_config *bc) { bc->fw.snp_provisional = true; }

static void test_tcb_model(void)
{
    char dir[] = "/tmp/snpfw-tcb-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char state[64];
    snprintf(state, sizeof state, "%s/chip", dir);
    struct sfw t;
    CHECK(sfw_open(&t, "genoa", state, provisional) == 0);
    struct mc_psp_snp_tcb k;
    mc_psp_snp_tcb(t.psp, &k);
    uint64_t cur = mc_snp_tcb_factory(MC_SNP_GEN_GENOA);
    CHECK_EQ_U64(k.current, cur);
    CHECK(k.provisional);
    struct mc_snp_tcb d;
    mc_snp_tcb_decode(k.committed, MC_SNP_GEN_GENOA, &d);
    CHECK_EQ_U64(d.snp, 22); /* the committed firmware is one SNP SVN older */
    CHECK_EQ_U64(k.reported, k.committed);
    CHECK_EQ_U64(k.committed_ver[2] + 1, k.current_ver[2]);
    /* SNP_CONFIG: reserved bytes, a TCB above the committed one in any byte */
    REFUSED(&t, config(&t, 0, 0, 0x20), MC_FW_INVALID_PARAM);
    REFUSED(&t, config(&t, 0, 4, -1), MC_FW_INVALID_PARAM);
    REFUSED(&t, config(&t, cur, 0, -1), MC_FW_INVALID_PARAM);
    REFUSED(&t, config(&t, k.committed | (1ull << 24), 0, -1), MC_FW_INVALID_PARAM); /* a reserved byte */
    uint64_t older = mc_snp_tcb_encode(MC_SNP_GEN_GENOA, 0, 9, 0, 20, 80);
    CHECK_EQ_U64(config(&t, older, MC_SNP_CONFIG_MASK_CHIP_ID, -1), 0);
    uint8_t o[0x20];
    CHECK_EQ_U64(sfw_platform_status(&t, o), 0);
    CHECK_EQ_U64(mc_le64(o + 0x10), cur);
    CHECK_EQ_U64(mc_le64(o + 0x18), older);
    CHECK_EQ_U64(mc_le32(o + 8), MC_SNP_PS_FEATURE_INFO | MC_SNP_PS_MASK_CHIP_ID);
    /* SNP_COMMIT: length 4; then committed = current, SNP_CONFIG's TCB flushed */
    REFUSED(&t, commit(&t, 8), MC_FW_INVALID_PARAM);
    CHECK_EQ_U64(commit(&t, 4), 0);
    mc_psp_snp_tcb(t.psp, &k);
    CHECK(!k.provisional);
    CHECK_EQ_U64(k.committed, cur);
    CHECK_EQ_U64(k.reported, cur);
    sfw_close(&t);
    /* the state file keeps it: the same chip, another process */
    CHECK(sfw_open(&t, "genoa", state, provisional) == 0);
    mc_psp_snp_tcb(t.psp, &k);
    CHECK(!k.provisional);
    CHECK_EQ_U64(k.committed, cur);
    CHECK_EQ_U64(sfw_platform_status(&t, o), 0);
    CHECK_EQ_U64(mc_le32(o + 8), MC_SNP_PS_FEATURE_INFO | MC_SNP_PS_MASK_CHIP_ID); /* SNP_CONFIG's masks stay */
    sfw_close(&t);
    /* a chip file of another build of this program (version 1, no SNP section) still reads */
    unlink(state);
    char lock[80];
    snprintf(lock, sizeof lock, "%s.lock", state);
    unlink(lock);
    rmdir(dir);
}

static uint32_t feature_info(struct sfw *t, uint32_t len, uint32_t ecx, uint64_t out, uint8_t o[16])
{
    uint8_t b[16];
    mc_put_le32(b, len);
    mc_put_le32(b + 4, ecx);
    mc_put_le64(b + 8, out);
    uint32_t st = sfw_cmd(t, MC_SEV_CMD_SNP_FEATURE_INFO, b, sizeof b);
    if (o)
        sfw_read(t, out, o, 16);
    return st;
}

static void test_feature_info(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    uint8_t o[16];
    CHECK_EQ_U64(feature_info(&t, 16, 0, SFW_OUT, o), 0);
    CHECK_EQ_U64(mc_le32(o), 1);
    CHECK_EQ_U64(mc_le32(o + 4), MC_SNP_FI0_EBX_SEV_LEGACY);
    CHECK_EQ_U64(mc_le32(o + 8), MC_SNP_FI0_ECX_VLEK);
    CHECK_EQ_U64(feature_info(&t, 16, 1, SFW_OUT, o), 0);
    CHECK_EQ_U64(mc_le32(o), 0x107); /* CPUID, KEY, REPORT, TSC_INFO messages */
    REFUSED(&t, feature_info(&t, 12, 0, SFW_OUT, NULL), MC_FW_INVALID_PARAM);
    REFUSED(&t, feature_info(&t, 16, 0, SFW_OUT + 2, NULL), MC_FW_INVALID_ADDRESS);
    REFUSED(&t, feature_info(&t, 16, 0, SFW_OUT + 0xFF8, NULL), MC_FW_INVALID_ADDRESS);
    REFUSED(&t, feature_info(&t, 16, 2, SFW_OUT, NULL), MC_FW_INVALID_PARAM);
    CHECK_EQ_U64(sfw_up(&t), 0);
    sfw_make_hv(&t, SFW_OUT);
    REFUSED(&t, feature_info(&t, 16, 0, SFW_OUT, NULL), MC_FW_INVALID_PAGE_STATE);
    sfw_make_fw(&t, SFW_OUT);
    CHECK_EQ_U64(feature_info(&t, 16, 0, SFW_OUT, o), 0);
    sfw_close(&t);
}

static uint32_t vlek_load(struct sfw *t, uint32_t len, uint8_t ver, uint64_t pa)
{
    uint8_t b[16] = {0};
    mc_put_le32(b, len);
    b[4] = ver;
    mc_put_le64(b + 8, pa);
    return sfw_cmd(t, MC_SEV_CMD_SNP_VLEK_LOAD, b, sizeof b);
}

static void test_vlek_load(void)
{
    char dir[] = "/tmp/snpfw-vlek-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char state[64];
    snprintf(state, sizeof state, "%s/chip", dir);
    struct sfw t;
    CHECK(sfw_open(&t, "milan", state, NULL) == 0);
    struct mc_snp_identity *id = mc_psp_snp_identity(t.psp, &t.err);
    CHECK(id != NULL);
    uint8_t seed[48], w[MC_SNP_VLEK_WRAPPED_LEN];
    memset(seed, 0x5A, sizeof seed);
    struct mc_psp_snp_tcb k;
    mc_psp_snp_tcb(t.psp, &k);
    CHECK(mc_snp_vlek_wrap(id, seed, k.reported, NULL, w, &t.err) == MC_OK);
    sfw_write(&t, SFW_DATA, w, sizeof w);
    REFUSED(&t, vlek_load(&t, 8, 0, SFW_DATA), MC_FW_INVALID_PARAM);
    REFUSED(&t, vlek_load(&t, 16, 1, SFW_DATA), MC_FW_INVALID_PARAM);
    REFUSED(&t, vlek_load(&t, 16, 0, SFW_DRAM - 0x10), MC_FW_INVALID_ADDRESS);
    /* a hashstick for another TCB; an altered one */
    uint8_t bad[MC_SNP_VLEK_WRAPPED_LEN];
    CHECK(mc_snp_vlek_wrap(id, seed, k.reported + 1, NULL, bad, &t.err) == MC_OK);
    sfw_write(&t, SFW_DATA + 0x1000, bad, sizeof bad);
    REFUSED(&t, vlek_load(&t, 16, 0, SFW_DATA + 0x1000), MC_FW_BAD_SVN);
    memcpy(bad, w, sizeof bad);
    bad[0x40] ^= 1;
    sfw_write(&t, SFW_DATA + 0x1000, bad, sizeof bad);
    REFUSED(&t, vlek_load(&t, 16, 0, SFW_DATA + 0x1000), MC_FW_BAD_MEASUREMENT);
    CHECK_EQ_U64(vlek_load(&t, 16, 0, SFW_DATA), 0);
    uint8_t o[0x20];
    CHECK_EQ_U64(sfw_platform_status(&t, o), 0);
    CHECK(mc_le32(o + 8) & MC_SNP_PS_VLEK_EN);
    sfw_close(&t);
    /* kept in the state file; SNP_SHUTDOWN wipes it (for every later user of the chip too) */
    CHECK(sfw_open(&t, "milan", state, NULL) == 0);
    CHECK_EQ_U64(sfw_platform_status(&t, o), 0);
    CHECK(mc_le32(o + 8) & MC_SNP_PS_VLEK_EN);
    CHECK_EQ_U64(sfw_up(&t), 0);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_SNP_SHUTDOWN, NULL, 0), 0);
    CHECK_EQ_U64(sfw_platform_status(&t, o), 0);
    CHECK(!(mc_le32(o + 8) & MC_SNP_PS_VLEK_EN));
    sfw_close(&t);
    CHECK(sfw_open(&t, "milan", state, NULL) == 0);
    CHECK_EQ_U64(sfw_platform_status(&t, o), 0);
    CHECK(!(mc_le32(o + 8) & MC_SNP_PS_VLEK_EN));
    sfw_close(&t);
    unlink(state);
    char lock[80];
    snprintf(lock, sizeof lock, "%s.lock", state);
    unlink(lock);
    rmdir(dir);
}

int main(void)
{
    RUN(test_status_uninit);
    RUN(test_init_checks);
    RUN(test_init_rmp);
    RUN(test_init_ex);
    RUN(test_legacy_next_to_snp);
    RUN(test_df_flush);
    RUN(test_tcb_model);
    RUN(test_feature_info);
    RUN(test_vlek_load);
    return check_summary();
}
