/* The one CPU-side access path: TLB -> guest walk -> nested walk -> access check hook -> memory
 * controller. See include/memcrypt/lcpu.h. Facts: AMD APM vol. 2 §15.25 (nested paging, #NPF
 * EXITINFO1, TLB_CONTROL, INVLPGA), Intel SDM vol. 3 §28.3/29.4 (VPID/EPT-tagged TLB entries,
 * INVEPT/INVVPID), the x86 TLB rules of both (MOV CR3, INVLPG, global pages). */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/lcpu.h>

#include "crypto/crypto.h"
#include "paging/walk_internal.h"

struct mc_lcpu {
    struct memctl *mc;
    struct mc_tlb *tlb;
    struct mc_paging_regs regs;  /* the CPU's own CR0/CR3/CR4/EFER */
    struct mc_paging_regs nregs; /* what the nested walk and its TLB entries are checked with */
    enum mc_nest nest;
    enum memctl_requester req;
    uint32_t asid; /* TLB tag; SEV key ASID for guests */
    uint64_t root;
    struct mc_paging_mode mode;
    bool mode_from_platform, sev;
    uint64_t gcbit; /* guest C-bit mask (SEV), 0 otherwise */
    mc_access_check_fn check;
    void *check_ctx;
    const uint32_t *check_epoch; /* verdicts cached in TLB entries while *check_epoch holds */
    unsigned vmpl;
    bool snp;
    struct mc_pt_io own_io;    /* the CPU's own tables: host tables, or guest tables (GPAs) */
    struct mc_pt_io nested_io; /* nested tables (host memory) */
};

struct mc_paging_mode mc_paging_mode_of(const struct memctl_platform *p)
{
    struct mc_paging_mode pm = {48, -1, MC_PT_X86};
    if (!p)
        return pm;
    if (p->mode == MEMCTL_MODE_SME || p->mode == MEMCTL_MODE_TSME) {
        pm.addr_bits = p->phys_bits - p->reduction;
        pm.enc_bit = (int)p->cbit;
    } else {
        /* Off, or Intel TME: KeyID bits are ordinary address bits below MAXPHYADDR. */
        pm.addr_bits = p->phys_bits;
    }
    return pm;
}

/* -------------------------------------------------------------- issuing -- */

static inline mc_status ctl(struct mc_lcpu *c, const struct memctl_access *a, void *rbuf, const void *wbuf,
                            struct mc_fault *f, struct mc_error *err)
{
    return rbuf ? memctl_read(c->mc, a, rbuf, f, err) : memctl_write(c->mc, a, wbuf, f, err);
}

/* THE HOOK POINT: after all translation, before the controller. */
static inline mc_status check(struct mc_lcpu *c, const struct memctl_access *a, uint64_t va, uint64_t gpa,
                              uint64_t page_size, bool priv, bool table, bool nested, bool user, struct mc_fault *f,
                              struct mc_error *err)
{
    if (!c->check)
        return MC_OK;
    struct mc_access_check k = {a, va, gpa, page_size, c->vmpl, priv, table, nested, user, c->snp};
    return c->check(c->check_ctx, &k, f, err);
}

/* Table entries: 8-byte reads (MEMCTL_ACC_WALK) and accessed/dirty writes. */
static mc_status table_io(struct mc_lcpu *c, const struct memctl_access *a, uint64_t addr, uint64_t gpa, bool priv,
                          bool nested, uint64_t *rval, uint64_t wval, struct mc_fault *f, struct mc_error *err)
{
    uint8_t b[8];
    mc_put_le64(b, wval);
    mc_status st = check(c, a, addr, gpa, 4096, priv, true, nested, false, f, err);
    if (!st)
        st = ctl(c, a, rval ? b : NULL, rval ? NULL : b, f, err);
    if (!st && rval)
        *rval = mc_le64(b);
    return st;
}

static mc_status host_rd(void *ctx, uint64_t addr, uint64_t *val, struct mc_fault *f, struct mc_error *err)
{
    struct memctl_access a = {.addr = addr, .size = 8, .kind = MEMCTL_ACC_WALK, .req = MEMCTL_REQ_HOST};
    return table_io(ctx, &a, addr, addr, false, false, val, 0, f, err);
}

