/* SNP guest context pages: the context encoded field by field and sealed with the firmware's own
 * key (psp_snp.h has the page layout and the reasons). */
#include <string.h>

#include <memcrypt/bytes.h>

#include "crypto/crypto.h"
#include "crypto/gcm.h"
#include "fw/psp_snp.h"

#define GCTX_MAGIC 0x58544347u /* "GCTX" */
#define GCTX_VERSION 1u
#define GCTX_HDR 0x10u

/* Offsets of the fields in the sealed context (pinned by the asserts below). */
enum {
    O_STATE = 0x000, O_FLAGS = 0x001, O_ASID = 0x004, O_POLICY = 0x008, O_MA = 0x010, O_TSC_KHZ = 0x018,
    O_VER = 0x01C, O_TSC_OFF = 0x020, O_LAUNCH_TCB = 0x028, O_MSG_COUNT = 0x030, O_VEK = 0x050, O_OEK = 0x070,
    O_VMPCK = 0x090, O_VMRK = 0x110, O_REPORT_ID = 0x130, O_REPORT_ID_MA = 0x150, O_LD = 0x170, O_IMD = 0x1A0,
    O_GOSVW = 0x1D0, O_HOST_DATA = 0x1E0, O_ID_BLOCK = 0x200, O_ID_KEY = 0x260, O_AUTHOR_KEY = 0x290,
    O_END = 0x2C0,
};
_Static_assert(O_END <= PSP_GCTX_LEN && PSP_GCTX_LEN % 16 == 0, "the context fits its sealed area");
_Static_assert(GCTX_HDR + PSP_GCTX_LEN + 16 <= MC_SNP_PAGE, "the sealed context fits one page");

enum { F_ACTIVE = 1, F_PENDING = 2, F_MA = 4, F_IMI = 8, F_ID_BLOCK = 16, F_AUTHOR = 32, F_VCEK_DIS = 64 };

void psp_gctx_encode(const struct psp_gctx *g, uint8_t b[PSP_GCTX_LEN])
{
    memset(b, 0, PSP_GCTX_LEN);
    b[O_STATE] = g->state;
    b[O_FLAGS] = (uint8_t)((g->active ? F_ACTIVE : 0) | (g->pending ? F_PENDING : 0) | (g->ma_en ? F_MA : 0) |
                           (g->imi_en ? F_IMI : 0) | (g->id_block_en ? F_ID_BLOCK : 0) |
                           (g->author_key_en ? F_AUTHOR : 0) | (g->vcek_dis ? F_VCEK_DIS : 0));
    mc_put_le32(b + O_ASID, g->asid);
    mc_put_le64(b + O_POLICY, g->policy);
    mc_put_le64(b + O_MA, g->ma_gctx_paddr);
    mc_put_le32(b + O_TSC_KHZ, g->desired_tsc_khz);
    memcpy(b + O_VER, g->ver, 3);
    mc_put_le64(b + O_TSC_OFF, g->psp_tsc_offset);
    mc_put_le64(b + O_LAUNCH_TCB, g->launch_tcb);
    for (int i = 0; i < 4; i++)
        mc_put_le64(b + O_MSG_COUNT + 8 * i, g->msg_count[i]);
    memcpy(b + O_VEK, g->vek, 32);
    memcpy(b + O_OEK, g->oek, 32);
    memcpy(b + O_VMPCK, g->vmpck, 128);
    memcpy(b + O_VMRK, g->vmrk, 32);
    memcpy(b + O_REPORT_ID, g->report_id, 32);
    memcpy(b + O_REPORT_ID_MA, g->report_id_ma, 32);
    memcpy(b + O_LD, g->ld, 48);
    memcpy(b + O_IMD, g->imd, 48);
    memcpy(b + O_GOSVW, g->gosvw, 16);
    memcpy(b + O_HOST_DATA, g->host_data, 32);
    memcpy(b + O_ID_BLOCK, g->id_block, 0x60);
    memcpy(b + O_ID_KEY, g->id_key_digest, 48);
    memcpy(b + O_AUTHOR_KEY, g->author_key_digest, 48);
}

/* The context is the firmware's own (authenticated) bytes; the decoder still refuses values no
 * command writes, so a context can never name an ASID beyond the table. */
bool psp_gctx_decode(const struct mc_psp *psp, const uint8_t b[PSP_GCTX_LEN], struct psp_gctx *g)
{
    memset(g, 0, sizeof *g);
    g->state = b[O_STATE];
    uint8_t f = b[O_FLAGS];
    g->active = f & F_ACTIVE;
    g->pending = f & F_PENDING;
    g->ma_en = f & F_MA;
    g->imi_en = f & F_IMI;
    g->id_block_en = f & F_ID_BLOCK;
    g->author_key_en = f & F_AUTHOR;
    g->vcek_dis = f & F_VCEK_DIS;
    g->asid = mc_le32(b + O_ASID);
    g->policy = mc_le64(b + O_POLICY);
    g->ma_gctx_paddr = mc_le64(b + O_MA);
    g->desired_tsc_khz = mc_le32(b + O_TSC_KHZ);
    memcpy(g->ver, b + O_VER, 3);
    g->psp_tsc_offset = mc_le64(b + O_TSC_OFF);
    g->launch_tcb = mc_le64(b + O_LAUNCH_TCB);
    for (int i = 0; i < 4; i++)
        g->msg_count[i] = mc_le64(b + O_MSG_COUNT + 8 * i);
    memcpy(g->vek, b + O_VEK, 32);
    memcpy(g->oek, b + O_OEK, 32);
    memcpy(g->vmpck, b + O_VMPCK, 128);
    memcpy(g->vmrk, b + O_VMRK, 32);
    memcpy(g->report_id, b + O_REPORT_ID, 32);
    memcpy(g->report_id_ma, b + O_REPORT_ID_MA, 32);
    memcpy(g->ld, b + O_LD, 48);
    memcpy(g->imd, b + O_IMD, 48);
    memcpy(g->gosvw, b + O_GOSVW, 16);
    memcpy(g->host_data, b + O_HOST_DATA, 32);
    memcpy(g->id_block, b + O_ID_BLOCK, 0x60);
    memcpy(g->id_key_digest, b + O_ID_KEY, 48);
    memcpy(g->author_key_digest, b + O_AUTHOR_KEY, 48);
    return g->state <= MC_SNP_GSTATE_RUNNING && g->asid <= psp->cfg.max_asid && (g->asid || (!g->active && !g->pending)) &&
           !(f & 0x80);
}

