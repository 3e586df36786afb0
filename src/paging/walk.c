/* x86-64 4-level page walker. Facts: AMD APM vol. 2 ch. 5 (long-mode paging, #PF error code),
 * digest sections 1.6 and 2.1 (C-bit per level, reduced MAXPHYADDR bits reserved); Intel SDM
 * vol. 3 ch. 29.3 (EPT entries, violations, misconfigurations, exit qualification). */
#include <string.h>

#include <memcrypt/paging.h>

#include "paging/walk_internal.h"

static uint64_t bitrange(unsigned hi, unsigned lo) /* bits hi..lo set, hi >= lo, hi <= 63 */
{
    uint64_t top = hi >= 63 ? UINT64_MAX : ((1ull << (hi + 1)) - 1);
    return top & ~((1ull << lo) - 1);
}

static mc_status pf(struct mc_fault *f, uint64_t va, uint64_t code, struct mc_error *err, const char *why)
{
    if (f) {
        f->kind = MC_FAULT_PF;
        f->vector = 14;
        f->error_code = code;
        f->addr = va;
    }
    return mc_seterr(err, MC_E_FAULT, "#PF at 0x%llx, error code 0x%llx: %s", (unsigned long long)va,
                     (unsigned long long)code, why);
}

/* EPT violation / misconfiguration: qualification bit 0 read, 1 write, 2 fetch; bits 3-5 the
 * effective R/W/X of the translation (0 when an entry was not present). */
static mc_status ept_fault(struct mc_fault *f, uint64_t gpa, unsigned acc, uint64_t eff, uint64_t extra,
                           struct mc_error *err, const char *why)
{
    if (f) {
        memset(f, 0, sizeof *f);
        f->kind = MC_FAULT_NPF;
        uint64_t q = (acc & MC_PG_WRITE) ? 2u : (acc & MC_PG_FETCH) ? 4u : 1u;
        f->error_code = q | ((eff & 7) << 3) | extra;
        f->addr = gpa;
    }
    return mc_seterr(err, MC_E_FAULT, "EPT %s at GPA 0x%llx", why, (unsigned long long)gpa);
}

static mc_status walk_ept(const struct mc_paging_mode *mode, const struct mc_pt_io *io, uint64_t eptp, uint64_t gpa,
                          unsigned acc, struct mc_xlat *out, struct mc_fault *fault, struct mc_error *err)
{
    if (gpa >> 48)
        return ept_fault(fault, gpa, acc, 0, 0, err, "violation (GPA beyond the 4-level EPT)");
    const uint64_t addr_mask = bitrange(mode->addr_bits - 1, 12);
    const uint64_t rsvd = mode->addr_bits < 52 ? bitrange(51, mode->addr_bits) : 0;
    uint64_t table = eptp & addr_mask, eff = 7, ent = 0;
    for (int level = 4; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        mc_status st = io->read(io->ctx, table + ((gpa >> shift) & 511) * 8, &ent, fault, err);
        if (st)
            return st;
        if (!(ent & 7))
            return ept_fault(fault, gpa, acc, 0, 0, err, "violation (not present)");
        bool leaf = level == 1 || (ent & MC_EPT_PS);
        uint64_t bad = ent & rsvd;
        if (leaf && level == 4)
            bad = 1; /* bit 7 is reserved in a PML4E */
        if (leaf && level > 1)
            bad |= ent & bitrange(shift - 1, 12); /* large-page address bits below the page size */
        if (leaf) {
            unsigned memtype = (unsigned)(ent >> 3) & 7;
            if (memtype == 2 || memtype == 3 || memtype == 7)
                bad = 1;
        }
        if (((ent & MC_EPT_W) && !(ent & MC_EPT_R)) || bad)
            return ept_fault(fault, gpa, acc, 0, MC_EPT_MISCONFIG, err, "misconfiguration");
        eff &= ent & 7;
        if (leaf) {
            uint64_t size = 1ull << shift;
            bool ok = (acc & MC_PG_WRITE) ? (eff & MC_EPT_W) : (acc & MC_PG_FETCH) ? (eff & MC_EPT_X) : (eff & MC_EPT_R);
            if (!ok)
                return ept_fault(fault, gpa, acc, eff, 0, err, "violation (permission)");
            memset(out, 0, sizeof *out);
            out->page_size = size;
            out->page_base = ent & addr_mask & ~(size - 1);
            out->pa = out->page_base | (gpa & (size - 1));
            out->gpa = out->pa;
            out->readable = eff & MC_EPT_R;
            out->writable = eff & MC_EPT_W;
            out->nx = !(eff & MC_EPT_X);
            out->user = true;
            out->dirty = true; /* no EPT A/D flags: nothing to set on a write */
            out->priv = true;
            return MC_OK;
        }
        table = ent & addr_mask; /* KeyID bits in a table pointer are honoured */
    }
    return mc_seterr(err, MC_E_STATE, "EPT walk ended without a leaf");
}

