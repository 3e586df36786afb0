/* The RMP instructions: RMPUPDATE, PSMASH, RMPREAD (host), PVALIDATE, RMPADJUST (SNP guest).
 * Return codes and rules: SNP ABI digest §1.4; decisions on unconfirmed side effects:
 * docs/snp-platform.md, "The RMP". */
#include <stdlib.h>
#include <string.h>

#include "rmp/rmp_int.h"

static mc_status ud(struct mc_fault *f, struct mc_error *err, const char *why)
{
    return rmp_fault(f, MC_FAULT_UD, 0, 0, err, why);
}

static mc_status done(uint32_t *eax, uint32_t code)
{
    *eax = code;
    return MC_OK;
}

/* Host instructions: SNP_EN set, a SPA the RMP covers (not beyond DRAM). */
static mc_status host_front(struct mc_rmp *r, const void *out, struct mc_fault *f, struct mc_error *err,
                            const char *name)
{
    if (!r || !out)
        return mc_seterr(err, MC_E_INVAL, "%s needs the RMP unit and an output", name);
    if (f)
        f->kind = MC_FAULT_NONE;
    if (!r->snp_en) {
        rmp_fault(f, MC_FAULT_UD, 0, 0, NULL, "");
        return mc_seterr(err, MC_E_FAULT, "#UD: %s with SYSCFG.SNP_EN clear", name);
    }
    return MC_OK;
}

/* Is spa (RAX) a page the instruction may name: aligned to `align`, no bits beyond the address
 * width (the C-bit included), inside DRAM and the RMP's coverage? */
static bool spa_ok(const struct mc_rmp *r, uint64_t spa, uint64_t align)
{
    if ((spa & (align - 1)) || spa >= r->dram_size || r->dram_size - spa < align)
        return false;
    uint64_t pfn = spa >> 12;
    return rmp_covered(r, pfn + align / 4096 - 1);
}

static uint8_t vmpl0_perm(bool guest) { return guest ? MC_VMPL_ALL : 0; }

