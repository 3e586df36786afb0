/* SEV-SNP page commands: SNP_PAGE_RECLAIM, SNP_PAGE_UNSMASH, SNP_PAGE_SET_STATE, SNP_PAGE_MD_INIT,
 * SNP_PAGE_MOVE — each transition of the SNP ABI's page-state table, each refusal in AMD's check order
 * with nothing changed, and pages that do not belong together (another guest, 4 KiB vs 2 MiB). */
#include <stdlib.h>

#include "check.h"
#include "snp_fw_harness.h"

#define F(S, f) offsetof(struct S, f)
#define POLICY 0x30000ull

static uint32_t reclaim(struct sfw *t, uint64_t v) { return sfw_paddr_cmd(t, MC_SEV_CMD_SNP_PAGE_RECLAIM, v); }
static uint32_t unsmash(struct sfw *t, uint64_t v) { return sfw_paddr_cmd(t, MC_SEV_CMD_SNP_PAGE_UNSMASH, v); }

static uint32_t md_init(struct sfw *t, uint64_t gctx, uint64_t page)
{
    uint8_t b[16];
    mc_put_le64(b, gctx);
    mc_put_le64(b + 8, page);
    return sfw_cmd(t, MC_SEV_CMD_SNP_PAGE_MD_INIT, b, sizeof b);
}

static uint32_t page_move(struct sfw *t, uint64_t gctx, uint32_t flags, uint64_t src, uint64_t dst)
{
    uint8_t b[0x20] = {0};
    mc_put_le64(b, gctx);
    mc_put_le32(b + 8, flags);
    mc_put_le64(b + 0x10, src);
    mc_put_le64(b + 0x18, dst);
    return sfw_cmd(t, MC_SEV_CMD_SNP_PAGE_MOVE, b, sizeof b);
}

static uint32_t set_state(struct sfw *t, uint32_t len, uint64_t list)
{
    uint8_t b[16] = {0};
    mc_put_le32(b, len);
    mc_put_le64(b + 8, list);
    return sfw_cmd(t, MC_SEV_CMD_SNP_PAGE_SET_STATE, b, sizeof b);
}

static int state_is(struct sfw *t, uint64_t pa, int assigned, int immutable, int validated, uint32_t asid)
{
    struct mc_rmp_entry e;
    sfw_rmp_get(t, pa, &e);
    return e.assigned == assigned && e.immutable == immutable && e.validated == validated && e.asid == asid;
}