static mc_status host_wr(void *ctx, uint64_t addr, uint64_t val, struct mc_fault *f, struct mc_error *err)
{
    struct memctl_access a = {.addr = addr, .size = 8, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST};
    return table_io(ctx, &a, addr, addr, false, false, NULL, val, f, err);
}

static mc_status nested_rd(void *ctx, uint64_t addr, uint64_t *val, struct mc_fault *f, struct mc_error *err)
{
    struct memctl_access a = {.addr = addr, .size = 8, .kind = MEMCTL_ACC_WALK, .req = MEMCTL_REQ_HOST};
    return table_io(ctx, &a, addr, addr, false, true, val, 0, f, err);
}

static mc_status nested_wr(void *ctx, uint64_t addr, uint64_t val, struct mc_fault *f, struct mc_error *err)
{
    struct memctl_access a = {.addr = addr, .size = 8, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST};
    return table_io(ctx, &a, addr, addr, false, true, NULL, val, f, err);
}

/* -------------------------------------------------------- nested stage -- */

static struct mc_paging_regs nested_regs(enum mc_nest nest, uint64_t root)
{
    /* NPT: a long-mode walk from nCR3 as a user access with the host's NXE (AMD APM 15.25.5);
     * EPT: the EPTP. WP makes TLB hits check nested write permission strictly. */
    if (nest == MC_NEST_NPT)
        return (struct mc_paging_regs){MC_CR0_PG | MC_CR0_WP | 1, root, MC_CR4_PAE, MC_EFER_LME | MC_EFER_NXE};
    return (struct mc_paging_regs){MC_CR0_PG | MC_CR0_WP | 1, root, 0, 0};
}

static mc_status npf(struct mc_fault *f, uint64_t gpa, uint64_t code, struct mc_error *err)
{
    *f = (struct mc_fault){MC_FAULT_NPF, 0, code, gpa};
    return mc_seterr(err, MC_E_FAULT, "#NPF at GPA 0x%llx (error code 0x%llx)", (unsigned long long)gpa,
                     (unsigned long long)code);
}

static mc_status nested_walk_io(enum mc_nest nest, uint64_t root, struct mc_paging_mode nm, const struct mc_pt_io *io,
                                uint64_t gpa, unsigned acc, bool table, struct mc_xlat *out, struct mc_fault *f,
                                struct mc_error *err)
{
    const uint64_t where = table ? MC_NPF_TABLE : MC_NPF_FINAL;
    struct mc_paging_regs r = nested_regs(nest, root);
    acc &= MC_PG_WRITE | MC_PG_FETCH;
    mc_status st;
    if (nest == MC_NEST_EPT) {
        nm.format = MC_PT_EPT;
        st = mc_walk(&nm, io, &r, gpa, acc, out, f, err);
        if (st == MC_E_FAULT && f->kind == MC_FAULT_NPF && !(f->error_code & (MC_NPF_FINAL | MC_NPF_TABLE)))
            f->error_code |= where;
        return st;
    }
    nm.format = MC_PT_X86;
    if (gpa >> 48) /* beyond what a 4-level nested table maps */
        return npf(f, gpa, ((acc & MC_PG_WRITE) ? MC_PF_W : 0) | MC_PF_U | where, err);
    st = mc_walk(&nm, io, &r, gpa, acc | MC_PG_USER, out, f, err);
    if (st == MC_E_FAULT && f->kind == MC_FAULT_PF)
        return npf(f, gpa, f->error_code | where, err);
    return st;
}

static struct mc_paging_mode host_mode(const struct mc_lcpu *c)
{
    return mc_paging_mode_of(memctl_get_platform(c->mc));
}

/* GPA (no C-bit) -> SPA as issued, through the guest-physical TLB entries. */
static mc_status nested(struct mc_lcpu *c, uint64_t gpa, unsigned acc, bool table, struct mc_xlat *out,
                        struct mc_fault *f, struct mc_error *err)
{
    const uint32_t tag = c->asid | TLB_GPHYS;
    acc &= MC_PG_WRITE | MC_PG_FETCH;
    if (tlb_lookup(c->tlb, tag, c->root, gpa, acc | MC_PG_USER, &c->nregs, out))
        return MC_OK;
    mc_status st = nested_walk_io(c->nest, c->root, host_mode(c), &c->nested_io, gpa, acc, table, out, f, err);
    if (!st)
        tlb_insert(c->tlb, tag, c->root, gpa, out);
    return st;
}

