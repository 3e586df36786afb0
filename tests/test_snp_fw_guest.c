/* SEV-SNP guest commands: SNP_GCTX_CREATE, SNP_ACTIVATE(_EX), SNP_GUEST_STATUS, SNP_LAUNCH_START,
 * SNP_LAUNCH_UPDATE (every page type), SNP_LAUNCH_FINISH (ID blocks and author keys),
 * SNP_DBG_DECRYPT/ENCRYPT, SNP_DECOMMISSION. Each status code the firmware can give, in its check
 * order, each refusal with the firmware, the RMP and the watched pages unchanged; hostile buffers:
 * misaligned addresses, pages in the wrong state or of another guest, reused contexts, ASIDs out of
 * range or owned, 2 MiB and 4 KiB entries that do not match. */
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memcrypt/idblock.h>
#include <memcrypt/measure.h>
#include <memcrypt/snp_guest_msg.h>

#include "check.h"
#include "snp_testlib.h"
#include "snp_fw_harness.h"

#define F(S, f) offsetof(struct S, f)
#define POLICY 0x30000ull
#define POLICY_DBG (POLICY | MC_SNP_POLICY_DEBUG)

static void log_last(void *ctx, const struct mc_psp_snp_page *p)
{
    struct mc_psp_snp_page *last = ctx;
    *last = *p;
    last->data = NULL;
}

static uint32_t activate_ex(struct sfw *t, uint32_t len, uint64_t gctx, uint32_t asid, uint32_t n, uint64_t ids)
{
    uint8_t b[sizeof(struct mc_snp_activate_ex)] = {0};
    mc_put_le32(b, len);
    mc_put_le64(b + F(mc_snp_activate_ex, gctx_paddr), gctx);
    mc_put_le32(b + F(mc_snp_activate_ex, asid), asid);
    mc_put_le32(b + F(mc_snp_activate_ex, numids), n);
    mc_put_le64(b + F(mc_snp_activate_ex, ids_paddr), ids);
    return sfw_cmd(t, MC_SEV_CMD_SNP_ACTIVATE_EX, b, sizeof b);
}

static uint32_t launch_start_ex(struct sfw *t, uint64_t gctx, uint64_t policy, uint32_t flags, uint64_t ma)
{
    uint8_t b[sizeof(struct mc_snp_launch_start)] = {0};
    mc_put_le64(b, gctx);
    mc_put_le64(b + 8, policy);
    mc_put_le64(b + 16, ma);
    mc_put_le32(b + 24, flags);
    return sfw_cmd(t, MC_SEV_CMD_SNP_LAUNCH_START, b, sizeof b);
}

static uint32_t update_raw(struct sfw *t, uint64_t gctx, uint32_t flags, uint64_t page, uint32_t perms, int rsvd)
{
    uint8_t b[sizeof(struct mc_snp_launch_update)] = {0};
    mc_put_le64(b, gctx);
    mc_put_le32(b + 8, flags);
    mc_put_le64(b + 16, page);
    mc_put_le32(b + 24, perms);
    if (rsvd)
        b[rsvd] = 1;
    return sfw_cmd(t, MC_SEV_CMD_SNP_LAUNCH_UPDATE, b, sizeof b);
}

static uint32_t dbg(struct sfw *t, bool enc, uint64_t gctx, uint64_t src, uint64_t dst)
{
    uint8_t b[24];
    mc_put_le64(b, gctx);
    mc_put_le64(b + 8, src);
    mc_put_le64(b + 16, dst);
    return sfw_cmd(t, enc ? MC_SEV_CMD_SNP_DBG_ENCRYPT : MC_SEV_CMD_SNP_DBG_DECRYPT, b, sizeof b);
}

/* A platform with SNP up and one guest launched to LAUNCH (activated on asid). */
static void up_launch(struct sfw *t, uint64_t policy, uint32_t asid)
{
    CHECK(sfw_open(t, "milan", NULL, NULL) == 0);
    CHECK_EQ_U64(sfw_up(t), 0);
    CHECK_EQ_U64(sfw_gctx_create(t, SFW_GCTX), 0);
    CHECK_EQ_U64(sfw_launch_start(t, SFW_GCTX, policy), 0);
    if (asid)
        CHECK_EQ_U64(sfw_activate(t, SFW_GCTX, asid), 0);
}

