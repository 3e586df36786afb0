/* A direct-mapped TLB of 4 KiB translations plus a small direct-mapped array for 2 MiB / 1 GiB
 * translations (1 GiB pages held per 2 MiB granule), tagged with an address-space id and the
 * nested root the translation came through, and a paging-structure (PDE) cache. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/paging.h>

#include "paging/walk_internal.h"

struct tlb_ent {
    uint64_t vpn;      /* va >> 12 (4 KiB array) or va >> 21 (large array) */
    uint64_t va_base;  /* va of the (possibly large) page */
    uint64_t gpa_base; /* guest-physical address of the page */
    uint64_t root;
    struct mc_xlat x;
    uint32_t tag;
    uint8_t valid;
};

#define NBIG 64u
#define NPDE 64u

/* Paging-structure cache entry: (tag, root, va >> 21) -> page-table base and upper-level rights. */
struct pde_ent {
    uint64_t vpn2, root;
    struct mc_pde_info p;
    uint32_t tag;
    uint8_t valid;
};

struct mc_tlb {
    unsigned n;
    struct tlb_ent *e;
    struct tlb_ent big[NBIG]; /* vpn = va >> 21 */
    struct pde_ent pde[NPDE];
    struct mc_tlb_stats st;
};

mc_status mc_tlb_create(unsigned entries, struct mc_tlb **out, struct mc_error *err)
{
    if (!out)
        return mc_seterr(err, MC_E_INVAL, "NULL output pointer");
    *out = NULL;
    if (!entries)
        entries = 1024;
    if (entries < 16 || entries > 65536 || (entries & (entries - 1)))
        return mc_seterr(err, MC_E_INVAL, "TLB size %u must be a power of two in 16..65536", entries);
    struct mc_tlb *t = calloc(1, sizeof *t);
    if (t)
        t->e = calloc(entries, sizeof *t->e);
    if (!t || !t->e) {
        free(t);
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the TLB");
    }
    t->n = entries;
    *out = t;
    return MC_OK;
}

void mc_tlb_destroy(struct mc_tlb *t)
{
    if (t) {
        free(t->e);
        free(t);
    }
}

/* Index = multiplicative hash of (vpn, tag), so regions at large power-of-two distances
 * (source and destination of a copy) do not keep evicting each other, and the same page of two
 * address spaces (ASIDs, VPIDs, host vs guest-physical) lands in different slots. */
static inline size_t hash_idx(uint32_t tag, uint64_t vpn, unsigned n)
{
    uint64_t h = (vpn + (uint64_t)tag * 0xD6E8FEB86659FD93ull) * 0x9E3779B97F4A7C15ull;
    return (size_t)((h >> 32) & (n - 1));
}

bool tlb_lookup(struct mc_tlb *t, uint32_t tag, uint64_t root, uint64_t va, unsigned acc,
                const struct mc_paging_regs *regs, struct mc_xlat *out)
{
    uint64_t vpn = va >> 12;
    struct tlb_ent *e = &t->e[hash_idx(tag, vpn, t->n)];
    if (!e->valid || e->vpn != vpn || e->tag != tag || e->root != root) {
        e = &t->big[hash_idx(tag, va >> 21, NBIG)];
        if (!e->valid || e->vpn != (va >> 21) || e->tag != tag || e->root != root) {
            t->st.misses++;
            return false;
        }
    }
    const struct mc_xlat *x = &e->x;
    bool user = acc & MC_PG_USER, write = acc & MC_PG_WRITE, fetch = acc & MC_PG_FETCH;
    /* Anything that could fault, or needs an accessed/dirty bit set, goes back to the walker. */
    if ((user && !x->user) || (write && (!x->dirty || (!x->writable && (user || (regs->cr0 & MC_CR0_WP))))) ||
        (fetch && (x->nx || (!user && x->user && (regs->cr4 & MC_CR4_SMEP)))) || (!write && !fetch && !x->readable)) {
        t->st.misses++;
        return false;
    }
    *out = *x;
    out->pa = x->page_base + (va - e->va_base);
    out->gpa = e->gpa_base + (va - e->va_base);
    t->st.hits++;
    return true;
}

void tlb_insert(struct mc_tlb *t, uint32_t tag, uint64_t root, uint64_t va, const struct mc_xlat *x)
{
    if (!x->page_size)
        return;
    uint64_t vpn = va >> 12;
    struct tlb_ent *e;
    if (x->page_size > 4096) {
        vpn = va >> 21;
        e = &t->big[hash_idx(tag, vpn, NBIG)];
    } else {
        e = &t->e[hash_idx(tag, vpn, t->n)];
    }
    e->vpn = vpn;
    e->va_base = va & ~(x->page_size - 1);
    e->gpa_base = x->gpa - (va - e->va_base);
    e->root = root;
    e->x = *x;
    e->tag = tag;
    e->valid = 1;
}

