/* Key-domain selection: a pure function of (access descriptor, platform). */
#include <stdio.h>

#include <memcrypt/mc.h>

#include "mc/mc_int.h"

static uint64_t bits_below(unsigned n) { return n >= 64 ? UINT64_MAX : ((1ull << n) - 1); }

unsigned memctl_platform_addr_bits(const struct memctl_platform *p)
{
    if (!p)
        return 0;
    switch (p->mode) {
    case MEMCTL_MODE_SME:
    case MEMCTL_MODE_TSME:
        return p->phys_bits - p->reduction;
    case MEMCTL_MODE_TME:
        return p->phys_bits - p->keyid_bits;
    default:
        return p->phys_bits;
    }
}

mc_status memctl_platform_check(const struct memctl_platform *p, struct mc_error *err)
{
    if (!p)
        return mc_seterr(err, MC_E_INVAL, "the platform description is NULL");
    if (p->mode > MEMCTL_MODE_TME)
        return mc_seterr(err, MC_E_INVAL, "unknown memory-encryption mode %d", (int)p->mode);
    if (p->phys_bits < 32 || p->phys_bits > 52)
        return mc_seterr(err, MC_E_INVAL, "physical address width %u is outside 32..52", p->phys_bits);
    if (p->mode == MEMCTL_MODE_SME || p->mode == MEMCTL_MODE_TSME) {
        if (p->cbit < 32 || p->cbit > 63)
            return mc_seterr(err, MC_E_INVAL, "C-bit position %u is outside 32..63", p->cbit);
        if (p->reduction > 20 || p->phys_bits - p->reduction < 32)
            return mc_seterr(err, MC_E_INVAL, "physical-address reduction %u is too large for %u address bits",
                             p->reduction, p->phys_bits);
        if (p->cbit < p->phys_bits - p->reduction)
            return mc_seterr(err, MC_E_INVAL, "the C-bit (%u) lies inside the usable address bits (%u)", p->cbit,
                             p->phys_bits - p->reduction);
    }
    if (p->mode == MEMCTL_MODE_TME) {
        if (p->keyid_bits > 15 || p->phys_bits - p->keyid_bits < 32)
            return mc_seterr(err, MC_E_INVAL, "KeyID bit count %u is invalid for MAXPHYADDR %u", p->keyid_bits,
                             p->phys_bits);
        if (p->excl_enable) {
            uint64_t field = bits_below(p->phys_bits) & ~0xFFFull;
            if ((p->excl_base & ~field) || (p->excl_mask & ~field))
                return mc_seterr(err, MC_E_INVAL, "TME exclusion base/mask have bits outside [MAXPHYADDR-1:12]");
            /* One contiguous region: the mask must be ones from bit M-1 down to some bit >= 12. */
            uint64_t inv = (~p->excl_mask) & field;
            if (inv & (inv + 0x1000) & field)
                return mc_seterr(err, MC_E_INVAL, "TME exclusion mask 0x%llx does not describe one contiguous region",
                                 (unsigned long long)p->excl_mask);
        }
    }
    return MC_OK;
}

const char *memctl_domain_name(struct memctl_domain d, char *buf, size_t n)
{
    if (!buf || !n)
        return "";
    switch (d.kind) {
    case MEMCTL_DOM_PLAIN: snprintf(buf, n, "plaintext"); break;
    case MEMCTL_DOM_HOST: snprintf(buf, n, "host"); break;
    case MEMCTL_DOM_TSME: snprintf(buf, n, "tsme"); break;
    case MEMCTL_DOM_ASID: snprintf(buf, n, "asid %u", d.id); break;
    case MEMCTL_DOM_KEYID: snprintf(buf, n, "keyid %u", d.id); break;
    default: snprintf(buf, n, "unknown"); break;
    }
    return buf;
}

static mc_status width_fault(struct mc_fault *f, uint64_t addr, struct mc_error *err, unsigned bits)
{
    if (f) {
        f->kind = MC_FAULT_GP;
        f->vector = 13;
        f->error_code = 0;
        f->addr = addr;
    }
    return mc_seterr(err, MC_E_FAULT, "#GP(0): physical address 0x%llx has bits set at or above the usable width (%u bits)",
                     (unsigned long long)addr, bits);
}