static void test_gctx_create(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    sfw_make_fw(&t, SFW_GCTX);
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_GCTX_CREATE, SFW_GCTX), MC_FW_INVALID_PLATFORM_STATE);
    CHECK_EQ_U64(sfw_up(&t), 0);
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_GCTX_CREATE, SFW_GCTX + 8), MC_FW_INVALID_PARAM);
    sfw_make_hv(&t, SFW_GCTX);
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_GCTX_CREATE, SFW_GCTX), MC_FW_INVALID_PAGE_STATE);
    struct mc_rmp_entry big = {.assigned = 1, .immutable = 1, .large = 1};
    sfw_rmp_put(&t, SFW_GCTX, &big);
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_GCTX_CREATE, SFW_GCTX), MC_FW_INVALID_PAGE_SIZE);
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_GCTX_CREATE, SFW_RMP_BASE), MC_FW_INVALID_ADDRESS);
    uint8_t before[4096], after[4096];
    memset(before, 0xA5, sizeof before);
    sfw_make_hv(&t, SFW_GCTX); /* the host fills the page while it is its own */
    sfw_write(&t, SFW_GCTX, before, sizeof before);
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX), 0);
    struct mc_rmp_entry e;
    sfw_rmp_get(&t, SFW_GCTX, &e);
    CHECK(e.assigned && e.immutable && e.vmsa && !e.asid && !e.gpa); /* Context */
    sfw_read(&t, SFW_GCTX, after, sizeof after);
    CHECK(!memcmp(after, "GCTX", 4));                                   /* the firmware's page ... */
    CHECK(after[0x2E0] != 0xA5 && after[0xFFF] == 0);                   /* ... cleared, */
    uint8_t gs[0x20];
    CHECK_EQ_U64(sfw_guest_status(&t, SFW_GCTX, gs), 0);
    CHECK_EQ_U64(gs[0x0C], MC_SNP_GSTATE_INIT);
    CHECK_EQ_U64(mc_le32(gs + 8), 0);
    /* a context page is not created twice */
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_GCTX_CREATE, SFW_GCTX), MC_FW_INVALID_PAGE_STATE);
    /* a Context page whose bytes were rewritten (a physical attacker) is not a guest any more */
    uint8_t page[4096];
    sfw_read(&t, SFW_GCTX, page, sizeof page);
    page[0x40] ^= 1;
    sfw_dram_write(&t, SFW_GCTX, page, sizeof page);
    REFUSED(&t, sfw_guest_status(&t, SFW_GCTX, gs), MC_FW_INVALID_GUEST);
    page[0x40] ^= 1;
    sfw_dram_write(&t, SFW_GCTX, page, sizeof page);
    CHECK_EQ_U64(sfw_guest_status(&t, SFW_GCTX, gs), 0);
    sfw_close(&t);
}

static void test_activate(void)
{
    struct sfw t;
    up_launch(&t, POLICY, 0);
    uint8_t gs[0x20];
    /* checks in order: reserved, state, context, guest state, RMP pages of the ASID, ASID range,
     * owned, active, SNP's ASID range, dirty */
    REFUSED(&t, sfw_activate(&t, SFW_GCTX + 1, 1), MC_FW_INVALID_PARAM);
    REFUSED(&t, sfw_activate(&t, SFW_GCTX2, 1), MC_FW_INVALID_GUEST);
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX2), 0);
    REFUSED(&t, sfw_activate(&t, SFW_GCTX2, 1), MC_FW_INVALID_GUEST_STATE); /* still INIT */
    sfw_make_preguest(&t, 0x500000, 3, 0x1000, 0); /* a page of ASID 3 left in the RMP */
    REFUSED(&t, sfw_activate(&t, SFW_GCTX, 3), MC_FW_INVALID_CONFIG);
    sfw_make_hv(&t, 0x500000);
    REFUSED(&t, sfw_activate(&t, SFW_GCTX, 0), MC_FW_INVALID_ASID);
    REFUSED(&t, sfw_activate(&t, SFW_GCTX, 510), MC_FW_INVALID_ASID);
    REFUSED(&t, sfw_activate(&t, SFW_GCTX, 4096), MC_FW_INVALID_ASID); /* beyond the RMP's counters */
    REFUSED(&t, sfw_activate(&t, SFW_GCTX, 128), MC_FW_INVALID_ASID);  /* an SEV ASID (minimum SEV ASID 128) */
    CHECK_EQ_U64(sfw_activate(&t, SFW_GCTX, 5), 0);
    CHECK_EQ_U64(sfw_guest_status(&t, SFW_GCTX, gs), 0);
    CHECK_EQ_U64(mc_le32(gs + 8), 5);
    REFUSED(&t, sfw_activate(&t, SFW_GCTX, 6), MC_FW_ACTIVE);
    REFUSED(&t, sfw_activate(&t, SFW_GCTX, 5), MC_FW_ASID_OWNED);
    CHECK_EQ_U64(sfw_launch_start(&t, SFW_GCTX2, POLICY), 0);
    REFUSED(&t, sfw_activate(&t, SFW_GCTX2, 5), MC_FW_ASID_OWNED);
    /* ACTIVATE_EX: length, reserved, NUMIDS, APIC IDs that name no core, the same ASID again */
    uint8_t ids[8] = {0};
    mc_put_le32(ids + 4, 1);
    sfw_write(&t, SFW_DATA, ids, sizeof ids);
    REFUSED(&t, activate_ex(&t, 0x18, SFW_GCTX2, 6, 2, SFW_DATA), MC_FW_INVALID_PARAM);
    REFUSED(&t, activate_ex(&t, 0x20, SFW_GCTX2 + 4, 6, 2, SFW_DATA), MC_FW_INVALID_PARAM);
    REFUSED(&t, activate_ex(&t, 0x20, SFW_GCTX2, 6, 0, SFW_DATA), MC_FW_INVALID_PARAM);
    REFUSED(&t, activate_ex(&t, 0x20, SFW_GCTX2, 6, 1025, SFW_DATA), MC_FW_INVALID_PARAM);
    mc_put_le32(ids + 4, 2);
    sfw_write(&t, SFW_DATA, ids, sizeof ids);
    REFUSED(&t, activate_ex(&t, 0x20, SFW_GCTX2, 6, 2, SFW_DATA), MC_FW_INVALID_PARAM);
    REFUSED(&t, activate_ex(&t, 0x20, SFW_GCTX2, 6, 2, SFW_DRAM - 4), MC_FW_INVALID_ADDRESS);
    CHECK_EQ_U64(activate_ex(&t, 0x20, SFW_GCTX2, 6, 1, SFW_DATA), 0);
    CHECK_EQ_U64(activate_ex(&t, 0x20, SFW_GCTX2, 6, 1, SFW_DATA), 0);
    REFUSED(&t, activate_ex(&t, 0x20, SFW_GCTX2, 7, 1, SFW_DATA), MC_FW_ACTIVE);
    /* A guest that never ran leaves its ASID clean; one that ran leaves it dirty. */
    CHECK_EQ_U64(sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_DECOMMISSION, SFW_GCTX2), 0);
    CHECK(!mc_psp_asid_dirty(t.psp, 6));
    CHECK_EQ_U64(sfw_launch_finish(&t, SFW_GCTX, 0, 0, 0, NULL), 0);
    CHECK_EQ_U64(sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_DECOMMISSION, SFW_GCTX), 0);
    CHECK(mc_psp_asid_dirty(t.psp, 5));
    struct mc_rmp_entry e;
    sfw_rmp_get(&t, SFW_GCTX, &e);
    CHECK(e.assigned && e.immutable && !e.vmsa); /* Firmware again */
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX), 0);
    CHECK_EQ_U64(sfw_launch_start(&t, SFW_GCTX, POLICY), 0);
    REFUSED(&t, sfw_activate(&t, SFW_GCTX, 5), MC_FW_DF_FLUSH_REQUIRED);
    uint32_t st;
    mc_board_df_flush(t.b, &st, NULL);
    CHECK_EQ_U64(sfw_activate(&t, SFW_GCTX, 5), 0);
    sfw_close(&t);
}

