/* The RMP access checks (SNP ABI digest §1.5) on the one access path and on the DMA port.
 * Decisions on unconfirmed points: docs/snp-platform.md, "The RMP". */
#include "rmp/rmp_int.h"

/* #PF / #NPF error-code bits of the access itself: P (a protection fault), W, U, ID. */
static uint64_t access_bits(const struct mc_access_check *k)
{
    uint64_t c = MC_PF_P;
    if (k->a->kind == MEMCTL_ACC_WRITE)
        c |= MC_PF_W;
    if (k->user)
        c |= MC_PF_U;
    if (k->a->kind == MEMCTL_ACC_FETCH)
        c |= MC_PF_ID;
    return c;
}

/* Any assigned page in [first, last] (PFNs)? A region governed by an assigned 2 MiB entry counts
 * as assigned as a whole. */
static mc_status any_assigned(struct mc_rmp *r, uint64_t first, uint64_t last, bool *hit, struct mc_error *err)
{
    *hit = false;
    for (uint64_t pfn = first; pfn <= last; pfn++) {
        if (!rmp_covered(r, pfn))
            continue;
        struct mc_rmp_entry e;
        bool large;
        mc_status st = rmp_authoritative(r, pfn, &e, &large, err);
        if (st)
            return st;
        if (e.assigned) {
            *hit = true;
            return MC_OK;
        }
        if (last - first > 512 && (pfn & 511) == 0 && large)
            pfn += 511;
    }
    return MC_OK;
}

/* Host accesses, and those of guests that are not SNP-active: only writes are checked; a write
 * to an assigned page — or through a large mapping whose range holds one — faults. */
static mc_status check_host(struct mc_rmp *r, const struct mc_access_check *k, struct mc_fault *f,
                            struct mc_error *err)
{
    const struct memctl_access *a = k->a;
    if (a->kind != MEMCTL_ACC_WRITE)
        return MC_OK;
    uint64_t spa = a->addr & ~r->cmask;
    uint64_t first = spa >> 12, last = (spa + a->size - 1) >> 12;
    if (!k->table && k->page_size > 4096) { /* the whole large mapping */
        first = (spa & ~(k->page_size - 1)) >> 12;
        last = first + (k->page_size >> 12) - 1;
    }
    bool hit;
    mc_status st = any_assigned(r, first, last, &hit, err);
    if (st)
        return st;
    if (!hit) {
        if (rmp_is_table_page(r, spa >> 12))
            r->gen++; /* a store into the table itself (before SNP_INIT made it Firmware) */
        return MC_OK;
    }
    if (a->req == MEMCTL_REQ_GUEST) /* a guest without SNP: the hypervisor learns of it as an #NPF */
        return rmp_fault(f, MC_FAULT_NPF,
                         access_bits(k) | MC_NPF_RMP | (k->table ? MC_NPF_TABLE : MC_NPF_FINAL), k->gpa, err,
                         "#NPF (RMP): a write of a guest without SNP to an assigned page");
    return rmp_fault(f, MC_FAULT_PF, access_bits(k) | MC_PF_RMP, k->va, err,
                     k->table ? "#PF (RMP): a page-table update (accessed/dirty) in an assigned page"
                     : k->page_size > 4096 ? "#PF (RMP): a host write through a large mapping that covers an assigned page"
                                           : "#PF (RMP): a host write to an assigned page");
}

static mc_status npf(struct mc_fault *f, const struct mc_access_check *k, uint64_t bits, struct mc_error *err,
                     const char *why)
{
    return rmp_fault(f, MC_FAULT_NPF, access_bits(k) | bits | (k->table ? MC_NPF_TABLE : MC_NPF_FINAL), k->gpa, err, why);
}

/* VMPL permission bit an access needs. */
static uint8_t vmpl_need(const struct mc_access_check *k)
{
    switch (k->a->kind) {
    case MEMCTL_ACC_WRITE: return MC_VMPL_WRITE;
    case MEMCTL_ACC_FETCH: return k->user ? MC_VMPL_EXEC_USER : MC_VMPL_EXEC_SUPER;
    default: return MC_VMPL_READ;
    }
}