mc_status mc_walk(const struct mc_paging_mode *mode, const struct mc_pt_io *io, const struct mc_paging_regs *regs,
                  uint64_t va, unsigned acc, struct mc_xlat *out, struct mc_fault *fault, struct mc_error *err)
{
    return mc_walk_internal(mode, io, regs, va, acc, NULL, NULL, out, fault, err);
}

mc_status mc_walk_internal(const struct mc_paging_mode *mode, const struct mc_pt_io *io,
                           const struct mc_paging_regs *regs, uint64_t va, unsigned acc, const struct mc_pde_info *start,
                           struct mc_pde_info *pde_out, struct mc_xlat *out, struct mc_fault *fault, struct mc_error *err)
{
    if (!mode || !io || !io->read || !regs || !out)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to mc_walk");
    if (acc & ~(MC_PG_WRITE | MC_PG_USER | MC_PG_FETCH) || ((acc & MC_PG_WRITE) && (acc & MC_PG_FETCH)))
        return mc_seterr(err, MC_E_INVAL, "invalid access flags 0x%x", acc);
    if (mode->addr_bits < 32 || mode->addr_bits > 52 || mode->enc_bit > 63 ||
        (mode->enc_bit >= 0 && (unsigned)mode->enc_bit < mode->addr_bits))
        return mc_seterr(err, MC_E_INVAL, "invalid paging mode (%u address bits, encryption bit %d)", mode->addr_bits,
                         mode->enc_bit);
    if (fault)
        fault->kind = MC_FAULT_NONE;
    if (pde_out)
        pde_out->valid = false;
    if (mode->format == MC_PT_EPT)
        return start ? mc_seterr(err, MC_E_INVAL, "EPT walks take no paging-structure cache entry")
                     : walk_ept(mode, io, regs->cr3, va, acc, out, fault, err);
    if (mode->format != MC_PT_X86)
        return mc_seterr(err, MC_E_INVAL, "unknown page-table format %d", (int)mode->format);

    if (!(regs->cr0 & MC_CR0_PG)) { /* paging off: identity, every access allowed */
        memset(out, 0, sizeof *out);
        out->pa = out->gpa = va;
        out->page_base = va & ~0xFFFull;
        out->page_size = 4096;
        out->writable = out->user = out->readable = out->priv = true;
        return MC_OK;
    }
    if (!(regs->cr4 & MC_CR4_PAE) || !(regs->efer & MC_EFER_LME))
        return mc_seterr(err, MC_E_UNSUPPORTED, "only 4-level long-mode paging is modelled (CR4.PAE and EFER.LME)");
    /* Canonical: bits 63:47 equal. */
    uint64_t top = va >> 47;
    if (top != 0 && top != 0x1FFFF) {
        if (fault) {
            fault->kind = MC_FAULT_GP;
            fault->vector = 13;
            fault->error_code = 0;
            fault->addr = va;
        }
        return mc_seterr(err, MC_E_FAULT, "#GP(0): 0x%llx is not a canonical address", (unsigned long long)va);
    }