/* One ASID table for SEV and SNP guests. */
static void test_asids_shared(void)
{
    struct sfw t;
    up_launch(&t, POLICY, 0);
    uint8_t ib[0x14] = {0};
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_INIT, ib, sizeof ib), 0);
    uint8_t ls[0x24] = {0};
    mc_put_le32(ls + 4, 0);
    sfw_make_fw(&t, SFW_CMD); /* LAUNCH_START writes its buffer back */
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_LAUNCH_START, ls, sizeof ls), 0);
    uint32_t h = mc_le32(ls);
    sfw_make_hv(&t, SFW_CMD);
    uint8_t ab[8];
    mc_put_le32(ab, h);
    mc_put_le32(ab + 4, 200);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_ACTIVATE, ab, sizeof ab), 0);
    CHECK_EQ_U64(sfw_activate(&t, SFW_GCTX, 9), 0);
    /* an SEV guest cannot take an SNP guest's ASID: wrong range, and owned */
    mc_put_le32(ab + 4, 9);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_ACTIVATE, ab, sizeof ab), MC_FW_ACTIVE);
    sfw_close(&t);
}

static void test_launch_start(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX, POLICY), MC_FW_INVALID_PLATFORM_STATE);
    CHECK_EQ_U64(sfw_up(&t), 0);
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX + 0x10, POLICY), MC_FW_INVALID_PARAM);
    REFUSED(&t, launch_start_ex(&t, SFW_GCTX, POLICY, 4, 0), MC_FW_INVALID_PARAM);
    REFUSED(&t, launch_start_ex(&t, SFW_GCTX, POLICY, 0, 0x123), MC_FW_INVALID_PARAM);
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX, POLICY), MC_FW_INVALID_GUEST);
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX), 0);
    /* the policy: bit 17, SMT (the host has it on), ABI, bits 1.55 does not know, reserved bits */
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX, 0x10000), MC_FW_POLICY_FAILURE);
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX, 0x20000), MC_FW_POLICY_FAILURE);
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX, POLICY | 0x0238), MC_FW_POLICY_FAILURE); /* ABI 2.56 */
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX, POLICY | (1ull << 21)), MC_FW_POLICY_FAILURE);
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX, POLICY | (1ull << 40)), MC_FW_POLICY_FAILURE);
    /* a migration agent: its context must be a guest, MIGRATE_MA must allow one */
    REFUSED(&t, launch_start_ex(&t, SFW_GCTX, POLICY | MC_SNP_POLICY_MIGRATE_MA, MC_SNP_LS_MA_EN, SFW_GCTX2),
            MC_FW_INVALID_GUEST);
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX2), 0);
    REFUSED(&t, launch_start_ex(&t, SFW_GCTX, POLICY, MC_SNP_LS_MA_EN, SFW_GCTX2), MC_FW_POLICY_FAILURE);
    CHECK_EQ_U64(sfw_launch_start(&t, SFW_GCTX, POLICY | 0x0137), 0); /* ABI 1.55 is this firmware */
    uint8_t o[0x20];
    CHECK_EQ_U64(sfw_platform_status(&t, o), 0);
    CHECK_EQ_U64(mc_le32(o + 0x0C), 1); /* one guest */
    uint8_t gs[0x20];
    CHECK_EQ_U64(sfw_guest_status(&t, SFW_GCTX, gs), 0);
    CHECK_EQ_U64(mc_le64(gs), POLICY | 0x0137);
    CHECK_EQ_U64(gs[0x0C], MC_SNP_GSTATE_LAUNCH);
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX, POLICY), MC_FW_INVALID_GUEST_STATE);
    /* GUEST_STATUS: crossing output, a Hypervisor output page */
    uint8_t b[16];
    mc_put_le64(b, SFW_GCTX);
    mc_put_le64(b + 8, SFW_OUT + 0xFE8);
    REFUSED(&t, sfw_cmd(&t, MC_SEV_CMD_SNP_GUEST_STATUS, b, sizeof b), MC_FW_INVALID_PARAM);
    mc_put_le64(b + 8, SFW_OUT);
    sfw_make_hv(&t, SFW_OUT);
    REFUSED(&t, sfw_cmd(&t, MC_SEV_CMD_SNP_GUEST_STATUS, b, sizeof b), MC_FW_INVALID_PAGE_STATE);
    sfw_close(&t);
}

