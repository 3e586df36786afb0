/* SEV-SNP page commands: SNP_PAGE_RECLAIM, SNP_PAGE_UNSMASH, SNP_PAGE_SET_STATE, SNP_PAGE_MD_INIT,
 * SNP_PAGE_MOVE. Each checks its buffer and the pages in AMD's firmware's order (every entry
 * checked before any is written) and then makes the change with the RMP unit's transition
 * (memcrypt/rmp.h, mc_rmp_fw_*), the one place RMP entries are written. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>

#include "crypto/crypto.h"
#include "fw/psp_cmds.h"
#include "fw/psp_snp.h"

#define F(S, f) offsetof(struct S, f)
#define PG MC_SNP_PAGE
#define PG2M MC_SNP_PAGE_2M

static bool in_dram(const struct mc_psp *psp, uint64_t pa, uint64_t len)
{
    return pa < psp->mem.dram_size && psp->mem.dram_size - pa >= len;
}

/* ---- SNP_PAGE_RECLAIM ---------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_page_reclaim)
{
    (void)g;
    uint64_t v = mc_le64(buf + F(mc_snp_paddr, paddr));
    if (v & 0xFFEu)
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_PAGE_RECLAIM: bits 11:1 of 0x%llx are set", (unsigned long long)v);
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_PAGE_RECLAIM, err);
    if (st)
        return st;
    bool big = v & 1;
    uint64_t pa = psp_snp_pa(psp, v & ~0xFFFull);
    if (!in_dram(psp, pa, big ? PG2M : PG) || psp_rmp_overlaps(psp, pa, big ? PG2M : PG))
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "SNP_PAGE_RECLAIM: 0x%llx is not a page the firmware may name",
                        (unsigned long long)pa);
    struct mc_rmp_entry e;
    enum mc_rmp_page_state ps;
    if ((st = psp_rmp_get(psp, pa, &e, &ps, err)) != MC_FW_SUCCESS)
        return st;
    if (e.large != big)
        return psp_fail(err, MC_FW_INVALID_PAGE_SIZE, "SNP_PAGE_RECLAIM: the RMP entry of 0x%llx is %s",
                        (unsigned long long)pa, e.large ? "2 MiB" : "4 KiB");
    if (big && (pa & (PG2M - 1)))
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "SNP_PAGE_RECLAIM: a 2 MiB page at 0x%llx is not 2 MiB aligned",
                        (unsigned long long)pa);
    if (!e.immutable)
        return MC_FW_SUCCESS; /* nothing to reclaim: success, as AMD's firmware */
    if (ps != MC_RMP_PS_METADATA && ps != MC_RMP_PS_FIRMWARE && ps != MC_RMP_PS_PRE_GUEST && ps != MC_RMP_PS_PRE_SWAP)
        return psp_fail(err, MC_FW_INVALID_PAGE_STATE,
                        "SNP_PAGE_RECLAIM: page 0x%llx is %s (Firmware, Metadata, Pre-Guest or Pre-Swap can be reclaimed)",
                        (unsigned long long)pa, mc_rmp_page_state_name(ps));
    /* Metadata/Firmware -> Reclaim, Pre-Guest -> Guest-Invalid, Pre-Swap -> Guest-Valid */
    return psp_rmp_status(mc_rmp_fw_reclaim(psp->mem.rmp, pa, big, &ps), "SNP_PAGE_RECLAIM", pa, ps,
                          MC_FW_INVALID_PAGE_OWNER, err);
}