static mc_status check_guest(struct mc_rmp *r, const struct mc_access_check *k, struct mc_fault *f,
                             struct mc_error *err)
{
    const struct memctl_access *a = k->a;
    uint64_t pfn = (a->addr & ~r->cmask) >> 12;
    struct mc_rmp_entry e = {0};
    bool large = false;
    if (rmp_covered(r, pfn)) {
        mc_status st = rmp_authoritative(r, pfn, &e, &large, err);
        if (st)
            return st;
    }
    if (!k->priv) { /* shared: the page must belong to the hypervisor */
        if (e.assigned)
            return npf(f, k, MC_NPF_RMP, err, "#NPF (RMP): a shared guest access to an assigned page");
        return MC_OK;
    }
    const uint64_t want_gpa = k->gpa & ~(large ? RMP_2M - 1 : 4095ull);
    if (!e.assigned || e.asid != a->asid || e.gpa != want_gpa || e.immutable)
        return npf(f, k, MC_NPF_RMP | MC_NPF_ENC, err,
                   "#NPF (RMP): a private guest access to a page that is not this guest's page at this GPA");
    if (large && k->page_size < RMP_2M)
        return npf(f, k, MC_NPF_RMP | MC_NPF_ENC | MC_NPF_SIZEM, err,
                   "#NPF (RMP, SIZEM): a 4 KiB nested mapping of a page the RMP holds as 2 MiB");
    if (!e.validated)
        return rmp_fault(f, MC_FAULT_VC, MC_VC_NOT_VALIDATED, k->gpa, err,
                         "#VC 0x404: an access to a page the guest has not validated");
    if (e.vmsa && a->kind == MEMCTL_ACC_WRITE && !k->table)
        return npf(f, k, MC_NPF_RMP | MC_NPF_ENC, err, "#NPF (RMP): a guest write to a VMSA page");
    if (k->vmpl && k->vmpl < 4 && !(e.perm[k->vmpl] & vmpl_need(k)))
        return npf(f, k, MC_NPF_VMPL | MC_NPF_ENC, err,
                   "#NPF (VMPL): the vCPU's VMPL lacks the permission for this access");
    return MC_OK;
}

mc_status mc_rmp_check(void *rmp, const struct mc_access_check *k, struct mc_fault *f, struct mc_error *err)
{
    struct mc_rmp *r = rmp;
    if (!r || !k || !r->snp_en)
        return MC_OK;
    if (k->a->req == MEMCTL_REQ_GUEST && k->snp && !k->nested)
        return check_guest(r, k, f, err);
    return check_host(r, k, f, err);
}

mc_status mc_rmp_check_dma(void *rmp, uint64_t bus, uint64_t len, bool write, struct mc_error *err)
{
    struct mc_rmp *r = rmp;
    if (!r || !r->snp_en || !len)
        return MC_OK;
    uint64_t spa = bus & ~r->cmask;
    bool hit;
    mc_status st = any_assigned(r, spa >> 12, (spa + len - 1) >> 12, &hit, err);
    if (st)
        return st;
    if (!hit) {
        if (write && r->base && spa <= r->end && spa + len - 1 >= r->base)
            r->gen++; /* a device wrote into the table itself (before SNP_INIT made it Firmware) */
        return MC_OK;
    }
    return mc_seterr(err, MC_E_VERIFY, "IOMMU: DMA %s 0x%llx+0x%llx touches an assigned page (RMP check, target abort)",
                     write ? "write to" : "read from", (unsigned long long)bus, (unsigned long long)len);
}

mc_status mc_rmp_check_host_write(struct mc_rmp *r, uint64_t spa, uint64_t len, struct mc_fault *f,
                                  struct mc_error *err)
{
    if (!r || !r->snp_en || !len)
        return MC_OK;
    spa &= ~r->cmask;
    bool hit;
    mc_status st = any_assigned(r, spa >> 12, (spa + len - 1) >> 12, &hit, err);
    if (st || !hit)
        return st;
    return rmp_fault(f, MC_FAULT_PF, MC_PF_P | MC_PF_W | MC_PF_RMP, spa, err,
                     "#PF (RMP): a host write to an assigned page");
}