static void test_launch_update_checks(void)
{
    struct sfw t;
    up_launch(&t, POLICY, 0);
    uint64_t pg = SFW_GUEST;
    sfw_make_preguest(&t, pg, 1, 0x1000, 0);
    uint32_t n = MC_SNP_PT_NORMAL << 1;
    REFUSED(&t, update_raw(&t, SFW_GCTX + 1, n, pg, 0, 0), MC_FW_INVALID_PARAM);
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg + 8, 0, 0), MC_FW_INVALID_PARAM);
    REFUSED(&t, update_raw(&t, SFW_GCTX, n | 0x20, pg, 0, 0), MC_FW_INVALID_PARAM);
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg, 0, 0x0C), MC_FW_INVALID_PARAM);
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg, 0x01, 0), MC_FW_INVALID_PARAM); /* perms bits 7:0 */
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg, 0, 0x1C), MC_FW_INVALID_PARAM);
    REFUSED(&t, update_raw(&t, SFW_GCTX2, n, pg, 0, 0), MC_FW_INVALID_GUEST);
    sfw_make_hv(&t, pg + 0x1000);
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg + 0x1000, 0, 0), MC_FW_INVALID_PAGE_STATE);
    sfw_make_fw(&t, pg + 0x1000);
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg + 0x1000, 0, 0), MC_FW_INVALID_PAGE_STATE);
    REFUSED(&t, update_raw(&t, SFW_GCTX, n | 1, pg, 0, 0), MC_FW_INVALID_PAGE_SIZE);
    sfw_make_preguest(&t, SFW_GUEST + 0x200000 + 0x1000, 1, 0x200000, 1); /* a 2 MiB entry, misaligned */
    REFUSED(&t, update_raw(&t, SFW_GCTX, n | 1, SFW_GUEST + 0x201000, 0, 0), MC_FW_INVALID_ADDRESS);
    sfw_make_preguest(&t, SFW_GUEST + 0x200000, 1, 0x200000, 1);
    REFUSED(&t, update_raw(&t, SFW_GCTX, MC_SNP_PT_VMSA << 1 | 1, SFW_GUEST + 0x200000, 0, 0),
            MC_FW_INVALID_PAGE_SIZE);
    REFUSED(&t, update_raw(&t, SFW_GCTX, 0, pg, 0, 0), MC_FW_INVALID_PARAM);        /* type 0 */
    REFUSED(&t, update_raw(&t, SFW_GCTX, 7 << 1, pg, 0, 0), MC_FW_INVALID_PARAM);   /* type 7 */
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg, 0, 0), MC_FW_INACTIVE);
    /* ACTIVATE refuses an ASID that still owns RMP pages: give them back first, as KVM does */
    REFUSED(&t, sfw_activate(&t, SFW_GCTX, 1), MC_FW_INVALID_CONFIG);
    sfw_make_hv(&t, pg);
    sfw_make_hv_n(&t, SFW_GUEST + 0x200000, 512);
    CHECK_EQ_U64(sfw_activate(&t, SFW_GCTX, 1), 0);
    sfw_make_preguest(&t, pg, 2, 0x1000, 0); /* another guest's page */
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg, 0, 0), MC_FW_INVALID_PAGE_OWNER);
    sfw_make_preguest(&t, pg, 1, 0x1000, 0);
    CHECK_EQ_U64(update_raw(&t, SFW_GCTX, n, pg, 0, 0), 0);
    struct mc_rmp_entry e;
    sfw_rmp_get(&t, pg, &e);
    CHECK(e.assigned && e.validated && !e.immutable && e.asid == 1); /* Guest-Valid */
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg, 0, 0), MC_FW_INVALID_PAGE_STATE); /* not twice */
    CHECK_EQ_U64(sfw_launch_finish(&t, SFW_GCTX, 0, 0, 0, NULL), 0);
    sfw_make_preguest(&t, pg + 0x1000, 1, 0x2000, 0);
    REFUSED(&t, update_raw(&t, SFW_GCTX, n, pg + 0x1000, 0, 0), MC_FW_INVALID_GUEST_STATE);
    sfw_close(&t);
}