mc_status memctl_select_domain(const struct memctl_platform *p, const struct memctl_access *a, struct memctl_route *out,
                           struct mc_fault *fault, struct mc_error *err)
{
    if (!p || !a || !out)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to memctl_select_domain");
    mc_status st = memctl_platform_check(p, err);
    return st ? st : memctl_select_checked(p, a, out, fault, err);
}

mc_status memctl_select_checked(const struct memctl_platform *p, const struct memctl_access *a, struct memctl_route *out,
                            struct mc_fault *fault, struct mc_error *err)
{
    if (a->kind > MEMCTL_ACC_WALK || a->req > MEMCTL_REQ_PSP)
        return mc_seterr(err, MC_E_INVAL, "unknown access kind or requester");
    if (a->size == 0 || a->size > (1ull << 52))
        return mc_seterr(err, MC_E_RANGE, "access size %llu is zero or too large", (unsigned long long)a->size);
    if (a->req == MEMCTL_REQ_GUEST && a->asid == 0)
        return mc_seterr(err, MC_E_INVAL, "a guest access needs an ASID > 0");

    uint64_t addr = a->addr;
    unsigned abits = memctl_platform_addr_bits(p);
    struct memctl_route r = {0};
    bool c = false;

    if (p->mode == MEMCTL_MODE_SME || p->mode == MEMCTL_MODE_TSME) {
        c = (addr >> p->cbit) & 1;
        addr &= ~(1ull << p->cbit);
    }
    if (p->mode == MEMCTL_MODE_TME) {
        /* KeyID bits [M-1:M-K] are address bits for the CPU, not for DRAM; only bits >= M fault. */
        if (a->addr >> p->phys_bits)
            return width_fault(fault, a->addr, err, p->phys_bits);
        addr &= bits_below(abits);
    }
    uint64_t last = addr + (a->size - 1);
    if (last < addr || (last >> abits) != 0 || (addr >> abits) != 0)
        return width_fault(fault, a->addr, err, abits);

    switch (p->mode) {
    case MEMCTL_MODE_OFF:
        r.pa = addr;
        r.dom.kind = MEMCTL_DOM_PLAIN;
        break;
    case MEMCTL_MODE_TSME:
        r.pa = addr;
        r.dom.kind = MEMCTL_DOM_TSME;
        break;
    case MEMCTL_MODE_SME:
        r.pa = addr;
        switch (a->req) {
        case MEMCTL_REQ_GUEST:
            /* Digest 2.2: fetches and guest table walks are always private; guest C=1 wins over
             * the NPT C-bit; guest C=0 uses the host key only when the NPT C-bit is set. */
            if (a->kind == MEMCTL_ACC_FETCH || a->kind == MEMCTL_ACC_WALK || a->guest_c)
                r.dom = (struct memctl_domain){MEMCTL_DOM_ASID, a->asid};
            else
                r.dom.kind = c ? MEMCTL_DOM_HOST : MEMCTL_DOM_PLAIN;
            break;
        case MEMCTL_REQ_PSP:
            if (a->asid)
                r.dom = (struct memctl_domain){MEMCTL_DOM_ASID, a->asid};
            else
                r.dom.kind = c ? MEMCTL_DOM_HOST : MEMCTL_DOM_PLAIN;
            break;
        default:
            r.dom.kind = c ? MEMCTL_DOM_HOST : MEMCTL_DOM_PLAIN;
            break;
        }
        break;
    case MEMCTL_MODE_TME: {
        unsigned shift = p->phys_bits - p->keyid_bits;
        uint32_t keyid = p->keyid_bits ? (uint32_t)((a->addr >> shift) & bits_below(p->keyid_bits)) : 0;
        r.pa = addr;
        if (keyid == 0 && (p->tme_bypass ||
                           (p->excl_enable && (addr & p->excl_mask) == (p->excl_base & p->excl_mask))))
            r.dom.kind = MEMCTL_DOM_PLAIN;
        else
            r.dom = (struct memctl_domain){MEMCTL_DOM_KEYID, keyid};
        break;
    }
    }
    *out = r;
    return MC_OK;
}