static void test_reclaim(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    sfw_make_fw(&t, SFW_OUT);
    REFUSED(&t, reclaim(&t, SFW_OUT), MC_FW_INVALID_PLATFORM_STATE);
    CHECK_EQ_U64(sfw_up(&t), 0);
    sfw_make_fw(&t, SFW_OUT); /* (SNP_INIT made every page a Hypervisor page) */
    REFUSED(&t, reclaim(&t, SFW_OUT | 2), MC_FW_INVALID_PARAM);
    REFUSED(&t, reclaim(&t, SFW_RMP_BASE), MC_FW_INVALID_ADDRESS);
    REFUSED(&t, reclaim(&t, SFW_DRAM), MC_FW_INVALID_ADDRESS);
    REFUSED(&t, reclaim(&t, SFW_OUT | 1), MC_FW_INVALID_PAGE_SIZE);
    /* Firmware -> Reclaim */
    CHECK_EQ_U64(reclaim(&t, SFW_OUT), 0);
    CHECK(state_is(&t, SFW_OUT, 1, 0, 0, 0));
    CHECK_EQ_U64(reclaim(&t, SFW_OUT), 0); /* Immutable already clear: nothing to do */
    /* Pre-Guest -> Guest-Invalid; Pre-Swap -> Guest-Valid */
    sfw_make_preguest(&t, SFW_GUEST, 4, 0x1000, 0);
    CHECK_EQ_U64(reclaim(&t, SFW_GUEST), 0);
    CHECK(state_is(&t, SFW_GUEST, 1, 0, 0, 4));
    struct mc_rmp_entry e = {.assigned = 1, .immutable = 1, .validated = 1, .asid = 4, .gpa = 0x2000};
    sfw_rmp_put(&t, SFW_GUEST + 0x1000, &e);
    CHECK_EQ_U64(reclaim(&t, SFW_GUEST + 0x1000), 0);
    CHECK(state_is(&t, SFW_GUEST + 0x1000, 1, 0, 1, 4));
    /* a 2 MiB Pre-Guest page: 2 MiB aligned, bit 0 set */
    sfw_make_preguest(&t, SFW_GUEST + 0x200000, 4, 0x200000, 1);
    REFUSED(&t, reclaim(&t, SFW_GUEST + 0x200000), MC_FW_INVALID_PAGE_SIZE);
    CHECK_EQ_U64(reclaim(&t, (SFW_GUEST + 0x200000) | 1), 0);
    CHECK(state_is(&t, SFW_GUEST + 0x200000, 1, 0, 0, 4));
    /* Context and HV-Fixed pages are not reclaimed */
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX), 0);
    REFUSED(&t, reclaim(&t, SFW_GCTX), MC_FW_INVALID_PAGE_STATE);
    struct mc_rmp_entry hvf = {.immutable = 1};
    sfw_rmp_put(&t, SFW_DATA, &hvf);
    REFUSED(&t, reclaim(&t, SFW_DATA), MC_FW_INVALID_PAGE_STATE);
    sfw_close(&t);
}

static void test_unsmash(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    CHECK_EQ_U64(sfw_up(&t), 0);
    /* the guest is activated before its pages are assigned (ACTIVATE wants an ASID without pages) */
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX), 0);
    CHECK_EQ_U64(sfw_launch_start(&t, SFW_GCTX, POLICY), 0);
    CHECK_EQ_U64(sfw_activate(&t, SFW_GCTX, 3), 0);
    const uint64_t R = SFW_GUEST + 0x200000;
    for (int i = 0; i < 512; i++)
        sfw_make_preguest(&t, R + 0x1000ull * i, 3, 0x600000 + 0x1000ull * i, 0);
    REFUSED(&t, unsmash(&t, R + 0x1000), MC_FW_INVALID_PARAM);
    REFUSED(&t, unsmash(&t, R | 4), MC_FW_INVALID_PARAM);
    REFUSED(&t, unsmash(&t, SFW_RMP_BASE & ~0x1FFFFFull), MC_FW_INVALID_ADDRESS);
    /* one entry that does not belong: another guest, a gap in the GPAs, other permissions, mutable */
    struct mc_rmp_entry odd;
    sfw_rmp_get(&t, R + 0x5000, &odd);
    odd.asid = 4;
    sfw_rmp_put(&t, R + 0x5000, &odd);
    REFUSED(&t, unsmash(&t, R), MC_FW_INVALID_PAGE_STATE);
    odd.asid = 3;
    odd.gpa += 0x1000;
    sfw_rmp_put(&t, R + 0x5000, &odd);
    REFUSED(&t, unsmash(&t, R), MC_FW_INVALID_PAGE_STATE);
    odd.gpa -= 0x1000;
    odd.perm[1] = 1;
    sfw_rmp_put(&t, R + 0x5000, &odd);
    REFUSED(&t, unsmash(&t, R), MC_FW_INVALID_PAGE_STATE);
    odd.perm[1] = 0;
    odd.immutable = 0;
    sfw_rmp_put(&t, R + 0x5000, &odd);
    REFUSED(&t, unsmash(&t, R), MC_FW_INVALID_PAGE_STATE);
    odd.immutable = 1;
    sfw_rmp_put(&t, R + 0x5000, &odd);
    /* a GPA run that does not start on 2 MiB */
    struct mc_rmp_entry first;
    sfw_rmp_get(&t, R, &first);
    CHECK_EQ_U64(unsmash(&t, R), 0);
    struct mc_rmp_entry e;
    sfw_rmp_get(&t, R, &e);
    CHECK(e.large && e.assigned && e.immutable && e.asid == 3 && e.gpa == 0x600000); /* one 2 MiB Pre-Guest page */
    /* and it launches as one */
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, R, MC_SNP_PT_ZERO, 1, 0), 0);
    sfw_rmp_get(&t, R, &e);
    CHECK(e.large && e.validated && !e.immutable);
    sfw_close(&t);
}