static void test_launch_update_types(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    CHECK_EQ_U64(sfw_up(&t), 0);
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX), 0);
    uint8_t ls[sizeof(struct mc_snp_launch_start)] = {0};
    mc_put_le64(ls, SFW_GCTX);
    mc_put_le64(ls + 8, POLICY_DBG);
    mc_put_le32(ls + F(mc_snp_launch_start, desired_tsc_khz), 2000000); /* 2 GHz Secure TSC */
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_SNP_LAUNCH_START, ls, sizeof ls), 0);
    CHECK_EQ_U64(sfw_activate(&t, SFW_GCTX, 1), 0);
    struct mc_psp_snp_page last;
    mc_psp_set_snp_log(t.psp, log_last, &last);
    uint8_t data[4096], g[4096], h[4096], z[4096] = {0};
    for (int i = 0; i < 4096; i++)
        data[i] = (uint8_t)(i * 7 + 3);
    /* NORMAL: encrypted in place, the guest reads the plaintext, the host ciphertext */
    uint64_t p = SFW_GUEST;
    sfw_write(&t, p, data, sizeof data);
    sfw_make_preguest(&t, p, 1, 0x10000, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_NORMAL, 0, 0), 0);
    CHECK(sfw_guest_read(&t, 1, p, g, sizeof g) == 0 && !memcmp(g, data, sizeof g));
    sfw_read(&t, p, h, sizeof h);
    CHECK(memcmp(h, data, sizeof h) != 0);
    uint8_t c[48];
    CHECK(mc_sha384(data, sizeof data, c, NULL) == MC_OK);
    CHECK_MEM(last.contents, c, 48);
    CHECK_EQ_U64(last.gpa, 0x10000);
    /* ZERO: whatever the host left, the guest sees zeros; contents zero */
    p += 0x1000;
    sfw_write(&t, p, data, sizeof data);
    sfw_make_preguest(&t, p, 1, 0x11000, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_ZERO, 0, 0), 0);
    CHECK(sfw_guest_read(&t, 1, p, g, sizeof g) == 0 && !memcmp(g, z, sizeof g));
    CHECK_MEM(last.contents, z, 48);
    /* UNMEASURED: the data is kept and encrypted, contents zero */
    p += 0x1000;
    sfw_write(&t, p, data, sizeof data);
    sfw_make_preguest(&t, p, 1, 0x12000, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_UNMEASURED, 0, 0), 0);
    CHECK(sfw_guest_read(&t, 1, p, g, sizeof g) == 0 && !memcmp(g, data, sizeof g));
    CHECK_MEM(last.contents, z, 48);
    /* SECRETS: version 3, four random VMPCKs, the host's FMS, TSC_FACTOR */
    p += 0x1000;
    sfw_make_preguest(&t, p, 1, 0x13000, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_SECRETS, 0, 0), 0);
    CHECK(sfw_guest_read(&t, 1, p, g, sizeof g) == 0);
    CHECK_EQ_U64(mc_le32(g), 3);
    CHECK_EQ_U64(mc_le32(g + 8), mc_cpu_fms(mc_board_profile(t.b)));
    CHECK(memcmp(g + 0x20, z, 32) && memcmp(g + 0x40, g + 0x20, 32) && memcmp(g + 0x80, z, 32));
    CHECK_EQ_U64(mc_le32(g + 0x160), 200);
    CHECK_MEM(last.contents, z, 48);
    /* CPUID: an empty table passes; a leaf asking for more than the processor has is corrected,
     * written back unencrypted, and the command fails with nothing measured or changed */
    p += 0x1000;
    uint8_t cp[4096] = {0};
    sfw_write(&t, p, cp, sizeof cp);
    sfw_make_preguest(&t, p, 1, 0x14000, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_CPUID, 0, 0), 0);
    p += 0x1000;
    mc_put_le32(cp, 2);
    uint8_t *e0 = cp + 0x10, *e1 = cp + 0x40;
    mc_put_le32(e0, 0x8000001F);                 /* SEV leaf: the C-bit position is the processor's */
    mc_put_le32(e0 + 0x18, 0x1);
    mc_put_le32(e0 + 0x1C, 0x00000030);          /* C-bit 48: not this processor's 51 */
    mc_put_le32(e1, 0x00000000);                 /* highest standard leaf 0x10 at most */
    mc_put_le32(e1 + 0x18, 0x10);
    sfw_write(&t, p, cp, sizeof cp);
    sfw_make_preguest(&t, p, 1, 0x15000, 0);
    uint8_t s0[32], s1[32];
    struct mc_rmp_entry e;
    sfw_snap(&t, s0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_CPUID, 0, 0), MC_FW_INVALID_PARAM);
    sfw_read(&t, p, h, sizeof h);
    CHECK_EQ_U64(mc_le32(h + 0x10 + 0x1C) & 0x3F, 51); /* corrected and written back in the clear */
    CHECK_EQ_U64(mc_le32(h + 0x40 + 0x18), 0x10);      /* the good entry as it was */
    sfw_rmp_get(&t, p, &e);
    CHECK(e.immutable && !e.validated); /* still Pre-Guest */
    sfw_make_hv(&t, p); /* (put the host's bytes back to compare the rest: the host takes the page back) */
    sfw_write(&t, p, cp, sizeof cp);
    sfw_make_preguest(&t, p, 1, 0x15000, 0);
    sfw_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    /* the corrected table passes */
    sfw_make_hv(&t, p);
    sfw_write(&t, p, h, sizeof h);
    sfw_make_preguest(&t, p, 1, 0x15000, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_CPUID, 0, 0), 0);
    /* VMSA: RMP.VMSA set; GUEST_TSC_SCALE/OFFSET measured as zero; Secure TSC writes the scale */
    p += 0x1000;
    uint8_t v[4096] = {0};
    mc_put_le64(v + 0x3B0, 1);
    mc_put_le64(v + 0x2F0, 0x1234);
    sfw_write(&t, p, v, sizeof v);
    sfw_make_preguest(&t, p, 1, MC_SNP_VMSA_GPA, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_VMSA, 0, 0), 0);
    sfw_rmp_get(&t, p, &e);
    CHECK(e.vmsa && e.validated);
    memset(v + 0x2F0, 0, 16);
    CHECK(mc_sha384(v, sizeof v, c, NULL) == MC_OK);
    CHECK_MEM(last.contents, c, 48);
    p += 0x1000;
    mc_put_le64(v + 0x3B0, 1 | (1ull << 9)); /* SNPActive | SecureTSC */
    sfw_write(&t, p, v, sizeof v);
    sfw_make_preguest(&t, p, 1, MC_SNP_VMSA_GPA, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_VMSA, 0, 0), 0);
    CHECK(sfw_guest_read(&t, 1, p, g, sizeof g) == 0);
    CHECK_EQ_U64(mc_le64(g + 0x2F0), mc_snp_tsc_scale(2000000, MC_SNP_TSC_REF_KHZ)); /* 20.04 in 8.32 */
    CHECK_EQ_U64(mc_le64(g + 0x2F0) >> 32, 20);
    CHECK_EQ_U64(mc_le64(g + 0x2F8), 0);
    /* VMPL1..3 permissions: in the RMP entry and measured (another digest than without them) */
    p += 0x1000;
    sfw_write(&t, p, data, sizeof data);
    sfw_make_preguest(&t, p, 1, 0x20000, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, p, MC_SNP_PT_NORMAL, 0, 0x030F0100u), 0);
    sfw_rmp_get(&t, p, &e);
    CHECK(e.perm[1] == 0x01 && e.perm[2] == 0x0F && e.perm[3] == 0x03);
    CHECK(last.vmpl_perms[0] == 0x01 && last.vmpl_perms[1] == 0x0F && last.vmpl_perms[2] == 0x03);
    /* a 2 MiB page: 512 chunks measured, one 2 MiB Guest-Valid entry */
    uint64_t big = SFW_GUEST + 0x200000;
    sfw_make_preguest(&t, big, 1, 0x200000, 1);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, big, MC_SNP_PT_ZERO, 1, 0), 0);
    CHECK_EQ_U64(last.gpa, 0x200000 + 511 * 0x1000ull);
    sfw_rmp_get(&t, big, &e);
    CHECK(e.large && e.validated && !e.immutable);
    /* DBG_DECRYPT of a guest page into a Firmware page; DBG_ENCRYPT into a Pre-Guest page */
    sfw_make_fw(&t, SFW_OUT);
    CHECK_EQ_U64(dbg(&t, false, SFW_GCTX, SFW_GUEST, SFW_OUT), 0);
    sfw_read(&t, SFW_OUT, h, sizeof h);
    CHECK_MEM(h, data, sizeof h);
    uint64_t pre = SFW_GUEST + 0x100000;
    sfw_make_preguest(&t, pre, 1, 0x30000, 0);
    for (int i = 0; i < 4096; i++)
        h[i] = (uint8_t)(i ^ 0x5A);
    sfw_write(&t, SFW_DATA, h, sizeof h);
    CHECK_EQ_U64(dbg(&t, true, SFW_GCTX, SFW_DATA, pre), 0);
    CHECK(sfw_guest_read(&t, 1, pre, g, sizeof g) == 0 && !memcmp(g, h, sizeof g));
    sfw_close(&t);
}