mc_status mc_nested_walk(struct memctl *mc, enum mc_nest nest, uint64_t root, uint64_t gpa, unsigned acc, bool table,
                         struct mc_xlat *out, struct mc_fault *fault, struct mc_error *err)
{
    if (!mc || !out || (nest != MC_NEST_NPT && nest != MC_NEST_EPT))
        return mc_seterr(err, MC_E_INVAL, "mc_nested_walk needs a controller, NPT or EPT, and an output");
    /* A table interface without the hook: the hypervisor's own software walk. */
    struct mc_lcpu plain = {.mc = mc};
    struct mc_pt_io io = {nested_rd, nested_wr, &plain};
    struct mc_fault local;
    if (!fault)
        fault = &local;
    fault->kind = MC_FAULT_NONE;
    return nested_walk_io(nest, root, mc_paging_mode_of(memctl_get_platform(mc)), &io, gpa, acc, table, out, fault, err);
}

/* ----------------------------------------------------------- guest stage -- */

static mc_status guest_rd(void *ctx, uint64_t addr, uint64_t *val, struct mc_fault *f, struct mc_error *err)
{
    struct mc_lcpu *c = ctx;
    uint64_t gpa = addr & ~c->gcbit;
    struct mc_xlat n;
    mc_status st = nested(c, gpa, 0, true, &n, f, err);
    if (st)
        return st;
    /* Guest page-table walks are always private. */
    struct memctl_access a = {.addr = n.pa, .size = 8, .kind = MEMCTL_ACC_WALK, .req = c->req, .asid = c->asid,
                          .guest_c = true};
    return table_io(c, &a, addr, gpa, true, false, val, 0, f, err);
}

static mc_status guest_wr(void *ctx, uint64_t addr, uint64_t val, struct mc_fault *f, struct mc_error *err)
{
    struct mc_lcpu *c = ctx;
    uint64_t gpa = addr & ~c->gcbit;
    struct mc_xlat n;
    mc_status st = nested(c, gpa, MC_PG_WRITE, true, &n, f, err);
    if (st)
        return st;
    /* Accessed/dirty updates: a private write of the table entry. */
    struct memctl_access a = {.addr = n.pa, .size = 8, .kind = MEMCTL_ACC_WRITE, .req = c->req, .asid = c->asid,
                          .guest_c = true};
    return table_io(c, &a, addr, gpa, true, false, NULL, val, f, err);
}

/* The guest stage's and the nested stage's translations as one TLB entry: the smaller page,
 * the guest's U/S, R/W and global bits; NX and readability of both; "dirty" only when both
 * leaves have D set and the nested mapping is writable, so that any write that needs a D bit
 * set or could fault in the nested stage re-walks. */
static void combine(const struct mc_xlat *g, uint64_t va, uint64_t gpa, bool priv, const struct mc_xlat *n,
                    struct mc_xlat *out)
{
    uint64_t size = g->page_size < n->page_size ? g->page_size : n->page_size;
    memset(out, 0, sizeof *out);
    out->pa = n->pa;
    out->page_size = size;
    out->page_base = n->pa - (va & (size - 1));
    out->gpa = gpa;
    out->nested_size = n->page_size;
    out->priv = priv;
    out->writable = g->writable;
    out->user = g->user;
    out->nx = g->nx || n->nx;
    out->readable = n->readable;
    out->global = g->global;
    out->dirty = g->dirty && n->dirty && n->writable;
}