static void test_set_state(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    CHECK_EQ_U64(sfw_up(&t), 0);
    uint8_t list[32] = {0};
    mc_put_le32(list, 1);
    mc_put_le64(list + 8, SFW_GUEST);
    mc_put_le32(list + 16, 2);
    sfw_write(&t, SFW_DATA, list, sizeof list);
    REFUSED(&t, set_state(&t, 8, SFW_DATA), MC_FW_INVALID_LENGTH);
    REFUSED(&t, set_state(&t, 16, SFW_DATA + 8), MC_FW_INVALID_PARAM);
    /* the pages must be Firmware pages */
    REFUSED(&t, set_state(&t, 16, SFW_DATA), MC_FW_INVALID_PAGE_STATE);
    sfw_make_fw(&t, SFW_GUEST);
    sfw_make_fw(&t, SFW_GUEST + 0x1000);
    /* bases 2 MiB aligned; not the RMP */
    mc_put_le64(list + 8, SFW_GUEST + 0x1000);
    sfw_write(&t, SFW_DATA, list, sizeof list);
    REFUSED(&t, set_state(&t, 16, SFW_DATA), MC_FW_INVALID_PARAM);
    mc_put_le64(list + 8, SFW_RMP_BASE & ~0x1FFFFFull);
    mc_put_le32(list + 16, 512);
    sfw_write(&t, SFW_DATA, list, sizeof list);
    REFUSED(&t, set_state(&t, 16, SFW_DATA), MC_FW_INVALID_ADDRESS);
    mc_put_le64(list + 8, SFW_GUEST);
    mc_put_le32(list + 16, 2);
    sfw_write(&t, SFW_DATA, list, sizeof list);
    CHECK_EQ_U64(set_state(&t, 16, SFW_DATA), 0);
    CHECK(state_is(&t, SFW_GUEST, 0, 1, 0, 0) && state_is(&t, SFW_GUEST + 0x1000, 0, 1, 0, 0)); /* HV-Fixed */
    sfw_close(&t);
}