static void test_dbg_checks(void)
{
    struct sfw t;
    up_launch(&t, POLICY, 1);
    uint8_t data[4096] = {1};
    sfw_write(&t, SFW_GUEST, data, sizeof data);
    sfw_make_preguest(&t, SFW_GUEST, 1, 0x1000, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, SFW_GUEST, MC_SNP_PT_NORMAL, 0, 0), 0);
    sfw_make_fw(&t, SFW_OUT);
    REFUSED(&t, dbg(&t, false, SFW_GCTX, SFW_GUEST, SFW_OUT + 0x10), MC_FW_INVALID_PARAM);
    REFUSED(&t, dbg(&t, false, SFW_GCTX2, SFW_GUEST, SFW_OUT), MC_FW_INVALID_GUEST);
    sfw_make_hv(&t, SFW_OUT);
    REFUSED(&t, dbg(&t, false, SFW_GCTX, SFW_GUEST, SFW_OUT), MC_FW_INVALID_PAGE_STATE);
    sfw_make_fw(&t, SFW_OUT);
    REFUSED(&t, dbg(&t, false, SFW_GCTX, SFW_DATA, SFW_OUT), MC_FW_INVALID_PAGE_STATE); /* not a guest page */
    REFUSED(&t, dbg(&t, false, SFW_GCTX, SFW_GUEST, SFW_OUT), MC_FW_POLICY_FAILURE);     /* no DEBUG */
    REFUSED(&t, dbg(&t, true, SFW_GCTX, SFW_DATA, SFW_GUEST), MC_FW_INVALID_PAGE_STATE); /* Guest-Valid */
    sfw_close(&t);
    up_launch(&t, POLICY_DBG, 1);
    sfw_make_preguest(&t, SFW_GUEST, 2, 0x1000, 0);
    sfw_make_fw(&t, SFW_OUT);
    REFUSED(&t, dbg(&t, false, SFW_GCTX, SFW_GUEST, SFW_OUT), MC_FW_INVALID_PAGE_OWNER);
    sfw_close(&t);
}