/* Linear address -> SPA as issued, for an access acc. */
static mc_status xlate(struct mc_lcpu *c, uint64_t va, unsigned acc, struct mc_xlat *out, struct mc_fault *f,
                       struct mc_error *err)
{
    const bool paging = c->regs.cr0 & MC_CR0_PG;
    if (paging && tlb_lookup(c->tlb, c->asid, c->root, va, acc, &c->regs, out))
        return MC_OK;
    struct mc_paging_mode m = c->mode_from_platform ? host_mode(c) : c->mode;
    if (c->nest == MC_NEST_NONE) {
        mc_status st = tlb_walk(c->tlb, c->asid, 0, &m, &c->own_io, &c->regs, va, acc, out, f, err);
        if (!st && paging)
            tlb_insert(c->tlb, c->asid, 0, va, out);
        return st;
    }
    if (!paging) { /* guest paging off: va is the GPA; every access is private */
        uint64_t gpa = va & ~c->gcbit;
        mc_status st = nested(c, gpa, acc, false, out, f, err);
        if (!st) {
            out->nested_size = out->page_size;
            out->gpa = gpa;
            out->priv = true;
        }
        return st;
    }
    struct mc_xlat g, n;
    mc_status st = tlb_walk(c->tlb, c->asid, c->root, &m, &c->own_io, &c->regs, va, acc, &g, f, err);
    if (st)
        return st;
    bool priv = c->sev ? (g.pa & c->gcbit) != 0 : true;
    uint64_t gpa = g.pa & ~c->gcbit;
    st = nested(c, gpa, acc, false, &n, f, err);
    if (st)
        return st;
    combine(&g, va, gpa, priv, &n, out);
    tlb_insert(c->tlb, c->asid, c->root, va, out);
    return MC_OK;
}

/* Guest-physical (or, on the host, physical) address -> SPA as issued. */
static mc_status pxlate(struct mc_lcpu *c, uint64_t gpa, unsigned acc, bool priv, struct mc_xlat *out,
                        struct mc_fault *f, struct mc_error *err)
{
    if (c->nest == MC_NEST_NONE) {
        memset(out, 0, sizeof *out);
        out->pa = out->gpa = gpa;
        out->page_base = gpa & ~0xFFFull;
        out->page_size = 4096;
        out->priv = priv;
        return MC_OK;
    }
    mc_status st = nested(c, gpa, acc, false, out, f, err);
    if (!st) {
        out->nested_size = out->page_size;
        out->gpa = gpa;
        out->priv = priv;
    }
    return st;
}

/* ------------------------------------------------------------- accesses -- */

static inline void data_access(const struct mc_lcpu *c, const struct mc_xlat *x, size_t n, enum memctl_acc_kind kind,
                               uint32_t flags, struct memctl_access *a)
{
    bool guest = c->req == MEMCTL_REQ_GUEST;
    *a = (struct memctl_access){.addr = x->pa, .size = n, .kind = kind, .req = c->req, .asid = guest ? c->asid : 0,
                            .guest_c = guest && x->priv, .flags = flags};
}

/* Verdict bit of an access type (cached in TLB entries). */
static inline uint8_t verdict_bit(enum memctl_acc_kind kind, unsigned acc)
{
    return kind == MEMCTL_ACC_WRITE ? 2 : kind == MEMCTL_ACC_FETCH ? ((acc & MC_PG_USER) ? 4 : 8) : 1;
}

/* The hook for one data page; with a check epoch, a verdict the TLB entry holds for this epoch
 * is reused, and a fresh MC_OK is recorded there (linear accesses with paging on only: those are
 * the ones with TLB entries). */
static inline mc_status check_data(struct mc_lcpu *c, const struct memctl_access *a, uint64_t va, const struct mc_xlat *x,
                                   unsigned acc, bool cacheable, struct mc_fault *f, struct mc_error *err)
{
    const uint8_t bit = verdict_bit(a->kind, acc);
    cacheable = cacheable && c->check_epoch && (c->regs.cr0 & MC_CR0_PG);
    if (cacheable && x->check_epoch == *c->check_epoch && (x->check_ok & bit))
        return MC_OK;
    bool guest = c->nest != MC_NEST_NONE;
    mc_status st = check(c, a, va, guest ? x->gpa : x->pa, guest ? x->nested_size : x->page_size,
                         c->req == MEMCTL_REQ_GUEST && (x->priv || a->kind == MEMCTL_ACC_FETCH), false, false,
                         (acc & MC_PG_USER) != 0, f, err);
    if (!st && cacheable)
        tlb_set_check(c->tlb, c->asid, c->root, va, *c->check_epoch, bit);
    return st;
}