/* ---- SNP_PAGE_UNSMASH ---------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_page_unsmash)
{
    (void)g;
    uint64_t v = mc_le64(buf + F(mc_snp_paddr, paddr));
    uint64_t pa = psp_snp_pa(psp, v);
    if ((v & 0xFFEu) || (pa & (PG2M - 1)))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_PAGE_UNSMASH: 0x%llx is not a 2 MiB aligned page address",
                        (unsigned long long)v);
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_PAGE_UNSMASH, err);
    if (st)
        return st;
    if (!psp_rmp_covers(psp, pa) || !psp_rmp_covers(psp, pa + PG2M - 1))
        return psp_fail(err, MC_FW_INVALID_PAGE_STATE, "SNP_PAGE_UNSMASH: the RMP does not cover 0x%llx",
                        (unsigned long long)pa);
    if (psp_rmp_overlaps(psp, pa, PG2M))
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "SNP_PAGE_UNSMASH: 0x%llx overlaps the RMP", (unsigned long long)pa);
    struct mc_rmp_entry *e = malloc(512 * sizeof *e);
    if (!e)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    enum mc_rmp_page_state first = MC_RMP_PS_INVALID;
    /* Every entry is checked before any is written. */
    for (unsigned i = 0; !st && i < 512; i++) {
        enum mc_rmp_page_state ps;
        st = psp_rmp_get(psp, pa + (uint64_t)i * PG, &e[i], &ps, err);
        if (st)
            break;
        if (e[i].large || !e[i].immutable || e[i].vmsa || !e[i].asid)
            st = psp_fail(err, MC_FW_INVALID_PAGE_STATE,
                          "SNP_PAGE_UNSMASH: entry %u must be a 4 KiB immutable non-VMSA guest page (%s)", i,
                          mc_rmp_page_state_name(ps));
        else if (i == 0 && (e[0].gpa & (PG2M - 1)))
            st = psp_fail(err, MC_FW_INVALID_PAGE_STATE, "SNP_PAGE_UNSMASH: the GPA 0x%llx is not 2 MiB aligned",
                          (unsigned long long)e[0].gpa);
        else if (i == 0)
            first = ps;
        else if (ps != first || e[i].asid != e[0].asid || e[i].gpa != e[i - 1].gpa + PG ||
                 memcmp(e[i].perm, e[0].perm, 4) || e[i].rsvd_hi != e[0].rsvd_hi)
            st = psp_fail(err, MC_FW_INVALID_PAGE_STATE,
                          "SNP_PAGE_UNSMASH: entry %u differs from the first in state, ASID, GPA or permissions", i);
    }
    free(e);
    if (!st) /* 512 4 KiB entries -> one 2 MiB entry */
        st = psp_rmp_status(mc_rmp_fw_unsmash(psp->mem.rmp, pa, &first), "SNP_PAGE_UNSMASH", pa, first,
                            MC_FW_INVALID_PAGE_STATE, err);
    return st;
}

/* ---- SNP_PAGE_SET_STATE -------------------------------------------------------------------- */

/* A Firmware entry exactly, as AMD's scan compares it (every other bit zero). */
static bool exactly_firmware(const struct mc_rmp_entry *e)
{
    return e->assigned && e->immutable && !e->large && !e->validated && !e->vmsa && !e->rsvd_lo && !e->asid &&
           !e->gpa && !e->perm[0] && !e->perm[1] && !e->perm[2] && !e->perm[3] && !e->rsvd_hi;
}

PSP_HANDLER(psp_cmd_snp_page_set_state)
{
    (void)g;
    if (mc_le32(buf + F(mc_snp_page_set_state, length)) != sizeof(struct mc_snp_page_set_state))
        return psp_fail(err, MC_FW_INVALID_LENGTH, "SNP_PAGE_SET_STATE: length must be 0x10");
    uint64_t raw = mc_le64(buf + F(mc_snp_page_set_state, list_paddr));
    if (mc_le32(buf + F(mc_snp_page_set_state, rsvd)) || (raw & 0xFFF))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_PAGE_SET_STATE: reserved bits are set");
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_PAGE_SET_STATE, err);
    if (st)
        return st;
    uint8_t page[PG];
    if ((st = psp_host_read(psp, raw, page, PG, err)) != MC_FW_SUCCESS)
        return st;
    uint32_t n = mc_le32(page + F(mc_snp_range_list, n));
    if (mc_le32(page + F(mc_snp_range_list, rsvd)) || n > MC_SNP_RANGE_LIST_MAX)
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_PAGE_SET_STATE: the range list is invalid (%u entries)", n);
    /* Check every page of every range (bases 2 MiB aligned; the RMP itself excluded), then write. */
    for (int pass = 0; pass < 2 && !st; pass++) {
        for (uint32_t i = 0; i < n && !st; i++) {
            const uint8_t *r = page + sizeof(struct mc_snp_range_list) + i * sizeof(struct mc_snp_range);
            uint64_t base = psp_snp_pa(psp, mc_le64(r + F(mc_snp_range, base)));
            uint64_t count = mc_le32(r + F(mc_snp_range, page_count));
            if (pass == 0 && (mc_le32(r + F(mc_snp_range, rsvd)) || (base & (PG2M - 1))))
                st = psp_fail(err, MC_FW_INVALID_PARAM, "SNP_PAGE_SET_STATE: range %u is not 2 MiB aligned or has "
                              "reserved bits", i);
            else if (pass == 0 && psp_rmp_overlaps(psp, base, count * PG))
                st = psp_fail(err, MC_FW_INVALID_ADDRESS, "SNP_PAGE_SET_STATE: range %u overlaps the RMP", i);
            for (uint64_t k = 0; !st && k < count && psp_rmp_covers(psp, base + k * PG); k++) {
                struct mc_rmp_entry e;
                enum mc_rmp_page_state ps;
                uint64_t p = base + k * PG;
                st = psp_rmp_get(psp, p, &e, &ps, err);
                if (st)
                    break;
                if (pass == 0 && !exactly_firmware(&e))
                    st = psp_fail(err, MC_FW_INVALID_PAGE_STATE, "SNP_PAGE_SET_STATE: page 0x%llx is %s, not Firmware",
                                  (unsigned long long)p, mc_rmp_page_state_name(ps));
                if (pass == 1) /* Firmware -> HV-Fixed */
                    st = psp_rmp_status(mc_rmp_fw_make_hv_fixed(psp->mem.rmp, p, true, &ps), "SNP_PAGE_SET_STATE", p,
                                        ps, MC_FW_INVALID_PAGE_STATE, err);
            }
        }
    }
    return st;
}

