/* A two-way set-associative TLB of 4 KiB translations plus a small direct-mapped array for 2 MiB / 1 GiB
 * translations (1 GiB pages held per 2 MiB granule), tagged with an address-space id and the
 * nested root the translation came through, and a paging-structure (PDE) cache. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/paging.h>

#include "paging/walk_internal.h"

/* One cache line per entry: a lookup touches one line of the 4 KiB array. */
enum { F_W = 1, F_U = 2, F_NX = 4, F_G = 8, F_D = 16, F_R = 32, F_PRIV = 64 };
struct tlb_ent {
    _Alignas(64) uint64_t vpn; /* va >> 12 (4 KiB array) or va >> 21 (large array) */
    uint64_t va_base;          /* va of the (possibly large) page */
    uint64_t page_base;        /* physical address as issued of the page */
    uint64_t gpa_base;         /* guest-physical address of the page */
    uint64_t root;
    uint32_t tag;
    uint8_t shift;             /* page size = 1 << shift */
    uint8_t nshift;            /* nested page size = 1 << nshift, 0: none */
    uint8_t flags;             /* F_* */
    uint8_t valid;
    uint32_t check_epoch;      /* verdicts of the access check, see mc_lcpu_set_check_epoch */
    uint8_t check_ok;
    uint8_t mru;               /* way 0 of a set: the way used last (the other one is replaced) */
};
_Static_assert(sizeof(struct tlb_ent) == 64, "a TLB entry is one cache line");

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
    /* Entries are cache-line aligned (sizes are multiples of 64). */
    struct mc_tlb *t = aligned_alloc(64, sizeof *t);
    if (t) {
        memset(t, 0, sizeof *t);
        t->e = aligned_alloc(64, (size_t)entries * sizeof *t->e);
    }
    if (!t || !t->e) {
        free(t);
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the TLB");
    }
    memset(t->e, 0, (size_t)entries * sizeof *t->e);
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

/* The two ways of the set holding (tag, vpn) in the 4 KiB array. */
static inline struct tlb_ent *set_of(struct mc_tlb *t, uint32_t tag, uint64_t vpn)
{
    return &t->e[2 * hash_idx(tag, vpn, t->n / 2)];
}

static inline bool same(const struct tlb_ent *e, uint32_t tag, uint64_t root, uint64_t vpn)
{
    return e->valid && e->vpn == vpn && e->tag == tag && e->root == root;
}

/* The 4 KiB entry for (tag, root, vpn), or NULL; a hit makes its way the set's most recent. */
static inline struct tlb_ent *find4k(struct mc_tlb *t, uint32_t tag, uint64_t root, uint64_t vpn)
{
    struct tlb_ent *w = set_of(t, tag, vpn);
    if (same(&w[0], tag, root, vpn)) {
        w[0].mru = 0;
        return &w[0];
    }
    if (same(&w[1], tag, root, vpn)) {
        w[0].mru = 1;
        return &w[1];
    }
    return NULL;
}

bool tlb_lookup(struct mc_tlb *t, uint32_t tag, uint64_t root, uint64_t va, unsigned acc,
                const struct mc_paging_regs *regs, struct mc_xlat *out)
{
    uint64_t vpn = va >> 12;
    struct tlb_ent *e = find4k(t, tag, root, vpn);
    if (!e) {
        e = &t->big[hash_idx(tag, va >> 21, NBIG)];
        if (!e->valid || e->vpn != (va >> 21) || e->tag != tag || e->root != root) {
            t->st.misses++;
            return false;
        }
    }
    const unsigned f = e->flags;
    bool user = acc & MC_PG_USER, write = acc & MC_PG_WRITE, fetch = acc & MC_PG_FETCH;
    /* Anything that could fault, or needs an accessed/dirty bit set, goes back to the walker. */
    if ((user && !(f & F_U)) || (write && (!(f & F_D) || (!(f & F_W) && (user || (regs->cr0 & MC_CR0_WP))))) ||
        (fetch && ((f & F_NX) || (!user && (f & F_U) && (regs->cr4 & MC_CR4_SMEP)))) ||
        (!write && !fetch && !(f & F_R))) {
        t->st.misses++;
        return false;
    }
    const uint64_t off = va - e->va_base;
    *out = (struct mc_xlat){.pa = e->page_base + off, .page_base = e->page_base, .page_size = 1ull << e->shift,
                            .writable = f & F_W, .user = f & F_U, .nx = f & F_NX, .global = f & F_G,
                            .dirty = f & F_D, .readable = f & F_R, .gpa = e->gpa_base + off,
                            .nested_size = e->nshift ? 1ull << e->nshift : 0, .priv = f & F_PRIV,
                            .check_ok = e->check_ok, .check_epoch = e->check_epoch};
    t->st.hits++;
    return true;
}