static void test_md_init_and_move(void)
{
    struct sfw t;
    CHECK(sfw_open(&t, "milan", NULL, NULL) == 0);
    CHECK_EQ_U64(sfw_up(&t), 0);
    CHECK_EQ_U64(sfw_gctx_create(&t, SFW_GCTX), 0);
    const uint64_t MD = SFW_DATA, MD2 = SFW_DATA + 0x1000;
    uint8_t junk[4096];
    memset(junk, 0x77, sizeof junk);
    sfw_write(&t, MD, junk, sizeof junk);
    sfw_make_fw(&t, MD);
    REFUSED(&t, md_init(&t, SFW_GCTX, MD + 8), MC_FW_INVALID_PARAM);
    REFUSED(&t, md_init(&t, SFW_GCTX2, MD), MC_FW_INVALID_GUEST);
    sfw_make_hv(&t, MD2);
    REFUSED(&t, md_init(&t, SFW_GCTX, MD2), MC_FW_INVALID_PAGE_STATE);
    REFUSED(&t, md_init(&t, SFW_GCTX, MD), MC_FW_INVALID_GUEST_STATE); /* guest still INIT */
    CHECK_EQ_U64(sfw_launch_start(&t, SFW_GCTX, POLICY), 0);
    CHECK_EQ_U64(md_init(&t, SFW_GCTX, MD), 0);
    uint8_t b[4096], z[4096] = {0};
    sfw_read(&t, MD, b, sizeof b);
    CHECK_MEM(b, z, sizeof b); /* zeroed */
    struct mc_rmp_entry e;
    sfw_rmp_get(&t, MD, &e);
    CHECK(e.assigned && e.immutable && !e.asid && (e.gpa & ((1ull << 48) - 1)) == SFW_GCTX); /* Metadata */
    /* PAGE_MOVE of a metadata page to a Firmware page */
    REFUSED(&t, page_move(&t, SFW_GCTX, 0, MD, MD2), MC_FW_INACTIVE);
    CHECK_EQ_U64(sfw_activate(&t, SFW_GCTX, 2), 0);
    REFUSED(&t, page_move(&t, SFW_GCTX, 2, MD, MD2), MC_FW_INVALID_PARAM);
    REFUSED(&t, page_move(&t, SFW_GCTX, 0, MD, MD2), MC_FW_INVALID_PAGE_STATE); /* destination Hypervisor */
    sfw_make_fw(&t, MD2);
    REFUSED(&t, page_move(&t, SFW_GCTX, 1, MD, MD2), MC_FW_INVALID_PAGE_SIZE);
    CHECK_EQ_U64(page_move(&t, SFW_GCTX, 0, MD, MD2), 0);
    sfw_rmp_get(&t, MD2, &e);
    CHECK(e.assigned && e.immutable && e.gpa); /* Metadata now */
    CHECK(state_is(&t, MD, 1, 1, 0, 0));
    sfw_rmp_get(&t, MD, &e);
    CHECK(!e.gpa); /* Firmware again */
    /* a guest page: Pre-Guest -> Pre-Guest, re-encrypted for its new address */
    uint8_t data[4096];
    for (int i = 0; i < 4096; i++)
        data[i] = (uint8_t)(i * 13);
    const uint64_t S = SFW_GUEST, D = SFW_GUEST + 0x10000;
    sfw_make_preguest(&t, S, 2, 0x5000, 0);
    CHECK_EQ_U64(sfw_launch_update(&t, SFW_GCTX, S, MC_SNP_PT_ZERO, 0, 0), 0); /* (now Guest-Valid) */
    REFUSED(&t, page_move(&t, SFW_GCTX, 0, S, D), MC_FW_INVALID_PAGE_STATE);
    /* a Pre-Swap source (frozen validated page) */
    sfw_rmp_get(&t, S, &e);
    e.immutable = 1; /* Guest-Valid -> Pre-Swap, as SWAP_OUT would */
    sfw_rmp_put(&t, S, &e);
    uint8_t g[4096];
    CHECK(sfw_guest_read(&t, 2, S, g, sizeof g) == 0);
    sfw_make_preguest(&t, D, 5, 0, 0);
    REFUSED(&t, page_move(&t, SFW_GCTX, 0, S, D), MC_FW_INVALID_PAGE_OWNER); /* another guest's destination */
    sfw_make_preguest(&t, D, 2, 0, 0);
    CHECK_EQ_U64(page_move(&t, SFW_GCTX, 0, S, D), 0);
    sfw_rmp_get(&t, D, &e);
    CHECK(e.assigned && !e.immutable && e.validated && e.asid == 2 && e.gpa == 0x5000); /* Guest-Valid, its GPA */
    CHECK(state_is(&t, S, 1, 0, 0, 2));                                                 /* Guest-Invalid */
    uint8_t g2[4096];
    CHECK(sfw_guest_read(&t, 2, D, g2, sizeof g2) == 0);
    CHECK_MEM(g, g2, sizeof g);
    (void)data;
    sfw_close(&t);
}

int main(void)
{
    RUN(test_reclaim);
    RUN(test_unsmash);
    RUN(test_set_state);
    RUN(test_md_init_and_move);
    return check_summary();
}