/* ---- SNP_PAGE_MD_INIT ---------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_page_md_init)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_md_init, gctx_paddr)), page_raw = mc_le64(buf + F(mc_snp_md_init, page_paddr));
    if ((raw & 0xFFF) || (page_raw & 0xFFF))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_PAGE_MD_INIT: an address has bits 11:0 set");
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_PAGE_MD_INIT, err);
    if (st)
        return st;
    uint64_t gpa_ctx = psp_snp_pa(psp, raw), pa = psp_snp_pa(psp, page_raw);
    struct mc_rmp_entry ge, pe;
    enum mc_rmp_page_state gs, ps;
    if ((st = psp_rmp_get(psp, gpa_ctx, &ge, &gs, err)) || (st = psp_rmp_get(psp, pa, &pe, &ps, err)))
        return st;
    if (gs != MC_RMP_PS_CONTEXT)
        return psp_fail(err, MC_FW_INVALID_GUEST, "SNP_PAGE_MD_INIT: 0x%llx is not a guest context page",
                        (unsigned long long)gpa_ctx);
    if (ps != MC_RMP_PS_FIRMWARE)
        return psp_fail(err, MC_FW_INVALID_PAGE_STATE, "SNP_PAGE_MD_INIT: page 0x%llx is %s, not Firmware",
                        (unsigned long long)pa, mc_rmp_page_state_name(ps));
    struct psp_gctx c;
    if ((st = psp_gctx_open(psp, gpa_ctx, &c, err)) != MC_FW_SUCCESS)
        return st;
    if (c.state != MC_SNP_GSTATE_LAUNCH && c.state != MC_SNP_GSTATE_RUNNING)
        st = psp_fail(err, MC_FW_INVALID_GUEST_STATE, "SNP_PAGE_MD_INIT: the guest is %s (LAUNCH or RUNNING needed)",
                      mc_snp_gstate_name(c.state));
    psp_gctx_wipe(&c);
    size_t len = pe.large ? PG2M : PG;
    if (!st && !in_dram(psp, pa, len))
        st = psp_fail(err, MC_FW_INVALID_ADDRESS, "SNP_PAGE_MD_INIT: page 0x%llx is not DRAM", (unsigned long long)pa);
    if (st)
        return st;
    uint8_t *z = calloc(1, len);
    if (!z)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    if (psp->mem.write(psp->mem.ctx, MC_PSP_DOM_SHARED, 0, pa, z, len, err) != MC_OK)
        st = psp_fail(err, MC_FW_HWERROR_PLATFORM, "SNP_PAGE_MD_INIT: cannot clear the page");
    free(z);
    if (!st) /* Firmware -> Metadata, owned by the guest context */
        st = psp_rmp_status(mc_rmp_fw_make_metadata(psp->mem.rmp, pa, gpa_ctx, &ps), "SNP_PAGE_MD_INIT", pa, ps,
                            MC_FW_INVALID_PAGE_STATE, err);
    return st;
}

/* ---- SNP_PAGE_MOVE ------------------------------------------------------------------------- */