static void iv_aad(uint64_t seq, uint64_t pa, const uint8_t hdr[GCTX_HDR], uint8_t iv[12], uint8_t aad[GCTX_HDR + 8])
{
    mc_put_le64(iv, seq);
    mc_put_le32(iv + 8, 0x58544347u);
    memcpy(aad, hdr, GCTX_HDR);
    mc_put_le64(aad + GCTX_HDR, pa >> 12);
}

uint32_t psp_gctx_open(struct mc_psp *psp, uint64_t pa, struct psp_gctx *g, struct mc_error *err)
{
    uint8_t page[GCTX_HDR + PSP_GCTX_LEN + 16], plain[PSP_GCTX_LEN], iv[12], aad[GCTX_HDR + 8];
    if (psp->mem.read(psp->mem.ctx, MC_PSP_DOM_SHARED, 0, pa, page, sizeof page, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "cannot read the guest context page 0x%llx",
                        (unsigned long long)pa);
    uint32_t st = MC_FW_SUCCESS;
    if (mc_le32(page) != GCTX_MAGIC || mc_le32(page + 4) != GCTX_VERSION) {
        st = psp_fail(err, MC_FW_INVALID_GUEST, "page 0x%llx is a Context page but holds no guest context",
                      (unsigned long long)pa);
    } else {
        iv_aad(mc_le64(page + 8), pa, page, iv, aad);
        struct mc_error e2;
        if (mc_aes256_gcm_open(psp->snp.gctx_key, iv, aad, sizeof aad, page + GCTX_HDR, PSP_GCTX_LEN,
                               page + GCTX_HDR + PSP_GCTX_LEN, plain, &e2) != MC_OK ||
            !psp_gctx_decode(psp, plain, g))
            st = psp_fail(err, MC_FW_INVALID_GUEST,
                          "the guest context at 0x%llx does not open (sealed by another firmware instance, or altered)",
                          (unsigned long long)pa);
    }
    mc_wipe(plain, sizeof plain);
    if (st)
        psp_gctx_wipe(g);
    return st;
}

uint32_t psp_gctx_seal(struct mc_psp *psp, uint64_t pa, const struct psp_gctx *g, struct mc_error *err)
{
    uint8_t page[GCTX_HDR + PSP_GCTX_LEN + 16], plain[PSP_GCTX_LEN], iv[12], aad[GCTX_HDR + 8];
    uint64_t seq = ++psp->snp.gctx_seq;
    mc_put_le32(page, GCTX_MAGIC);
    mc_put_le32(page + 4, GCTX_VERSION);
    mc_put_le64(page + 8, seq);
    iv_aad(seq, pa, page, iv, aad);
    psp_gctx_encode(g, plain);
    uint32_t st = MC_FW_SUCCESS;
    if (mc_aes256_gcm_seal(psp->snp.gctx_key, iv, aad, sizeof aad, plain, PSP_GCTX_LEN, page + GCTX_HDR,
                           page + GCTX_HDR + PSP_GCTX_LEN, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "cannot seal the guest context");
    else if (psp->mem.write(psp->mem.ctx, MC_PSP_DOM_SHARED, 0, pa, page, sizeof page, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "cannot write the guest context page 0x%llx", (unsigned long long)pa);
    mc_wipe(plain, sizeof plain);
    return st;
}

uint32_t psp_gctx_create(struct mc_psp *psp, uint64_t pa, const struct psp_gctx *g, struct mc_error *err)
{
    static const uint8_t zero[MC_SNP_PAGE];
    if (psp->mem.write(psp->mem.ctx, MC_PSP_DOM_SHARED, 0, pa, zero, sizeof zero, err) != MC_OK)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "cannot clear the guest context page 0x%llx",
                        (unsigned long long)pa);
    return psp_gctx_seal(psp, pa, g, err);
}

void psp_gctx_wipe(struct psp_gctx *g) { mc_wipe(g, sizeof *g); }

uint32_t psp_gctx_page(struct mc_psp *psp, uint64_t raw, uint64_t *pa, struct mc_rmp_entry *e, struct mc_error *err)
{
    enum mc_rmp_page_state st;
    *pa = psp_snp_pa(psp, raw);
    uint32_t s = psp_rmp_get(psp, *pa, e, &st, err);
    if (s)
        return s;
    if (st != MC_RMP_PS_CONTEXT)
        return psp_fail(err, MC_FW_INVALID_GUEST, "0x%llx is not a guest context page (the page is %s)",
                        (unsigned long long)*pa, mc_rmp_page_state_name(st));
    return MC_FW_SUCCESS;
}