mc_status mc_rmp_rmpupdate(struct mc_rmp *r, uint64_t spa, const struct mc_rmp_state *s, uint32_t *eax,
                           struct mc_fault *fault, struct mc_error *err)
{
    mc_status st = host_front(r, eax, fault, err, "RMPUPDATE");
    if (st)
        return st;
    if (!s)
        return mc_seterr(err, MC_E_INVAL, "RMPUPDATE needs the new state");
    const bool large = s->pagesize & 1;
    const uint64_t align = large ? RMP_2M : 4096;
    /* The block: reserved bits clear; an unassigned page carries no owner; the ASID is one the
     * CPU has; the GPA is aligned and fits the field. HV-Fixed is the firmware's to set. */
    if ((s->assigned & ~1u) || (s->pagesize & ~1u) || (s->immutable & ~1u) || s->rsvd ||
        (s->gpa & (align - 1)) || (s->gpa >> 51) || s->asid > r->max_asid ||
        (!s->assigned && (s->asid || s->gpa || s->immutable)) || (s->assigned && !s->asid && s->gpa))
        return done(eax, MC_RMP_FAIL_INPUT);
    if (!spa_ok(r, spa, align))
        return done(eax, MC_RMP_FAIL_INPUT);
    const uint64_t pfn = spa >> 12, head = pfn & ~511ull;
    struct mc_rmp_entry *reg = malloc(RMP_PAGES_2M * sizeof *reg);
    if (!reg)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    bool region = rmp_covered(r, head + RMP_PAGES_2M - 1);
    if (region)
        st = rmp_get_region(r, head, reg, err);
    else
        st = rmp_get(r, pfn, &reg[pfn - head], err);
    if (st)
        goto out;
    const struct mc_rmp_entry *cur = &reg[pfn - head];
    const bool head_large = region && reg[0].large && reg[0].assigned;
    struct mc_rmp_entry e = {0};
    e.assigned = s->assigned;
    e.large = large;
    e.immutable = s->immutable;
    e.gpa = s->gpa;
    e.asid = s->asid;
    if (!large) {
        if ((head_large ? reg[0].immutable : cur->immutable)) {
            *eax = MC_RMP_FAIL_PERMISSION;
            goto out;
        }
        if (head_large) { /* a 4 KiB update inside a 2 MiB entry: PSMASH first */
            *eax = MC_RMP_FAIL_OVERLAP;
            goto out;
        }
        /* Identity unchanged: Validated, VMSA and the VMPL permissions stay. */
        if (cur->assigned == e.assigned && cur->asid == e.asid && cur->gpa == e.gpa && !cur->large) {
            e.validated = cur->validated;
            e.vmsa = cur->vmsa;
            memcpy(e.perm, cur->perm, 4);
        } else {
            e.perm[0] = vmpl0_perm(e.assigned && e.asid);
        }
        if (region && reg[0].large && (st = rmp_normalize_region(r, pfn, err)))
            goto out;
        struct mc_rmp_entry old = *cur;
        if (region && reg[0].large)
            old.large = false;
        st = rmp_put(r, pfn, &old, &e, err);
        *eax = MC_RMP_SUCCESS;
        goto out;
    }
    /* 2 MiB: every entry of the region must be mutable; 4 KiB assigned entries overlap. */
    for (unsigned i = 0; i < RMP_PAGES_2M; i++)
        if (reg[i].immutable) {
            *eax = MC_RMP_FAIL_PERMISSION;
            goto out;
        }
    if (!head_large)
        for (unsigned i = 0; i < RMP_PAGES_2M; i++)
            if (reg[i].assigned) {
                *eax = MC_RMP_FAIL_OVERLAP;
                goto out;
            }
    if (head_large && reg[0].assigned == e.assigned && reg[0].asid == e.asid && reg[0].gpa == e.gpa) {
        e.validated = reg[0].validated;
        memcpy(e.perm, reg[0].perm, 4);
    } else {
        e.perm[0] = vmpl0_perm(e.assigned && e.asid);
    }
    st = rmp_put_region(r, head, reg, &e, e.assigned, err);
    *eax = MC_RMP_SUCCESS;
out:
    free(reg);
    return st;
}

mc_status mc_rmp_psmash(struct mc_rmp *r, uint64_t spa, uint32_t *eax, struct mc_fault *fault, struct mc_error *err)
{
    mc_status st = host_front(r, eax, fault, err, "PSMASH");
    if (st)
        return st;
    if (!spa_ok(r, spa, RMP_2M))
        return done(eax, MC_RMP_FAIL_INPUT);
    const uint64_t head = spa >> 12;
    struct mc_rmp_entry *reg = malloc(RMP_PAGES_2M * sizeof *reg);
    if (!reg)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    st = rmp_get_region(r, head, reg, err);
    if (!st && !(reg[0].large && reg[0].assigned && reg[0].asid)) {
        *eax = MC_RMP_FAIL_BADADDR; /* not a guest's 2 MiB entry: not eligible */
    } else if (!st) {
        struct mc_rmp_entry t = reg[0];
        t.large = false;
        st = rmp_put_region(r, head, reg, &t, true, err);
        *eax = MC_RMP_SUCCESS;
    }
    free(reg);
    return st;
}