/* The one fault contract: translate, check and route every page, then move the bytes. */
static mc_status run(struct mc_lcpu *c, bool phys, uint64_t addr, void *rbuf, const void *wbuf, size_t len,
                     unsigned acc, bool priv, uint32_t flags, struct mc_fault *fault, struct mc_error *err)
{
    if (!c || !rbuf == !wbuf)
        return mc_seterr(err, MC_E_INVAL, "an access needs a CPU and exactly one buffer");
    if (!len)
        return mc_seterr(err, MC_E_INVAL, "an access needs a non-zero length");
    if (addr + (len - 1) < addr)
        return mc_seterr(err, MC_E_RANGE, "access 0x%llx+%zu wraps around the address space",
                         (unsigned long long)addr, len);
    acc &= MC_PG_USER | MC_PG_FETCH;
    if (wbuf) {
        if (acc & MC_PG_FETCH)
            return mc_seterr(err, MC_E_INVAL, "an instruction fetch cannot write");
        acc |= MC_PG_WRITE;
    }
    const enum memctl_acc_kind kind = wbuf ? MEMCTL_ACC_WRITE : (acc & MC_PG_FETCH) ? MEMCTL_ACC_FETCH : MEMCTL_ACC_READ;
    struct mc_fault local;
    if (!fault)
        fault = &local;
    fault->kind = MC_FAULT_NONE;
    struct memctl_access a;
    mc_status st;
    const size_t first = 4096 - (size_t)(addr & 4095);
    if (len <= first) { /* one page: the controller changes nothing when it fails */
        struct mc_xlat x;
        st = phys ? pxlate(c, addr, acc, priv, &x, fault, err) : xlate(c, addr, acc, &x, fault, err);
        if (st)
            return st;
        data_access(c, &x, len, kind, flags, &a);
        if (c->check && (st = check_data(c, &a, addr, &x, acc, !phys, fault, err)))
            return st;
        return ctl(c, &a, rbuf, wbuf, fault, err);
    }
    const size_t npages = 1 + (len - first + 4095) / 4096;
    struct mc_xlat small[16], *xs = small;
    if (npages > 16 && !(xs = malloc(npages * sizeof *xs)))
        return mc_seterr(err, MC_E_NOMEM, "out of memory for a %zu-page access", npages);
    size_t done = 0;
    for (size_t i = 0; i < npages; i++) {
        uint64_t v = addr + done;
        size_t n = i ? 4096 : first;
        if (n > len - done)
            n = len - done;
        st = phys ? pxlate(c, v, acc, priv, &xs[i], fault, err) : xlate(c, v, acc, &xs[i], fault, err);
        if (st)
            goto out;
        data_access(c, &xs[i], n, kind, flags, &a);
        if (c->check && (st = check_data(c, &a, v, &xs[i], acc, !phys, fault, err)))
            goto out;
        struct memctl_route r;
        mc_slot slot;
        if ((st = memctl_route(c->mc, &a, &r, &slot, fault, err)))
            goto out;
        done += n;
    }
    done = 0;
    for (size_t i = 0; i < npages;) {
        size_t n = i ? 4096 : first;
        if (n > len - done)
            n = len - done;
        /* Pages that follow each other in memory (same key choice) go to the controller as one
         * request: a run of whole lines moves through the engine in one call. */
        size_t j = i + 1;
        while (j < npages && xs[j].pa == xs[i].pa + n && xs[j].priv == xs[i].priv) {
            n += 4096 < len - done - n ? 4096 : len - done - n;
            j++;
        }
        data_access(c, &xs[i], n, kind, flags, &a);
        st = ctl(c, &a, rbuf ? (uint8_t *)rbuf + done : NULL, wbuf ? (const uint8_t *)wbuf + done : NULL, fault, err);
        if (st) /* cannot happen after routing, short of DRAM allocation failing */
            goto out;
        done += n;
        i = j;
    }
out:
    if (xs != small)
        free(xs);
    return st;
}