    const bool nxe = regs->efer & MC_EFER_NXE, smep = regs->cr4 & MC_CR4_SMEP;
    const bool user = acc & MC_PG_USER, write = acc & MC_PG_WRITE, fetch = acc & MC_PG_FETCH;
    uint64_t code = (write ? MC_PF_W : 0) | (user ? MC_PF_U : 0) | (fetch && (nxe || smep) ? MC_PF_ID : 0);
    const uint64_t enc = mode->enc_bit >= 0 ? 1ull << mode->enc_bit : 0;
    const uint64_t addr_mask = bitrange(mode->addr_bits - 1, 12);
    const uint64_t rsvd_addr = (mode->addr_bits < 52 ? bitrange(51, mode->addr_bits) : 0) & ~enc;

    uint64_t table = start ? start->pt_base : (regs->cr3 & addr_mask) | (regs->cr3 & enc);
    uint64_t eaddr[5] = {0}, ent[5] = {0};
    bool w = start ? start->w : true, u = start ? start->u : true, nx = start ? start->nx : false;
    const int first_level = start ? 1 : 4;
    int level;
    uint64_t size = 0;
    for (level = first_level; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t a = table + ((va >> shift) & 511) * 8;
        uint64_t e;
        mc_status st = io->read(io->ctx, a, &e, fault, err);
        if (st)
            return st;
        eaddr[level] = a;
        ent[level] = e;
        if (!(e & MC_PTE_P))
            return pf(fault, va, code, err, "page not present");
        uint64_t rsvd = e & rsvd_addr;
        if (!nxe)
            rsvd |= e & MC_PTE_NX;
        if (level == 4)
            rsvd |= e & MC_PTE_PS;
        if (level == 3 && (e & MC_PTE_PS))
            rsvd |= e & bitrange(29, 13);
        if (level == 2 && (e & MC_PTE_PS))
            rsvd |= e & bitrange(20, 13);
        if (rsvd)
            return pf(fault, va, code | MC_PF_P | MC_PF_RSVD, err, "reserved bit set in a paging-structure entry");
        w = w && (e & MC_PTE_W);
        u = u && (e & MC_PTE_U);
        nx = nx || (nxe && (e & MC_PTE_NX));
        if (level == 1 || ((level == 2 || level == 3) && (e & MC_PTE_PS))) {
            size = 1ull << shift;
            break;
        }
        table = (e & addr_mask) | (e & enc);
        if (level == 2 && pde_out) /* paging-structure cache candidate: the PT and upper-level rights */
            *pde_out = (struct mc_pde_info){table, w, u, nx, true};
    }
    const uint64_t leaf = ent[level];

    if (user && !u)
        return pf(fault, va, code | MC_PF_P, err, "user access to a supervisor page");
    if (write && !w && (user || (regs->cr0 & MC_CR0_WP)))
        return pf(fault, va, code | MC_PF_P, err, "write to a read-only page");
    if (fetch && nx)
        return pf(fault, va, code | MC_PF_P, err, "instruction fetch from a no-execute page");
    if (fetch && !user && u && smep)
        return pf(fault, va, code | MC_PF_P, err, "supervisor fetch from a user page (SMEP)");

    /* Accessed and dirty bits. */
    for (int l = first_level; l >= level; l--) {
        uint64_t want = ent[l] | MC_PTE_A;
        if (l == level && write)
            want |= MC_PTE_D;
        if (want != ent[l]) {
            if (!io->write)
                return mc_seterr(err, MC_E_INVAL, "the table interface cannot write accessed/dirty bits");
            mc_status st = io->write(io->ctx, eaddr[l], want, fault, err);
            if (st)
                return st;
        }
    }
    memset(out, 0, sizeof *out);
    out->page_size = size;
    out->page_base = (leaf & addr_mask & ~(size - 1)) | (leaf & enc);
    out->pa = out->page_base + (va & (size - 1));
    out->writable = w;
    out->user = u;
    out->nx = nx;
    out->global = leaf & MC_PTE_G;
    out->dirty = write || (leaf & MC_PTE_D);
    out->readable = out->priv = true;
    out->gpa = out->pa;
    return MC_OK;
}