mc_status mc_rmp_rmpread(struct mc_rmp *r, uint64_t spa, struct mc_rmp_state *out, uint32_t *eax,
                         struct mc_fault *fault, struct mc_error *err)
{
    if (r && !r->has_rmpread) {
        if (fault)
            fault->kind = MC_FAULT_NONE;
        return ud(fault, err, "#UD: RMPREAD needs a Zen 5 CPU (CPUID 8000_001F EAX[21])");
    }
    mc_status st = host_front(r, eax, fault, err, "RMPREAD");
    if (st)
        return st;
    if (!out)
        return mc_seterr(err, MC_E_INVAL, "RMPREAD needs an output block");
    if (!spa_ok(r, spa, 4096))
        return done(eax, MC_RMP_FAIL_INPUT);
    const uint64_t pfn = spa >> 12, head = pfn & ~511ull;
    struct mc_rmp_entry e;
    bool large;
    if ((st = rmp_authoritative(r, pfn, &e, &large, err)))
        return st;
    if (large && head != pfn && (st = rmp_get(r, pfn, &e, err))) /* the page's own GPA */
        return st;
    *out = (struct mc_rmp_state){.gpa = e.gpa, .assigned = e.assigned, .pagesize = large, .immutable = e.immutable,
                                 .asid = e.asid};
    if (!large && rmp_covered(r, head + RMP_PAGES_2M - 1)) { /* bit 1: a 4 KiB assignment in the region */
        struct mc_rmp_entry *reg = malloc(RMP_PAGES_2M * sizeof *reg);
        if (!reg)
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        st = rmp_get_region(r, head, reg, err);
        for (unsigned i = 0; !st && i < RMP_PAGES_2M; i++)
            if (reg[i].assigned)
                out->pagesize |= 2;
        free(reg);
        if (st)
            return st;
    }
    return done(eax, MC_RMP_SUCCESS);
}

/* ---------------------------------------------------------------- guest -- */

/* The vCPU's translation of va and the entry that governs it. NPF/#PF of the walk come back. */
struct gtarget {
    struct mc_xlat x;
    uint64_t pfn;
    struct mc_rmp_entry e;
    bool large;
};

static mc_status guest_front(struct mc_rmp *r, struct mc_lcpu *v, const void *eax, struct mc_fault *f,
                             struct mc_error *err, const char *name)
{
    if (!r || !v || !eax)
        return mc_seterr(err, MC_E_INVAL, "%s needs the RMP unit, a vCPU and an output", name);
    if (f)
        f->kind = MC_FAULT_NONE;
    if (!r->snp_en || mc_lcpu_requester(v) != MEMCTL_REQ_GUEST || !mc_lcpu_snp(v))
        return ud(f, err, "#UD: an RMP guest instruction outside an SNP-active guest");
    return MC_OK;
}

static mc_status guest_target(struct mc_rmp *r, struct mc_lcpu *v, uint64_t va, bool size_2m, struct gtarget *t,
                              struct mc_fault *f, struct mc_error *err)
{
    mc_status st = mc_lcpu_translate(v, va, 0, &t->x, f, err);
    if (st)
        return st;
    uint64_t spa = t->x.pa & ~r->cmask;
    t->pfn = spa >> 12;
    memset(&t->e, 0, sizeof t->e);
    t->large = false;
    if (rmp_covered(r, t->pfn) && (st = rmp_authoritative(r, t->pfn, &t->e, &t->large, err)))
        return st;
    const uint64_t want = t->x.gpa & ~(t->large ? RMP_2M - 1 : 4095ull);
    const uint64_t code = MC_PF_P | MC_NPF_RMP | MC_NPF_ENC | MC_NPF_FINAL;
    if (!t->e.assigned || t->e.asid != mc_lcpu_asid(v) || t->e.gpa != want || t->e.immutable)
        return rmp_fault(f, MC_FAULT_NPF, code, t->x.gpa, err,
                         "#NPF (RMP): the page is not this guest's page at this GPA");
    if (!size_2m && t->large)
        return rmp_fault(f, MC_FAULT_NPF, code | MC_NPF_SIZEM, t->x.gpa, err,
                         "#NPF (RMP, SIZEM): a 4 KiB operation on a page the RMP holds as 2 MiB");
    return MC_OK;
}

/* A 2 MiB operation needs a 2 MiB RMP entry and a mapping of at least 2 MiB in the nested stage. */
static bool size_mismatch(const struct gtarget *t, bool size_2m)
{
    return size_2m && (!t->large || t->x.nested_size < RMP_2M);
}