PSP_HANDLER(psp_cmd_snp_page_move)
{
    (void)g;
    uint64_t raw = mc_le64(buf + F(mc_snp_page_move, gctx_paddr));
    uint64_t src_raw = mc_le64(buf + F(mc_snp_page_move, src_paddr)), dst_raw = mc_le64(buf + F(mc_snp_page_move, dst_paddr));
    uint32_t flags = mc_le32(buf + F(mc_snp_page_move, flags));
    if ((raw & 0xFFF) || (src_raw & 0xFFF) || (dst_raw & 0xFFF) || (flags & ~1u) ||
        mc_le32(buf + F(mc_snp_page_move, rsvd)))
        return psp_fail(err, MC_FW_INVALID_PARAM, "SNP_PAGE_MOVE: reserved bits are set");
    uint32_t st = psp_snp_pstate_check(psp, MC_SEV_CMD_SNP_PAGE_MOVE, err);
    if (st)
        return st;
    uint64_t gpa_ctx = psp_snp_pa(psp, raw), src = psp_snp_pa(psp, src_raw), dst = psp_snp_pa(psp, dst_raw);
    struct mc_rmp_entry ge, se, de;
    enum mc_rmp_page_state gs, ss, ds;
    if ((st = psp_rmp_get(psp, gpa_ctx, &ge, &gs, err)) || (st = psp_rmp_get(psp, src, &se, &ss, err)) ||
        (st = psp_rmp_get(psp, dst, &de, &ds, err)))
        return st;
    if (gs != MC_RMP_PS_CONTEXT)
        return psp_fail(err, MC_FW_INVALID_GUEST, "SNP_PAGE_MOVE: 0x%llx is not a guest context page",
                        (unsigned long long)gpa_ctx);
    bool big = flags & 1;
    if (se.large != big || de.large != big)
        return psp_fail(err, MC_FW_INVALID_PAGE_SIZE, "SNP_PAGE_MOVE: the source and destination entries must both be %s",
                        big ? "2 MiB" : "4 KiB");
    size_t len = big ? PG2M : PG;
    struct psp_gctx c;
    if ((st = psp_gctx_open(psp, gpa_ctx, &c, err)) != MC_FW_SUCCESS)
        return st;
    if (c.state != MC_SNP_GSTATE_LAUNCH && c.state != MC_SNP_GSTATE_RUNNING)
        st = psp_fail(err, MC_FW_INVALID_GUEST_STATE, "SNP_PAGE_MOVE: the guest is %s (LAUNCH or RUNNING needed)",
                      mc_snp_gstate_name(c.state));
    else if (!c.asid)
        st = psp_fail(err, MC_FW_INACTIVE, "SNP_PAGE_MOVE: the guest has no ASID");
    else if (c.policy & MC_SNP_POLICY_PAGE_SWAP_DISABLE)
        st = psp_fail(err, MC_FW_POLICY_FAILURE, "SNP_PAGE_MOVE: the guest policy forbids moving pages (PAGE_SWAP_DISABLE)");
    uint32_t asid = c.asid;
    psp_gctx_wipe(&c);
    if (st)
        return st;
    if (!in_dram(psp, src, len) || !in_dram(psp, dst, len))
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "SNP_PAGE_MOVE: a page lies outside DRAM");
    bool guest = (ss == MC_RMP_PS_PRE_SWAP || ss == MC_RMP_PS_PRE_GUEST) && ds == MC_RMP_PS_PRE_GUEST;
    bool meta = ss == MC_RMP_PS_METADATA && ds == MC_RMP_PS_FIRMWARE;
    if (!guest && !meta)
        return psp_fail(err, MC_FW_INVALID_PAGE_STATE,
                        "SNP_PAGE_MOVE: moves a Pre-Guest/Pre-Swap page to a Pre-Guest page, or a Metadata page to a "
                        "Firmware page (source %s, destination %s)",
                        mc_rmp_page_state_name(ss), mc_rmp_page_state_name(ds));
    if (guest && (se.asid != asid || de.asid != asid))
        return psp_fail(err, MC_FW_INVALID_PAGE_OWNER, "SNP_PAGE_MOVE: the pages belong to ASIDs %u and %u, the guest is %u",
                        se.asid, de.asid, asid);
    if (meta && mc_rmp_fw_metadata_owner(&se) != gpa_ctx)
        return psp_fail(err, MC_FW_INVALID_PAGE_OWNER, "SNP_PAGE_MOVE: the metadata page belongs to another guest");
    uint8_t *tmp = malloc(len);
    if (!tmp)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "out of memory");
    mc_status r = MC_OK;
    if (guest) /* re-encrypted for its new address (the tweak is the physical address) */
        r = psp->mem.read(psp->mem.ctx, MC_PSP_DOM_GUEST, asid, src, tmp, len, err) ||
            psp->mem.write(psp->mem.ctx, MC_PSP_DOM_GUEST, asid, dst, tmp, len, err);
    else if (src != dst)
        r = psp->mem.read(psp->mem.ctx, MC_PSP_DOM_SHARED, 0, src, tmp, len, err) ||
            psp->mem.write(psp->mem.ctx, MC_PSP_DOM_SHARED, 0, dst, tmp, len, err);
    mc_wipe(tmp, len);
    free(tmp);
    if (r)
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "SNP_PAGE_MOVE: the copy failed");
    /* guest: src -> Guest-Invalid, dst takes the page; metadata: dst -> Metadata, src -> Firmware */
    return psp_rmp_status(mc_rmp_fw_move(psp->mem.rmp, src, dst, big, asid, gpa_ctx, &ss, &ds), "SNP_PAGE_MOVE", dst,
                          ds, MC_FW_INVALID_PAGE_OWNER, err);
}