mc_status mc_lcpu_access(struct mc_lcpu *c, uint64_t va, void *rbuf, const void *wbuf, size_t len, unsigned acc,
                         uint32_t flags, struct mc_fault *fault, struct mc_error *err)
{
    return run(c, false, va, rbuf, wbuf, len, acc, false, flags, fault, err);
}

mc_status mc_lcpu_phys_access(struct mc_lcpu *c, uint64_t gpa, bool priv, void *rbuf, const void *wbuf, size_t len,
                              struct mc_fault *fault, struct mc_error *err)
{
    return run(c, true, gpa, rbuf, wbuf, len, 0, priv, 0, fault, err);
}

/* One REP MOVS step: [src, src + n) -> [dst, dst + n) through a bounce buffer. */
static mc_status copy_step(struct mc_lcpu *c, uint64_t dst, uint64_t src, size_t n, uint8_t *buf,
                           struct mc_fault *fault, struct mc_error *err)
{
    mc_status st = run(c, false, src, buf, NULL, n, 0, false, MEMCTL_ACC_F_STREAM, fault, err);
    return st ? st : run(c, false, dst, NULL, buf, n, 0, false, MEMCTL_ACC_F_STREAM, fault, err);
}

#define COPY_STEP (32u * 1024u)

mc_status mc_lcpu_copy(struct mc_lcpu *c, uint64_t dst_va, uint64_t src_va, size_t len, struct mc_fault *fault,
                       struct mc_error *err)
{
    if (!c)
        return mc_seterr(err, MC_E_INVAL, "NULL CPU");
    if (fault)
        fault->kind = MC_FAULT_NONE;
    uint8_t buf[COPY_STEP];
    size_t done = 0;
    mc_status st = MC_OK;
    while (done < len) {
        /* Steps of up to 32 KiB (whole pages on both sides move as runs); a step that faults is
         * redone page by page, so exactly the pages before the faulting one are copied, as
         * REP MOVS leaves them. Chunks never cross a page on either side. */
        size_t n = len - done < COPY_STEP ? len - done : COPY_STEP;
        if (((src_va + done) | (dst_va + done)) & 4095 || n < 8192 ||
            (st = copy_step(c, dst_va + done, src_va + done, n, buf, fault, err)) == MC_E_FAULT) {
            size_t end = done + n;
            st = MC_OK;
            while (done < end) {
                size_t k = 4096 - (size_t)((src_va + done) & 4095);
                size_t kd = 4096 - (size_t)((dst_va + done) & 4095);
                if (kd < k)
                    k = kd;
                if (k > end - done)
                    k = end - done;
                if ((st = copy_step(c, dst_va + done, src_va + done, k, buf, fault, err)))
                    break;
                done += k;
            }
        } else if (!st) {
            done += n;
        }
        if (st)
            break;
    }
    mc_wipe(buf, len < sizeof buf ? len : sizeof buf);
    return st;
}

mc_status mc_lcpu_translate(struct mc_lcpu *c, uint64_t va, unsigned acc, struct mc_xlat *out,
                            struct mc_fault *fault, struct mc_error *err)
{
    if (!c || !out)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to mc_lcpu_translate");
    struct mc_fault local;
    if (!fault)
        fault = &local;
    fault->kind = MC_FAULT_NONE;
    if (acc & ~(MC_PG_WRITE | MC_PG_USER | MC_PG_FETCH) || ((acc & MC_PG_WRITE) && (acc & MC_PG_FETCH)))
        return mc_seterr(err, MC_E_INVAL, "invalid access flags 0x%x", acc);
    return xlate(c, va, acc, out, fault, err);
}

mc_status mc_lcpu_guest_walk(struct mc_lcpu *c, uint64_t va, unsigned acc, struct mc_xlat *out,
                             struct mc_fault *fault, struct mc_error *err)
{
    if (!c || !out)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to mc_lcpu_guest_walk");
    if (c->nest == MC_NEST_NONE)
        return mc_lcpu_translate(c, va, acc, out, fault, err);
    struct mc_fault local;
    if (!fault)
        fault = &local;
    fault->kind = MC_FAULT_NONE;
    if (!(c->regs.cr0 & MC_CR0_PG)) {
        memset(out, 0, sizeof *out);
        out->pa = va;
        out->gpa = va & ~c->gcbit;
        out->page_size = 4096;
        out->writable = out->user = out->readable = out->priv = true;
        return MC_OK;
    }
    struct mc_paging_mode m = c->mode;
    mc_status st = tlb_walk(c->tlb, c->asid, c->root, &m, &c->own_io, &c->regs, va, acc, out, fault, err);
    if (!st) {
        out->priv = c->sev ? (out->pa & c->gcbit) != 0 : true;
        out->gpa = out->pa & ~c->gcbit;
    }
    return st;
}

