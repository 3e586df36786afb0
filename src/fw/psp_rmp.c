/* The SNP firmware's view of the RMP: the RMP unit's firmware API (memcrypt/rmp.h) reached through
 * the memory port, page rules and status codes (see psp_rmp.h). */
#include <string.h>

#include "fw/psp_int.h"
#include "fw/psp_rmp.h"

static struct mc_rmp *unit(const struct mc_psp *psp) { return psp->mem.rmp; }

bool psp_rmp_covers(const struct mc_psp *psp, uint64_t spa)
{
    return psp->snp.rmp_init && spa < psp->mem.dram_size && mc_rmp_entry_addr(unit(psp), spa) != 0;
}

bool psp_rmp_overlaps(const struct mc_psp *psp, uint64_t pa, uint64_t len)
{
    const struct psp_snp *s = &psp->snp;
    if (!s->rmp_end || !len)
        return false;
    return pa <= s->rmp_end && s->rmp_base <= pa + len - 1;
}

uint32_t psp_rmp_get(struct mc_psp *psp, uint64_t spa, struct mc_rmp_entry *e, enum mc_rmp_page_state *state,
                     struct mc_error *err)
{
    memset(e, 0, sizeof *e);
    *state = MC_RMP_PS_DEFAULT;
    if (!psp_rmp_covers(psp, spa))
        return MC_FW_SUCCESS;
    if (psp_rmp_overlaps(psp, spa & ~0xFFFull, MC_SNP_PAGE))
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "page 0x%llx lies inside the RMP", (unsigned long long)spa);
    bool large;
    enum mc_rmp_fw_status s = mc_rmp_fw_lookup(unit(psp), spa & ~0xFFFull, MC_SNP_PAGE, e, state, &large);
    if (s)
        return psp_rmp_status(s, "RMP", spa, *state, MC_FW_INVALID_ADDRESS, err);
    return MC_FW_SUCCESS;
}

uint64_t psp_rmp_asid_count(struct mc_psp *psp, uint32_t asid)
{
    return psp->snp.rmp_init ? mc_rmp_asid_pages(unit(psp), asid) : 0;
}

uint32_t psp_rmp_status(enum mc_rmp_fw_status s, const char *what, uint64_t pa, enum mc_rmp_page_state found,
                        uint32_t owner_status, struct mc_error *err)
{
    const unsigned long long a = (unsigned long long)pa;
    switch (s) {
    case MC_RMP_FW_OK: return MC_FW_SUCCESS;
    case MC_RMP_FW_NOT_READY:
        return psp_fail(err, MC_FW_INVALID_PLATFORM_STATE, "%s: the RMP is not initialised (SNP_INIT)", what);
    case MC_RMP_FW_BAD_ADDRESS:
        return psp_fail(err, MC_FW_INVALID_ADDRESS, "%s: 0x%llx is not a page the firmware may name", what, a);
    case MC_RMP_FW_BAD_STATE:
        return psp_fail(err, MC_FW_INVALID_PAGE_STATE, "%s: page 0x%llx is %s", what, a, mc_rmp_page_state_name(found));
    case MC_RMP_FW_BAD_SIZE:
        return psp_fail(err, MC_FW_INVALID_PAGE_SIZE, "%s: the RMP entry of 0x%llx has the other page size", what, a);
    case MC_RMP_FW_BAD_OWNER:
        return psp_fail(err, owner_status, "%s: page 0x%llx belongs to another guest or GPA", what, a);
    case MC_RMP_FW_NO_MEMORY:
        return psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: out of memory in the RMP unit at 0x%llx", what, a);
    }
    return psp_fail(err, MC_FW_HWERROR_PLATFORM, "%s: RMP failure at 0x%llx", what, a);
}

uint32_t psp_rmp_fw_writable(struct mc_psp *psp, uint64_t raw, uint64_t len, const char *what, struct mc_error *err)
{
    if (psp->snp.state == MC_SNP_PSTATE_UNINIT || !len)
        return MC_FW_SUCCESS;
    uint64_t pa = raw & ~(psp->mem.cbit_pos ? 1ull << psp->mem.cbit_pos : 0);
    uint64_t end = pa + len; /* the caller checked the range lies in DRAM */
    for (uint64_t p = pa & ~0xFFFull; p < end; p += MC_SNP_PAGE) {
        struct mc_rmp_entry e;
        enum mc_rmp_page_state st;
        uint32_t s = psp_rmp_get(psp, p, &e, &st, err);
        if (s)
            return s;
        if (st != MC_RMP_PS_FIRMWARE && st != MC_RMP_PS_DEFAULT)
            return psp_fail(err, MC_FW_INVALID_PAGE_STATE,
                            "%s: page 0x%llx is %s; with SNP initialised the firmware writes only Firmware pages",
                            what, (unsigned long long)p, mc_rmp_page_state_name(st));
    }
    return MC_FW_SUCCESS;
}

void psp_snp_cmdbuf_reclaim(struct mc_psp *psp, uint64_t raw)
{
    uint64_t pa = raw & ~(psp->mem.cbit_pos ? 1ull << psp->mem.cbit_pos : 0);
    if (!psp_rmp_covers(psp, pa) || psp_rmp_overlaps(psp, pa & ~0xFFFull, MC_SNP_PAGE))
        return;
    struct mc_rmp_entry e;
    enum mc_rmp_page_state st;
    if (mc_rmp_fw_lookup(unit(psp), pa & ~0xFFFull, MC_SNP_PAGE, &e, &st, NULL) == MC_RMP_FW_OK &&
        st == MC_RMP_PS_FIRMWARE)
        (void)mc_rmp_fw_reclaim(unit(psp), pa & ~0xFFFull, false, NULL);
}