static unsigned log2_size(uint64_t size) /* size: a power of two */
{
    return (unsigned)__builtin_ctzll(size);
}

void tlb_insert(struct mc_tlb *t, uint32_t tag, uint64_t root, uint64_t va, const struct mc_xlat *x)
{
    if (!x->page_size || (x->page_size & (x->page_size - 1)))
        return;
    uint64_t vpn = va >> 12;
    struct tlb_ent *e;
    if (x->page_size > 4096) {
        vpn = va >> 21;
        e = &t->big[hash_idx(tag, vpn, NBIG)];
    } else if (!(e = find4k(t, tag, root, vpn))) {
        /* A new translation: a free way, else the one not used last. */
        struct tlb_ent *w = set_of(t, tag, vpn);
        unsigned way = !w[0].valid ? 0 : !w[1].valid ? 1 : (unsigned)!w[0].mru;
        w[0].mru = (uint8_t)way;
        e = &w[way];
    }
    e->vpn = vpn;
    e->va_base = va & ~(x->page_size - 1);
    e->page_base = x->pa - (va - e->va_base);
    e->gpa_base = x->gpa - (va - e->va_base);
    e->root = root;
    e->tag = tag;
    e->shift = (uint8_t)log2_size(x->page_size);
    e->nshift = x->nested_size ? (uint8_t)log2_size(x->nested_size) : 0;
    e->flags = (uint8_t)((x->writable ? F_W : 0) | (x->user ? F_U : 0) | (x->nx ? F_NX : 0) | (x->global ? F_G : 0) |
                         (x->dirty ? F_D : 0) | (x->readable ? F_R : 0) | (x->priv ? F_PRIV : 0));
    e->check_ok = x->check_ok;
    e->check_epoch = x->check_epoch;
    e->valid = 1;
}

void tlb_set_check(struct mc_tlb *t, uint32_t tag, uint64_t root, uint64_t va, uint32_t epoch, uint8_t ok)
{
    struct tlb_ent *e = find4k(t, tag, root, va >> 12);
    if (!e) {
        e = &t->big[hash_idx(tag, va >> 21, NBIG)];
        if (!e->valid || e->vpn != (va >> 21) || e->tag != tag || e->root != root)
            return;
    }
    if (e->check_epoch != epoch) {
        e->check_epoch = epoch;
        e->check_ok = 0;
    }
    e->check_ok |= ok;
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
        if (t->e[i].valid && t->e[i].tag == tag && !(keep_global && (t->e[i].flags & F_G)))
            t->e[i].valid = 0;
    for (unsigned i = 0; i < NBIG; i++)
        if (t->big[i].valid && t->big[i].tag == tag && !(keep_global && (t->big[i].flags & F_G)))
            t->big[i].valid = 0;
    memset(t->pde, 0, sizeof t->pde); /* paging-structure caches hold no global entries */
    t->st.flushes++;
}

void mc_tlb_invlpg(struct mc_tlb *t, uint32_t tag, uint64_t va)
{
    if (!t)
        return;
    /* A 4 KiB entry for va can only sit in its own set (any root); large entries are few. */
    struct tlb_ent *e = set_of(t, tag, va >> 12);
    for (unsigned w = 0; w < 2; w++)
        if (e[w].valid && e[w].tag == tag && e[w].vpn == (va >> 12))
            e[w].valid = 0;
    for (unsigned i = 0; i < NBIG; i++) {
        e = &t->big[i];
        if (e->valid && e->tag == tag && (va & ~((1ull << e->shift) - 1)) == e->va_base)
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