static mc_status write_target(struct mc_rmp *r, const struct gtarget *t, const struct mc_rmp_entry *e,
                              struct mc_error *err)
{
    if (!t->large)
        return rmp_put(r, t->pfn, &t->e, e, err);
    uint64_t head = t->pfn & ~511ull;
    struct mc_rmp_entry *reg = malloc(RMP_PAGES_2M * sizeof *reg);
    if (!reg)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status st = rmp_get_region(r, head, reg, err);
    if (!st)
        st = rmp_put_region(r, head, reg, e, true, err);
    free(reg);
    return st;
}

mc_status mc_rmp_pvalidate(struct mc_rmp *r, struct mc_lcpu *v, uint64_t va, bool size_2m, bool validate,
                           uint32_t *eax, bool *cf, struct mc_fault *fault, struct mc_error *err)
{
    mc_status st = guest_front(r, v, eax, fault, err, "PVALIDATE");
    if (st)
        return st;
    if (cf)
        *cf = false;
    if (mc_lcpu_vmpl(v) != 0)
        return rmp_fault(fault, MC_FAULT_GP, 0, 0, err, "#GP(0): PVALIDATE outside VMPL0");
    if (va & (size_2m ? RMP_2M - 1 : 4095))
        return done(eax, MC_RMP_FAIL_INPUT);
    struct gtarget t;
    if ((st = guest_target(r, v, va, size_2m, &t, fault, err)))
        return st;
    if (size_mismatch(&t, size_2m))
        return done(eax, MC_RMP_FAIL_SIZEMISMATCH);
    if (t.e.validated == validate) {
        if (cf)
            *cf = true;
        return done(eax, MC_RMP_SUCCESS);
    }
    struct mc_rmp_entry e = t.e;
    e.validated = validate;
    if (t.large)
        e.gpa = t.e.gpa;
    st = write_target(r, &t, &e, err);
    return st ? st : done(eax, MC_RMP_SUCCESS);
}

mc_status mc_rmp_rmpadjust(struct mc_rmp *r, struct mc_lcpu *v, uint64_t va, bool size_2m, uint64_t rdx,
                           uint32_t *eax, struct mc_fault *fault, struct mc_error *err)
{
    mc_status st = guest_front(r, v, eax, fault, err, "RMPADJUST");
    if (st)
        return st;
    if (!r->vmpl_en)
        return ud(fault, err, "#UD: RMPADJUST with SYSCFG.VMPL_EN clear");
    const unsigned target = (unsigned)(rdx & 0xFF), cur = mc_lcpu_vmpl(v);
    const uint8_t perm = (uint8_t)(rdx >> 8);
    const bool vmsa = (rdx >> 16) & 1;
    if ((va & (size_2m ? RMP_2M - 1 : 4095)) || target > 3 || (perm & ~MC_VMPL_ALL) || (rdx >> 17) ||
        (vmsa && size_2m))
        return done(eax, MC_RMP_FAIL_INPUT);
    if (target <= cur)
        return done(eax, MC_RMP_FAIL_PERMISSION);
    struct gtarget t;
    if ((st = guest_target(r, v, va, size_2m, &t, fault, err)))
        return st;
    if (size_mismatch(&t, size_2m))
        return done(eax, MC_RMP_FAIL_SIZEMISMATCH);
    const uint8_t mine = cur == 0 ? MC_VMPL_ALL : t.e.perm[cur];
    if (!t.e.validated || (perm & ~mine) || (vmsa && cur != 0))
        return done(eax, MC_RMP_FAIL_PERMISSION);
    struct mc_rmp_entry e = t.e;
    e.perm[target] = perm;
    if (cur == 0)
        e.vmsa = vmsa;
    st = write_target(r, &t, &e, err);
    return st ? st : done(eax, MC_RMP_SUCCESS);
}