/* ID blocks and author keys at LAUNCH_FINISH (SNP ABI: BAD_MEASUREMENT, POLICY_FAILURE, INVALID_PARAM,
 * BAD_SIGNATURE in that order). */
static void test_launch_finish(void)
{
    EVP_PKEY *idk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384"), *auk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    size_t il, al;
    char *ip = pem_of(idk, &il), *ap = pem_of(auk, &al);
    struct sfw t;
    up_launch(&t, POLICY, 0);
    struct mc_psp_snp_page last = {0};
    mc_psp_set_snp_log(t.psp, log_last, &last);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, 8, 0, 0, NULL), MC_FW_INVALID_PARAM);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX + 2, 0, 0, 0, NULL), MC_FW_INVALID_PARAM);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX2, 0, 0, 0, NULL), MC_FW_INVALID_GUEST);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, 0, 0, 0, NULL), MC_FW_INACTIVE);
    CHECK_EQ_U64(sfw_activate(&t, SFW_GCTX, 1), 0);
    uint8_t data[4096] = {7};
    sfw_write(&t, SFW_GUEST, data, sizeof data);
    sfw_make_preguest(&t, SFW_GUEST, 1, 0, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, SFW_GUEST, MC_SNP_PT_NORMAL, 0, 0), 0);
    struct mc_id_block ib = {.version = 1, .guest_svn = 3, .policy = POLICY};
    memcpy(ib.ld, last.digest, 48);
    memset(ib.family_id, 0xF1, 16);
    uint8_t blk[MC_ID_BLOCK_LEN], auth[MC_ID_AUTH_LEN];
    const uint64_t IDB = SFW_DATA, IDA = SFW_DATA + 0x1000;
    uint64_t en = MC_SNP_LF_ID_BLOCK_EN, en_a = en | MC_SNP_LF_AUTH_KEY_EN;
    /* a wrong launch digest */
    ib.ld[0] ^= 1;
    mc_id_block_encode(&ib, blk);
    CHECK(mc_id_auth_sign(blk, (uint8_t *)ip, il, (uint8_t *)ap, al, auth, NULL) == MC_OK);
    sfw_write(&t, IDB, blk, sizeof blk);
    sfw_write(&t, IDA, auth, sizeof auth);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, en, IDB, IDA, NULL), MC_FW_BAD_MEASUREMENT);
    ib.ld[0] ^= 1;
    /* another policy */
    ib.policy = POLICY | MC_SNP_POLICY_DEBUG;
    mc_id_block_encode(&ib, blk);
    sfw_write(&t, IDB, blk, sizeof blk);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, en, IDB, IDA, NULL), MC_FW_POLICY_FAILURE);
    ib.policy = POLICY;
    mc_id_block_encode(&ib, blk);
    CHECK(mc_id_auth_sign(blk, (uint8_t *)ip, il, (uint8_t *)ap, al, auth, NULL) == MC_OK);
    sfw_write(&t, IDB, blk, sizeof blk);
    /* algorithms */
    uint8_t a2[MC_ID_AUTH_LEN];
    memcpy(a2, auth, sizeof a2);
    a2[0] = 2;
    sfw_write(&t, IDA, a2, sizeof a2);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, en, IDB, IDA, NULL), MC_FW_INVALID_PARAM);
    memcpy(a2, auth, sizeof a2);
    a2[4] = 9;
    sfw_write(&t, IDA, a2, sizeof a2);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, en_a, IDB, IDA, NULL), MC_FW_INVALID_PARAM);
    /* signatures: the ID block's, the curve, the author's over the ID key */
    memcpy(a2, auth, sizeof a2);
    a2[0x40] ^= 1;
    sfw_write(&t, IDA, a2, sizeof a2);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, en, IDB, IDA, NULL), MC_FW_BAD_SIGNATURE);
    memcpy(a2, auth, sizeof a2);
    a2[0x240] = 1; /* curve P-256 */
    sfw_write(&t, IDA, a2, sizeof a2);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, en, IDB, IDA, NULL), MC_FW_BAD_SIGNATURE);
    memcpy(a2, auth, sizeof a2);
    a2[0x690] ^= 1;
    sfw_write(&t, IDA, a2, sizeof a2);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, en_a, IDB, IDA, NULL), MC_FW_BAD_SIGNATURE);
    CHECK_EQ_U64(sfw_launch_finish(&t, SFW_GCTX, en, IDB, IDA, NULL), 0); /* without AUTH_KEY_EN: unchecked */
    uint8_t gs[0x20];
    CHECK_EQ_U64(sfw_guest_status(&t, SFW_GCTX, gs), 0);
    CHECK_EQ_U64(gs[0x0C], MC_SNP_GSTATE_RUNNING);
    REFUSED(&t, sfw_launch_finish(&t, SFW_GCTX, 0, 0, 0, NULL), MC_FW_INVALID_GUEST_STATE);
    sfw_close(&t);
    /* with the author key, VCEK_DISABLED shown by GUEST_STATUS */
    up_launch(&t, POLICY, 1);
    sfw_write(&t, IDB, blk, sizeof blk);
    sfw_write(&t, IDA, auth, sizeof auth);
    memset(ib.ld, 0, 48); /* nothing measured: the digest is zero */
    mc_id_block_encode(&ib, blk);
    CHECK(mc_id_auth_sign(blk, (uint8_t *)ip, il, (uint8_t *)ap, al, auth, NULL) == MC_OK);
    sfw_write(&t, IDB, blk, sizeof blk);
    sfw_write(&t, IDA, auth, sizeof auth);
    CHECK_EQ_U64(sfw_launch_finish(&t, SFW_GCTX, en_a | MC_SNP_LF_VCEK_DIS, IDB, IDA, NULL), 0);
    CHECK_EQ_U64(sfw_guest_status(&t, SFW_GCTX, gs), 0);
    CHECK_EQ_U64(mc_le32(gs + 0x10), 1);
    sfw_close(&t);
    free(ip);
    free(ap);
    EVP_PKEY_free(idk);
    EVP_PKEY_free(auk);
}