/* ------------------------------------------------------------ lifecycle -- */

mc_status mc_lcpu_create(struct memctl *mc, const struct mc_lcpu_config *cfg, struct mc_lcpu **out,
                         struct mc_error *err)
{
    if (!mc || !cfg || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_lcpu_create needs a controller, a configuration and an output");
    *out = NULL;
    if (cfg->nest > MC_NEST_EPT || (cfg->req != MEMCTL_REQ_HOST && cfg->req != MEMCTL_REQ_GUEST))
        return mc_seterr(err, MC_E_INVAL, "unknown nesting or requester");
    if ((cfg->req == MEMCTL_REQ_GUEST) != (cfg->nest != MC_NEST_NONE) || (cfg->req == MEMCTL_REQ_GUEST) != (cfg->asid != 0))
        return mc_seterr(err, MC_E_INVAL, "a vCPU needs nested paging and an ASID/VPID > 0; the host CPU neither");
    if (cfg->asid >= TLB_GPHYS)
        return mc_seterr(err, MC_E_RANGE, "ASID/VPID %u is too large", cfg->asid);
    if (cfg->mode.addr_bits && (cfg->mode.addr_bits < 32 || cfg->mode.addr_bits > 52 || cfg->mode.enc_bit > 63 ||
                                cfg->mode.format != MC_PT_X86))
        return mc_seterr(err, MC_E_INVAL, "invalid paging mode for a CPU");
    if (cfg->sev && (!cfg->mode.addr_bits || cfg->mode.enc_bit < 0))
        return mc_seterr(err, MC_E_INVAL, "an SEV vCPU needs a paging mode with the C-bit position");
    struct mc_lcpu *c = calloc(1, sizeof *c);
    if (!c)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for a CPU");
    mc_status st = mc_tlb_create(cfg->tlb_entries, &c->tlb, err);
    if (st) {
        free(c);
        return st;
    }
    c->mc = mc;
    c->nest = cfg->nest;
    c->req = cfg->req;
    c->asid = cfg->asid;
    c->root = cfg->nest == MC_NEST_NONE ? 0 : cfg->nroot;
    c->nregs = nested_regs(c->nest, c->root);
    c->mode = cfg->mode;
    c->mode_from_platform = cfg->mode.addr_bits == 0;
    c->sev = cfg->sev;
    c->gcbit = c->sev ? 1ull << cfg->mode.enc_bit : 0;
    if (c->nest == MC_NEST_NONE)
        c->own_io = (struct mc_pt_io){host_rd, host_wr, c};
    else
        c->own_io = (struct mc_pt_io){guest_rd, guest_wr, c};
    c->nested_io = (struct mc_pt_io){nested_rd, nested_wr, c};
    *out = c;
    return MC_OK;
}

void mc_lcpu_destroy(struct mc_lcpu *c)
{
    if (!c)
        return;
    mc_tlb_destroy(c->tlb);
    free(c);
}

struct mc_tlb *mc_lcpu_tlb(struct mc_lcpu *c) { return c ? c->tlb : NULL; }
uint32_t mc_lcpu_asid(const struct mc_lcpu *c) { return c ? c->asid : 0; }

void mc_lcpu_set_check(struct mc_lcpu *c, mc_access_check_fn fn, void *ctx)
{
    if (c) {
        c->check = fn;
        c->check_ctx = ctx;
    }
}

void mc_lcpu_set_check_epoch(struct mc_lcpu *c, const uint32_t *epoch)
{
    if (c) {
        c->check_epoch = epoch;
        mc_tlb_flush_all(c->tlb); /* no verdict of another epoch source survives */
    }
}

void mc_lcpu_set_vmpl(struct mc_lcpu *c, unsigned vmpl)
{
    if (c && c->vmpl != vmpl) {
        c->vmpl = vmpl;
        mc_tlb_flush_all(c->tlb);
    }
}

unsigned mc_lcpu_vmpl(const struct mc_lcpu *c) { return c ? c->vmpl : 0; }

void mc_lcpu_set_snp(struct mc_lcpu *c, bool snp)
{
    if (c && c->snp != snp) {
        c->snp = snp;
        mc_tlb_flush_all(c->tlb);
    }
}

bool mc_lcpu_snp(const struct mc_lcpu *c) { return c && c->snp; }
enum memctl_requester mc_lcpu_requester(const struct mc_lcpu *c) { return c ? c->req : MEMCTL_REQ_HOST; }

/* ------------------------------------------------------ registers, TLB -- */

void mc_lcpu_get_regs(const struct mc_lcpu *c, struct mc_paging_regs *r)
{
    if (c && r)
        *r = c->regs;
}

void mc_lcpu_set_reg(struct mc_lcpu *c, enum mc_creg reg, uint64_t val)
{
    if (!c)
        return;
    struct mc_paging_regs r = c->regs;
    switch (reg) {
    case MC_CREG_CR0: r.cr0 = val; break;
    case MC_CREG_CR3: r.cr3 = val; break;
    case MC_CREG_CR4: r.cr4 = val; break;
    case MC_CREG_EFER: r.efer = val; break;
    default: return;
    }
    if (reg == MC_CREG_CR3) {
        mc_tlb_flush_nonglobal(c->tlb, c->asid, (r.cr4 & MC_CR4_PGE) != 0);
    } else {
        const uint64_t cr0m = MC_CR0_PG | MC_CR0_WP, cr4m = MC_CR4_PGE | MC_CR4_PAE | MC_CR4_SMEP;
        if ((r.cr0 ^ c->regs.cr0) & cr0m || (r.cr4 ^ c->regs.cr4) & cr4m || (r.efer ^ c->regs.efer) & MC_EFER_NXE)
            mc_tlb_flush_nonglobal(c->tlb, c->asid, false);
    }
    c->regs = r;
}

void mc_lcpu_set_regs(struct mc_lcpu *c, const struct mc_paging_regs *r)
{
    if (!c || !r)
        return;
    mc_lcpu_set_reg(c, MC_CREG_CR0, r->cr0);
    mc_lcpu_set_reg(c, MC_CREG_CR4, r->cr4);
    mc_lcpu_set_reg(c, MC_CREG_EFER, r->efer);
    mc_lcpu_set_reg(c, MC_CREG_CR3, r->cr3);
}

void mc_lcpu_invlpg(struct mc_lcpu *c, uint64_t va)
{
    if (c)
        mc_tlb_invlpg(c->tlb, c->asid, va);
}

void mc_lcpu_invlpga(struct mc_lcpu *c, uint64_t va, uint32_t asid)
{
    if (c && asid < TLB_GPHYS)
        mc_tlb_invlpg(c->tlb, asid, va);
}

void mc_lcpu_flush_asid(struct mc_lcpu *c, uint32_t asid)
{
    if (!c || asid >= TLB_GPHYS)
        return;
    mc_tlb_flush_nonglobal(c->tlb, asid, false);
    mc_tlb_flush_nonglobal(c->tlb, asid | TLB_GPHYS, false);
}

void mc_lcpu_invept(struct mc_lcpu *c, uint64_t root)
{
    if (c)
        tlb_flush_root(c->tlb, root);
}

void mc_lcpu_flush_all(struct mc_lcpu *c)
{
    if (c)
        mc_tlb_flush_all(c->tlb);
}

void mc_lcpu_set_asid(struct mc_lcpu *c, uint32_t asid)
{
    if (c && c->req == MEMCTL_REQ_GUEST && asid && asid < TLB_GPHYS)
        c->asid = asid;
}

void mc_lcpu_set_nested_root(struct mc_lcpu *c, uint64_t root)
{
    if (c && c->nest != MC_NEST_NONE) {
        c->root = root;
        c->nregs = nested_regs(c->nest, root);
    }
}