bool mc_tlb_lookup(struct mc_tlb *t, uint32_t tag, uint64_t va, unsigned acc, const struct mc_paging_regs *regs,
                   struct mc_xlat *out)
{
    if (!t || !regs || !out)
        return false;
    return tlb_lookup(t, tag, 0, va, acc, regs, out);
}

void mc_tlb_insert(struct mc_tlb *t, uint32_t tag, uint64_t va, const struct mc_xlat *x)
{
    if (t && x)
        tlb_insert(t, tag, 0, va, x);
}

void mc_tlb_flush_nonglobal(struct mc_tlb *t, uint32_t tag, bool keep_global)
{
    if (!t)
        return;
    for (unsigned i = 0; i < t->n; i++)
        if (t->e[i].valid && t->e[i].tag == tag && !(keep_global && t->e[i].x.global))
            t->e[i].valid = 0;
    for (unsigned i = 0; i < NBIG; i++)
        if (t->big[i].valid && t->big[i].tag == tag && !(keep_global && t->big[i].x.global))
            t->big[i].valid = 0;
    memset(t->pde, 0, sizeof t->pde); /* paging-structure caches hold no global entries */
    t->st.flushes++;
}

void mc_tlb_invlpg(struct mc_tlb *t, uint32_t tag, uint64_t va)
{
    if (!t)
        return;
    /* A 4 KiB entry for va can only sit in its own slot; large entries are few. */
    struct tlb_ent *e = &t->e[hash_idx(tag, va >> 12, t->n)];
    if (e->valid && e->tag == tag && e->vpn == (va >> 12))
        e->valid = 0;
    for (unsigned i = 0; i < NBIG; i++) {
        e = &t->big[i];
        if (e->valid && e->tag == tag && (va & ~(e->x.page_size - 1)) == e->va_base)
            e->valid = 0;
    }
    memset(t->pde, 0, sizeof t->pde); /* INVLPG also invalidates paging-structure caches */
}

void tlb_flush_root(struct mc_tlb *t, uint64_t root)
{
    for (unsigned i = 0; i < t->n; i++)
        if (t->e[i].valid && t->e[i].root == root)
            t->e[i].valid = 0;
    for (unsigned i = 0; i < NBIG; i++)
        if (t->big[i].valid && t->big[i].root == root)
            t->big[i].valid = 0;
    memset(t->pde, 0, sizeof t->pde);
    t->st.flushes++;
}

void mc_tlb_flush_all(struct mc_tlb *t)
{
    if (!t)
        return;
    memset(t->e, 0, (size_t)t->n * sizeof *t->e);
    memset(t->big, 0, sizeof t->big);
    memset(t->pde, 0, sizeof t->pde);
    t->st.flushes++;
}

void mc_tlb_get_stats(const struct mc_tlb *t, struct mc_tlb_stats *s)
{
    if (t && s)
        *s = t->st;
}

mc_status tlb_walk(struct mc_tlb *t, uint32_t tag, uint64_t root, const struct mc_paging_mode *mode,
                   const struct mc_pt_io *io, const struct mc_paging_regs *regs, uint64_t va, unsigned acc,
                   struct mc_xlat *out, struct mc_fault *fault, struct mc_error *err)
{
    if (mode->format != MC_PT_X86 || !(regs->cr0 & MC_CR0_PG))
        return mc_walk(mode, io, regs, va, acc, out, fault, err);
    /* Paging-structure cache: a recorded PDE for this 2 MiB region lets the walk start at the
     * page table (one entry read instead of four). */
    uint64_t top = va >> 47;
    struct pde_ent *pe = &t->pde[hash_idx(tag, va >> 21, NPDE)];
    bool use = (top == 0 || top == 0x1FFFF) && pe->valid && pe->tag == tag && pe->root == root &&
               pe->vpn2 == (va >> 21);
    struct mc_pde_info learned;
    mc_status st = mc_walk_internal(mode, io, regs, va, acc, use ? &pe->p : NULL, &learned, out, fault, err);
    if (st == MC_OK && !use && learned.valid)
        *pe = (struct pde_ent){va >> 21, root, learned, tag, 1};
    return st;
}

mc_status mc_translate(struct mc_tlb *t, uint32_t tag, const struct mc_paging_mode *mode, const struct mc_pt_io *io,
                       const struct mc_paging_regs *regs, uint64_t va, unsigned acc, struct mc_xlat *out,
                       struct mc_fault *fault, struct mc_error *err)
{
    if (!t || !regs || !mode || !(regs->cr0 & MC_CR0_PG))
        return mc_walk(mode, io, regs, va, acc, out, fault, err);
    if (!out)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to mc_translate");
    if (tlb_lookup(t, tag, 0, va, acc, regs, out))
        return MC_OK;
    mc_status st = tlb_walk(t, tag, 0, mode, io, regs, va, acc, out, fault, err);
    if (st == MC_OK)
        tlb_insert(t, tag, 0, va, out);
    return st;
}