/* Contexts that are no guest any more: decommissioned, or sealed before the last SNP_INIT. */
static void test_reused_gctx(void)
{
    struct sfw t;
    up_launch(&t, POLICY, 1);
    uint8_t gs[0x20];
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_DECOMMISSION, SFW_GCTX + 4), MC_FW_INVALID_PARAM);
    REFUSED(&t, sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_DECOMMISSION, SFW_GCTX2), MC_FW_INVALID_GUEST);
    CHECK_EQ_U64(sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_DECOMMISSION, SFW_GCTX), 0);
    sfw_make_fw(&t, SFW_OUT);
    REFUSED(&t, sfw_guest_status(&t, SFW_GCTX, gs), MC_FW_INVALID_GUEST);
    REFUSED(&t, sfw_launch_start(&t, SFW_GCTX, POLICY), MC_FW_INVALID_GUEST);
    /* a context kept across SNP_SHUTDOWN / SNP_INIT_EX (the RMP kept): still this firmware's guest */
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX), 0);
    CHECK_EQ_U64(sfw_launch_start(&t, SFW_GCTX, POLICY), 0);
    uint32_t st;
    mc_board_df_flush(t.b, &st, NULL);
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_SNP_SHUTDOWN, NULL, 0), 0);
    uint8_t ex[0x40] = {0};
    CHECK_EQ_U64(sfw_cmd(&t, MC_SEV_CMD_SNP_INIT_EX, ex, sizeof ex), 0);
    CHECK_EQ_U64(sfw_guest_status(&t, SFW_GCTX, gs), 0);
    CHECK_EQ_U64(gs[0x0C], MC_SNP_GSTATE_LAUNCH);
    CHECK_EQ_U64(sfw_paddr_cmd(&t, MC_SEV_CMD_SNP_DECOMMISSION, SFW_GCTX), 0);
    uint8_t o[0x20];
    CHECK_EQ_U64(sfw_platform_status(&t, o), 0);
    CHECK_EQ_U64(mc_le32(o + 0x0C), 0); /* the count never goes below zero */
    sfw_close(&t);
}

int main(void)
{
    RUN(test_gctx_create);
    RUN(test_activate);
    RUN(test_asids_shared);
    RUN(test_launch_start);
    RUN(test_launch_update_checks);
    RUN(test_launch_update_types);
    RUN(test_dbg_checks);
    RUN(test_launch_finish);
    RUN(test_reused_gctx);
    return check_summary();
}
