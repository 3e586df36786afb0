/* The memory controller: key bindings, the plaintext write-back cache, and the path to the
 * engine and DRAM. See include/memcrypt/mc.h. */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/mc.h>

#include "crypto/crypto.h"
#include "mc/mc_int.h"
#include "mc/mc_snap.h"

#define LINE MC_LINE_SIZE
#define DEFAULT_CACHE (256u * 1024u)
#define DEFAULT_WAYS 8u

struct cline {
    uint64_t pa;   /* memory address of the line (C-bit / KeyID stripped) */
    uint32_t dom;  /* packed domain */
    uint8_t valid, dirty;
    uint64_t lru;
};

struct memctl {
    struct memctl_platform plat;
    struct mc_engine *engine;
    struct mc_dram *dram;
    uint64_t dram_size;

    mc_slot host_slot, tsme_slot;
    uint32_t max_asid;
    mc_slot *asid_slot;      /* [max_asid + 1] */
    uint32_t nkeyids;        /* 2^K in TME mode, else 0 */
    mc_slot *keyid_slot;     /* [nkeyids] */

    uint64_t cache_size;
    unsigned ways, nsets;
    struct cline *lines;     /* nsets * ways */
    uint8_t *data;           /* nsets * ways * 64, plaintext */
    uint64_t tick;
    size_t nvalid;           /* valid lines: WBINVD and flushes stop when none is left */
    struct memctl_cache_stats st;
    /* Valid lines per hashed 4 KiB page (any domain): lets whole-page streaming skip the
     * per-line lookups when no line of the page is cached. */
    uint32_t phint[4096];
    memctl_write_observer_fn observer; /* optional, see memctl_set_write_observer */
    void *observer_ctx;
};

static inline size_t phint_of(uint64_t pa) { return (size_t)((pa >> 12) & 4095); }

static const uint8_t zero_page[MC_FRAME_SIZE];

static uint32_t dom_pack(struct memctl_domain d) { return ((uint32_t)d.kind << 24) | (d.id & 0xFFFFFFu); }
static struct memctl_domain dom_unpack(uint32_t v) { return (struct memctl_domain){(enum memctl_domain_kind)(v >> 24), v & 0xFFFFFFu}; }

/* Slot for a domain: 0 = plaintext; MC_E_STATE when the domain has no key. */
static mc_status dom_slot(const struct memctl *mc, struct memctl_domain d, mc_slot *slot, struct mc_error *err)
{
    char nb[32];
    mc_slot s = 0;
    switch (d.kind) {
    case MEMCTL_DOM_PLAIN: *slot = 0; return MC_OK;
    case MEMCTL_DOM_HOST: s = mc->host_slot; break;
    case MEMCTL_DOM_TSME: s = mc->tsme_slot; break;
    case MEMCTL_DOM_ASID: s = d.id <= mc->max_asid ? mc->asid_slot[d.id] : 0; break;
    case MEMCTL_DOM_KEYID:
        s = d.id < mc->nkeyids ? mc->keyid_slot[d.id] : 0;
        if (s == MEMCTL_KEYID_NOENCRYPT) {
            *slot = 0;
            return MC_OK;
        }
        break;
    }
    if (!s)
        return mc_seterr(err, MC_E_STATE, "key domain '%s' has no key bound", memctl_domain_name(d, nb, sizeof nb));
    *slot = s;
    return MC_OK;
}

static mc_status check_slot(const struct memctl *mc, mc_slot slot, struct mc_error *err)
{
    enum mc_cipher c;
    if (slot == 0 || mc_engine_slot_cipher(mc->engine, slot, &c, NULL) != MC_OK)
        return mc_seterr(err, MC_E_STATE, "engine slot %u does not exist (never created or destroyed)", slot);
    return MC_OK;
}

mc_status memctl_create(const struct memctl_platform *p, const struct memctl_cache_geom *g, uint32_t max_asid, struct mc_engine *e,
                    struct mc_dram *d, struct memctl **out, struct mc_error *err)
{
    if (!out || !e || !d)
        return mc_seterr(err, MC_E_INVAL, "memctl_create needs an engine, a DRAM and an output pointer");
    *out = NULL;
    mc_status st = memctl_platform_check(p, err);
    if (st)
        return st;
    if (max_asid > 0xFFFFF)
        return mc_seterr(err, MC_E_RANGE, "max ASID %u is unreasonably large", max_asid);
    uint64_t size = g && g->size ? g->size : DEFAULT_CACHE;
    unsigned ways = g && g->ways ? g->ways : DEFAULT_WAYS;
    if (ways > 64 || size % ((uint64_t)LINE * ways) || size > (1ull << 30))
        return mc_seterr(err, MC_E_INVAL, "cache geometry %llu bytes / %u ways is invalid (ways <= 64, size a multiple "
                         "of 64*ways, at most 1 GiB)", (unsigned long long)size, ways);
    uint64_t nsets = size / LINE / ways;
    if (nsets & (nsets - 1))
        return mc_seterr(err, MC_E_INVAL, "cache geometry gives %llu sets; it must be a power of two",
                         (unsigned long long)nsets);
    struct memctl *mc = calloc(1, sizeof *mc);
    if (!mc)
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the memory controller");
    mc->plat = *p;
    mc->engine = e;
    mc->dram = d;
    mc->dram_size = mc_dram_size(d);
    mc->max_asid = max_asid;
    mc->cache_size = size;
    mc->ways = ways;
    mc->nsets = (unsigned)nsets;
    mc->asid_slot = calloc((size_t)max_asid + 1, sizeof *mc->asid_slot);
    mc->lines = calloc((size_t)nsets * ways, sizeof *mc->lines);
    mc->data = calloc((size_t)nsets * ways, LINE);
    if (p->mode == MEMCTL_MODE_TME) {
        mc->nkeyids = 1u << p->keyid_bits;
        mc->keyid_slot = calloc(mc->nkeyids, sizeof *mc->keyid_slot);
    }
    if (!mc->asid_slot || !mc->lines || !mc->data || (p->mode == MEMCTL_MODE_TME && !mc->keyid_slot)) {
        memctl_destroy(mc);
        return mc_seterr(err, MC_E_NOMEM, "out of memory for the cache");
    }
    *out = mc;
    return MC_OK;
}

void memctl_destroy(struct memctl *mc)
{
    if (!mc)
        return;
    if (mc->data)
        mc_wipe(mc->data, (size_t)mc->nsets * mc->ways * LINE);
    free(mc->data);
    free(mc->lines);
    free(mc->asid_slot);
    free(mc->keyid_slot);
    free(mc);
}

const struct memctl_platform *memctl_get_platform(const struct memctl *mc) { return mc ? &mc->plat : NULL; }
struct mc_engine *memctl_get_engine(struct memctl *mc) { return mc ? mc->engine : NULL; }
struct mc_dram *memctl_get_dram(struct memctl *mc) { return mc ? mc->dram : NULL; }
uint64_t memctl_cache_size(const struct memctl *mc) { return mc ? mc->cache_size : 0; }
unsigned memctl_cache_ways(const struct memctl *mc) { return mc ? mc->ways : 0; }

void memctl_cache_get_stats(const struct memctl *mc, struct memctl_cache_stats *s)
{
    if (mc && s)
        *s = mc->st;
}

/* ------------------------------------------------------------- transfers -- */

static mc_status xform(struct memctl *mc, mc_slot slot, uint64_t pa, const uint8_t *in, uint8_t *out, size_t len,
                       int decrypt, struct mc_error *err)
{
    if (!slot) {
        if (in != out)
            memcpy(out, in, len);
        return MC_OK;
    }
    return decrypt ? mc_engine_decrypt(mc->engine, slot, pa, in, out, len, err)
                   : mc_engine_encrypt(mc->engine, slot, pa, in, out, len, err);
}

/* Move len bytes (whole lines) between DRAM at pa and the caller's buffer (rbuf: DRAM -> decrypt
 * -> rbuf; wbuf: wbuf -> encrypt -> DRAM) with slot's key: one engine call per run DRAM keeps
 * contiguous (up to 1 GiB), so a page or a whole bulk transfer is one call. */
static mc_status dram_xfer(struct memctl *mc, mc_slot slot, uint64_t pa, uint8_t *rbuf, const uint8_t *wbuf, size_t len,
                           struct mc_error *err)
{
    while (len) {
        size_t n = len;
        mc_status st;
        if (rbuf) {
            const uint8_t *src = mc_dram_run(mc->dram, pa, &n, false);
            if (!src) { /* never written: zeros */
                if (n > sizeof zero_page)
                    n = sizeof zero_page;
                src = zero_page;
            }
            st = xform(mc, slot, pa, src, rbuf, n, 1, err);
            rbuf += n;
        } else {
            uint8_t *dst = mc_dram_run(mc->dram, pa, &n, true);
            if (!dst)
                return mc_seterr(err, MC_E_NOMEM, "DRAM at 0x%llx could not be allocated", (unsigned long long)pa);
            st = xform(mc, slot, pa, wbuf, dst, n, 0, err);
            wbuf += n;
        }
        if (st)
            return st;
        pa += n;
        len -= n;
    }
    return MC_OK;
}

static mc_status dram_in(struct memctl *mc, mc_slot slot, uint64_t pa, uint8_t *out, size_t len, struct mc_error *err)
{
    return dram_xfer(mc, slot, pa, out, NULL, len, err);
}

static mc_status dram_out(struct memctl *mc, mc_slot slot, uint64_t pa, const uint8_t *in, size_t len,
                          struct mc_error *err)
{
    return dram_xfer(mc, slot, pa, NULL, in, len, err);
}

static inline uint8_t *ldata(struct memctl *mc, size_t idx) { return mc->data + idx * LINE; }

static mc_status writeback(struct memctl *mc, size_t idx, struct mc_error *err)
{
    struct cline *l = &mc->lines[idx];
    if (!l->valid || !l->dirty)
        return MC_OK;
    mc_slot slot = 0;
    mc_status st = dom_slot(mc, dom_unpack(l->dom), &slot, err);
    if (st == MC_OK)
        st = dram_out(mc, slot, l->pa, ldata(mc, idx), LINE, err);
    if (st == MC_OK) {
        l->dirty = 0;
        mc->st.writebacks++;
    }
    return st;
}

static void invalidate(struct memctl *mc, size_t idx)
{
    if (mc->lines[idx].valid) {
        mc->phint[phint_of(mc->lines[idx].pa)]--;
        mc->nvalid--;
    }
    mc->lines[idx].valid = 0;
    mc->lines[idx].dirty = 0;
    mc_wipe(ldata(mc, idx), LINE);
}

/* Write back (if dirty) and invalidate. A line whose key vanished is dropped, as hardware
 * would lose it. */
static mc_status flush_line(struct memctl *mc, size_t idx, struct mc_error *err)
{
    mc_status st = writeback(mc, idx, err);
    if (st == MC_E_STATE)
        st = MC_OK;
    invalidate(mc, idx);
    return st;
}


/* Find (pa, dom). On a coherent platform, copies of pa under other domains are written back
 * and dropped first (hardware-enforced coherency, 8000_001F EAX[10]). */
static long lookup(struct memctl *mc, uint64_t pa, uint32_t dom)
{
    size_t base = (size_t)((pa / LINE) & (mc->nsets - 1)) * mc->ways;
    long found = -1;
    for (unsigned w = 0; w < mc->ways; w++) {
        struct cline *l = &mc->lines[base + w];
        if (!l->valid || l->pa != pa)
            continue;
        if (l->dom == dom)
            found = (long)(base + w);
        else if (mc->plat.coherent)
            flush_line(mc, base + w, NULL);
    }
    return found;
}

/* Find or allocate the line; fill from DRAM when need_fill. */
static mc_status get_line(struct memctl *mc, uint64_t pa, uint32_t dom, mc_slot slot, bool need_fill, size_t *out,
                          struct mc_error *err)
{
    long hit = lookup(mc, pa, dom);
    if (hit >= 0) {
        mc->st.hits++;
        mc->lines[hit].lru = ++mc->tick;
        *out = (size_t)hit;
        return MC_OK;
    }
    mc->st.misses++;
    size_t base = (size_t)((pa / LINE) & (mc->nsets - 1)) * mc->ways, victim = base;
    for (unsigned w = 0; w < mc->ways; w++) {
        struct cline *l = &mc->lines[base + w];
        if (!l->valid) {
            victim = base + w;
            break;
        }
        if (l->lru < mc->lines[victim].lru)
            victim = base + w;
    }
    if (mc->lines[victim].valid) {
        /* Write back and drop the victim; its plaintext is overwritten right below (fill or the
         * caller's whole-line write), so it needs no separate wipe. */
        mc->st.evictions++;
        mc_status st = writeback(mc, victim, err);
        if (st && st != MC_E_STATE)
            return st;
        mc->phint[phint_of(mc->lines[victim].pa)]--;
        mc->nvalid--;
        mc->lines[victim].valid = mc->lines[victim].dirty = 0;
    }
    if (need_fill) {
        mc_status st = dram_in(mc, slot, pa, ldata(mc, victim), LINE, err);
        if (st) {
            mc_wipe(ldata(mc, victim), LINE);
            return st;
        }
        mc->st.fills++;
    }
    struct cline *l = &mc->lines[victim];
    l->pa = pa;
    l->dom = dom;
    l->valid = 1;
    mc->nvalid++;
    mc->phint[phint_of(pa)]++;
    l->dirty = 0;
    l->lru = ++mc->tick;
    *out = victim;
    return MC_OK;
}

mc_status memctl_route(const struct memctl *mc, const struct memctl_access *a, struct memctl_route *out, mc_slot *slot,
                   struct mc_fault *fault, struct mc_error *err)
{
    if (!mc || !a || !out || !slot)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to memctl_route");
    struct memctl_route r;
    mc_status st = memctl_select_checked(&mc->plat, a, &r, fault, err);
    if (st)
        return st;
    if (r.pa + a->size > mc->dram_size || r.pa + a->size < r.pa)
        return mc_seterr(err, MC_E_RANGE, "memory range 0x%llx+%llu lies outside DRAM (%llu bytes)",
                         (unsigned long long)r.pa, (unsigned long long)a->size, (unsigned long long)mc->dram_size);
    st = dom_slot(mc, r.dom, slot, err);
    if (st)
        return st;
    *out = r;
    return MC_OK;
}

static mc_status do_access(struct memctl *mc, const struct memctl_access *a, uint8_t *rbuf, const uint8_t *wbuf,
                           struct mc_fault *fault, struct mc_error *err)
{
    if (!mc || !a || (!rbuf && !wbuf))
        return mc_seterr(err, MC_E_INVAL, "NULL argument to a memory-controller access");
    if (fault)
        fault->kind = MC_FAULT_NONE;
    struct memctl_route r;
    mc_slot slot = 0;
    mc_status st = memctl_route(mc, a, &r, &slot, fault, err);
    if (st)
        return st;
    uint32_t dom = dom_pack(r.dom);
    bool stream = a->flags & MEMCTL_ACC_F_STREAM;
    if (!stream && a->size <= LINE) {
        /* A small access: start loading the DRAM line a miss would fill from while the cache is
         * searched (host memory latency overlaps the lookup). */
        size_t n = 1;
        const uint8_t *p = mc_dram_run(mc->dram, r.pa, &n, false);
        if (p)
            __builtin_prefetch(p);
    }
    mc->st.accesses++;
    mc->st.line_accesses += ((r.pa + a->size - 1) / LINE) - (r.pa / LINE) + 1;
    uint64_t pa = r.pa, left = a->size;
    size_t done = 0;
    if (!rbuf) {
        /* Map the DRAM behind a write first, so running out of memory changes nothing. */
        for (uint64_t p = pa; p < pa + left;) {
            size_t n = 0;
            if (!mc_dram_run(mc->dram, p, &n, true))
                return mc_seterr(err, MC_E_NOMEM, "DRAM at 0x%llx could not be allocated", (unsigned long long)p);
            p = (p | ((1ull << 30) - 1)) + 1;
        }
    }
    /* Streaming: consecutive pages with no cached line form one pending run, moved through the
     * engine in one call when something else comes (or at the end). */
    uint64_t pend_pa = 0, pend_len = 0;
    size_t pend_done = 0;
#define FLUSH_PENDING()                                                                                            \
    do {                                                                                                           \
        if (pend_len) {                                                                                            \
            st = rbuf ? dram_in(mc, slot, pend_pa, rbuf + pend_done, (size_t)pend_len, err)                        \
                      : dram_out(mc, slot, pend_pa, wbuf + pend_done, (size_t)pend_len, err);                      \
            if (st)                                                                                                \
                return st;                                                                                         \
            mc->st.stream_lines += pend_len / LINE;                                                                \
            pend_len = 0;                                                                                          \
        }                                                                                                          \
    } while (0)
    while (left) {
        uint64_t off = pa & (LINE - 1);
        if (stream && off == 0 && left >= LINE) {
            /* Run of whole lines inside one frame: hits go through the cache, misses in runs
             * through the engine in one call. */
            uint64_t frame_left = MC_FRAME_SIZE - (pa & (MC_FRAME_SIZE - 1));
            uint64_t run = left < frame_left ? left & ~(uint64_t)(LINE - 1) : frame_left;
            if (mc->phint[phint_of(pa)] == 0) { /* no line of this page is cached */
                if (!pend_len) {
                    pend_pa = pa;
                    pend_done = done;
                }
                pend_len += run;
                pa += run;
                done += run;
                left -= run;
                continue;
            }
            FLUSH_PENDING();
            uint64_t i = 0;
            while (i < run) {
                long hit = lookup(mc, pa + i, dom);
                if (hit >= 0) {
                    mc->st.hits++;
                    mc->lines[hit].lru = ++mc->tick;
                    if (rbuf)
                        memcpy(rbuf + done + i, ldata(mc, (size_t)hit), LINE);
                    else {
                        memcpy(ldata(mc, (size_t)hit), wbuf + done + i, LINE);
                        mc->lines[hit].dirty = 1;
                    }
                    i += LINE;
                    continue;
                }
                uint64_t j = i + LINE;
                while (j < run && lookup(mc, pa + j, dom) < 0)
                    j += LINE;
                st = rbuf ? dram_in(mc, slot, pa + i, rbuf + done + i, (size_t)(j - i), err)
                          : dram_out(mc, slot, pa + i, wbuf + done + i, (size_t)(j - i), err);
                if (st)
                    return st;
                mc->st.stream_lines += (j - i) / LINE;
                i = j;
            }
            pa += run;
            done += run;
            left -= run;
            continue;
        }
        FLUSH_PENDING();
        uint64_t n = LINE - off;
        if (n > left)
            n = left;
        size_t idx;
        bool full = (off == 0 && n == LINE);
        st = get_line(mc, pa - off, dom, slot, rbuf != NULL || !full, &idx, err);
        if (st)
            return st;
        if (rbuf) {
            memcpy(rbuf + done, ldata(mc, idx) + off, n);
        } else {
            memcpy(ldata(mc, idx) + off, wbuf + done, n);
            mc->lines[idx].dirty = 1;
        }
        pa += n;
        done += n;
        left -= n;
    }
    FLUSH_PENDING();
#undef FLUSH_PENDING
    return MC_OK;
}

mc_status memctl_read(struct memctl *mc, const struct memctl_access *a, void *buf, struct mc_fault *fault, struct mc_error *err)
{
    if (!buf)
        return mc_seterr(err, MC_E_INVAL, "memctl_read: NULL buffer");
    return do_access(mc, a, buf, NULL, fault, err);
}

mc_status memctl_write(struct memctl *mc, const struct memctl_access *a, const void *buf, struct mc_fault *fault,
                   struct mc_error *err)
{
    if (!buf)
        return mc_seterr(err, MC_E_INVAL, "memctl_write: NULL buffer");
    mc_status st = do_access(mc, a, NULL, buf, fault, err);
    if (st == MC_OK && mc->observer) {
        struct memctl_route r;
        mc_slot slot;
        if (memctl_route(mc, a, &r, &slot, NULL, NULL) == MC_OK)
            mc->observer(mc->observer_ctx, r.pa, a->size, r.dom);
    }
    return st;
}

void memctl_set_write_observer(struct memctl *mc, memctl_write_observer_fn fn, void *ctx)
{
    if (!mc)
        return;
    mc->observer = fn;
    mc->observer_ctx = fn ? ctx : NULL;
}

/* ---------------------------------------------------------------- flushes -- */

mc_status memctl_clflush(struct memctl *mc, const struct memctl_access *a, struct mc_fault *fault, struct mc_error *err)
{
    if (!mc || !a)
        return mc_seterr(err, MC_E_INVAL, "NULL argument to memctl_clflush");
    struct memctl_access one = *a;
    one.size = 1;
    struct memctl_route r;
    mc_status st = memctl_select_checked(&mc->plat, &one, &r, fault, err);
    if (st)
        return st;
    long idx = lookup(mc, r.pa & ~(uint64_t)(LINE - 1), dom_pack(r.dom));
    return idx >= 0 ? flush_line(mc, (size_t)idx, err) : MC_OK;
}

mc_status memctl_wbinvd(struct memctl *mc, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    mc_status first = MC_OK;
    for (size_t i = 0; i < (size_t)mc->nsets * mc->ways && mc->nvalid; i++)
        if (mc->lines[i].valid) {
            mc_status st = flush_line(mc, i, err);
            if (st && !first)
                first = st;
        }
    return first;
}

void memctl_cache_drop_all(struct memctl *mc)
{
    if (!mc)
        return;
    for (size_t i = 0; i < (size_t)mc->nsets * mc->ways; i++)
        mc->lines[i].valid = mc->lines[i].dirty = 0;
    mc->nvalid = 0;
    memset(mc->phint, 0, sizeof mc->phint);
    mc_wipe(mc->data, (size_t)mc->nsets * mc->ways * LINE);
}

mc_status memctl_flush_domain(struct memctl *mc, struct memctl_domain d, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    uint32_t dom = dom_pack(d);
    mc_status first = MC_OK;
    for (size_t i = 0; i < (size_t)mc->nsets * mc->ways && mc->nvalid; i++)
        if (mc->lines[i].valid && mc->lines[i].dom == dom) {
            mc_status st = flush_line(mc, i, err);
            if (st && !first)
                first = st;
        }
    return first;
}

mc_status memctl_clflush_range(struct memctl *mc, uint64_t pa, uint64_t len, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    if (len > mc->cache_size)
        return memctl_flush_domain(mc, (struct memctl_domain){MEMCTL_DOM_PLAIN, 0}, err);
    for (uint64_t a = pa & ~(uint64_t)(LINE - 1); a < pa + len; a += LINE) {
        if (mc->phint[phint_of(a)] == 0) { /* no line of this page is cached: skip to the next page */
            a = (a | (MC_FRAME_SIZE - 1)) + 1 - LINE;
            continue;
        }
        struct memctl_access acc = {.addr = a, .size = 1, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
        struct mc_fault f;
        mc_status st = memctl_clflush(mc, &acc, &f, err);
        if (st)
            return st;
    }
    return MC_OK;
}

mc_status memctl_vm_page_flush(struct memctl *mc, uint64_t pa, uint32_t asid, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    if (asid == 0 || asid > mc->max_asid)
        return mc_seterr(err, MC_E_INVAL, "VM_PAGE_FLUSH needs an ASID in 1..%u (got %u)", mc->max_asid, asid);
    pa &= ~(uint64_t)(MC_FRAME_SIZE - 1);
    if (pa >= mc->dram_size)
        return mc_seterr(err, MC_E_RANGE, "page 0x%llx lies outside DRAM", (unsigned long long)pa);
    uint32_t dom = dom_pack((struct memctl_domain){MEMCTL_DOM_ASID, asid});
    for (uint64_t o = 0; o < MC_FRAME_SIZE; o += LINE) {
        long idx = lookup(mc, pa + o, dom);
        if (idx >= 0) {
            mc_status st = flush_line(mc, (size_t)idx, err);
            if (st)
                return st;
        }
    }
    return MC_OK;
}

/* --------------------------------------------------------------- bindings -- */

mc_status memctl_set_platform(struct memctl *mc, const struct memctl_platform *p, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    mc_status st = memctl_platform_check(p, err);
    if (st)
        return st;
    mc_slot *kt = NULL;
    uint32_t nk = 0;
    if (p->mode == MEMCTL_MODE_TME) {
        nk = 1u << p->keyid_bits;
        kt = calloc(nk, sizeof *kt);
        if (!kt)
            return mc_seterr(err, MC_E_NOMEM, "out of memory for the KeyID table");
        for (uint32_t i = 0; i < nk && i < mc->nkeyids; i++)
            kt[i] = mc->keyid_slot[i];
    }
    st = memctl_wbinvd(mc, err);
    if (st) {
        free(kt);
        return st;
    }
    free(mc->keyid_slot);
    mc->keyid_slot = kt;
    mc->nkeyids = nk;
    if (p->mode != MEMCTL_MODE_SME)
        memset(mc->asid_slot, 0, ((size_t)mc->max_asid + 1) * sizeof *mc->asid_slot);
    if (p->mode != MEMCTL_MODE_SME)
        mc->host_slot = 0;
    if (p->mode != MEMCTL_MODE_TSME)
        mc->tsme_slot = 0;
    mc->plat = *p;
    return MC_OK;
}

mc_status memctl_bind_host(struct memctl *mc, mc_slot slot, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    if (mc->plat.mode != MEMCTL_MODE_SME)
        return mc_seterr(err, MC_E_UNSUPPORTED, "the SME host key needs SME mode (SYSCFG[23]=1, TSME off)");
    mc_status st = check_slot(mc, slot, err);
    if (st)
        return st;
    mc->host_slot = slot;
    return MC_OK;
}

mc_status memctl_bind_tsme(struct memctl *mc, mc_slot slot, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    if (mc->plat.mode != MEMCTL_MODE_TSME)
        return mc_seterr(err, MC_E_UNSUPPORTED, "the TSME platform key needs TSME mode");
    mc_status st = check_slot(mc, slot, err);
    if (st)
        return st;
    mc->tsme_slot = slot;
    return MC_OK;
}

mc_status memctl_bind_asid(struct memctl *mc, uint32_t asid, mc_slot slot, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    if (mc->plat.mode == MEMCTL_MODE_TSME)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "SEV ASID keys are unavailable with TSME: SYSCFG[23] is set (the BIOS sets it for TSME too), "
                         "but TSME encrypts every access with its one platform key, so this model offers no per-ASID "
                         "keys; SEV needs the BIOS to leave TSME off and enable SME");
    if (mc->plat.mode != MEMCTL_MODE_SME)
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "SEV ASID keys need SME mode (SYSCFG[23] MemEncryptionModEn = 1, TSME off); %s",
                         mc->plat.mode == MEMCTL_MODE_OFF ? "the BIOS left SYSCFG[23] clear" : "Intel parts have none");
    if (asid == 0 || asid > mc->max_asid)
        return mc_seterr(err, MC_E_RANGE, "ASID %u is outside 1..%u", asid, mc->max_asid);
    mc_status st = check_slot(mc, slot, err);
    if (st)
        return st;
    mc->asid_slot[asid] = slot;
    return MC_OK;
}

mc_status memctl_unbind_asid(struct memctl *mc, uint32_t asid, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    if (asid == 0 || asid > mc->max_asid)
        return mc_seterr(err, MC_E_RANGE, "ASID %u is outside 1..%u", asid, mc->max_asid);
    if (!mc->asid_slot[asid])
        return mc_seterr(err, MC_E_STATE, "ASID %u has no key bound", asid);
    mc_status st = memctl_flush_domain(mc, (struct memctl_domain){MEMCTL_DOM_ASID, asid}, err);
    if (st)
        return st;
    mc->asid_slot[asid] = 0;
    return MC_OK;
}

mc_slot memctl_asid_slot(const struct memctl *mc, uint32_t asid)
{
    return mc && asid <= mc->max_asid ? mc->asid_slot[asid] : 0;
}

mc_status memctl_set_keyid(struct memctl *mc, uint32_t keyid, mc_slot slot, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    if (mc->plat.mode != MEMCTL_MODE_TME)
        return mc_seterr(err, MC_E_UNSUPPORTED, "KeyIDs need TME mode (TME_ACTIVATE locked and enabled)");
    if (keyid >= mc->nkeyids)
        return mc_seterr(err, MC_E_RANGE, "KeyID %u is outside 0..%u", keyid, mc->nkeyids - 1);
    if (slot != MEMCTL_KEYID_NOENCRYPT && slot != MEMCTL_KEYID_UNBOUND) {
        mc_status st = check_slot(mc, slot, err);
        if (st)
            return st;
    }
    mc->keyid_slot[keyid] = slot;
    return MC_OK;
}

mc_slot memctl_keyid_slot(const struct memctl *mc, uint32_t keyid)
{
    return mc && keyid < mc->nkeyids ? mc->keyid_slot[keyid] : 0;
}

mc_status memctl_set_tme_exclusion(struct memctl *mc, bool enable, uint64_t base, uint64_t mask, struct mc_error *err)
{
    if (!mc)
        return mc_seterr(err, MC_E_INVAL, "NULL controller");
    if (mc->plat.mode != MEMCTL_MODE_TME)
        return mc_seterr(err, MC_E_UNSUPPORTED, "the TME exclusion range needs TME mode");
    struct memctl_platform p = mc->plat;
    p.excl_enable = enable;
    p.excl_base = enable ? base : 0;
    p.excl_mask = enable ? mask : 0;
    mc_status st = memctl_platform_check(&p, err);
    if (st)
        return st;
    mc->plat = p;
    return MC_OK;
}

void memctl_reset(struct memctl *mc)
{
    if (!mc)
        return;
    memctl_cache_drop_all(mc);
    /* Destroying a handle twice only returns MC_E_STATE; ignore it. */
    if (mc->host_slot)
        mc_engine_slot_destroy(mc->engine, mc->host_slot, NULL);
    if (mc->tsme_slot)
        mc_engine_slot_destroy(mc->engine, mc->tsme_slot, NULL);
    for (uint32_t i = 0; i <= mc->max_asid; i++)
        if (mc->asid_slot[i])
            mc_engine_slot_destroy(mc->engine, mc->asid_slot[i], NULL);
    for (uint32_t i = 0; i < mc->nkeyids; i++)
        if (mc->keyid_slot[i] && mc->keyid_slot[i] != MEMCTL_KEYID_NOENCRYPT)
            mc_engine_slot_destroy(mc->engine, mc->keyid_slot[i], NULL);
    mc->host_slot = mc->tsme_slot = 0;
    memset(mc->asid_slot, 0, ((size_t)mc->max_asid + 1) * sizeof *mc->asid_slot);
    if (mc->keyid_slot)
        memset(mc->keyid_slot, 0, mc->nkeyids * sizeof *mc->keyid_slot);
    mc->st = (struct memctl_cache_stats){0};
}

/* ---------------------------------------------------------------- snapshots -- */

struct memctl_snap {
    const struct memctl *owner;
    struct memctl c;        /* scalars; the pointers are the owner's */
    mc_slot *asid_slot;     /* [max_asid + 1] */
    mc_slot *keyid_slot;    /* [c.nkeyids] */
    struct cline *lines;    /* nsets * ways */
    uint8_t *data;          /* nsets * ways * 64 */
};

static size_t nlines(const struct memctl *mc) { return (size_t)mc->nsets * mc->ways; }

void memctl_snap_free(struct memctl_snap *s)
{
    if (!s)
        return;
    if (s->data)
        mc_wipe(s->data, nlines(&s->c) * LINE);
    free(s->data);
    free(s->lines);
    free(s->asid_slot);
    free(s->keyid_slot);
    free(s);
}

mc_status memctl_snap_save(const struct memctl *mc, struct memctl_snap **out, struct mc_error *err)
{
    if (!mc || !out)
        return mc_seterr(err, MC_E_INVAL, "controller snapshot: NULL argument");
    struct memctl_snap *s = calloc(1, sizeof *s);
    if (!s)
        return mc_seterr(err, MC_E_NOMEM, "controller snapshot: out of memory");
    s->owner = mc;
    s->c = *mc;
    s->asid_slot = malloc(((size_t)mc->max_asid + 1) * sizeof *s->asid_slot);
    s->keyid_slot = mc->nkeyids ? malloc(mc->nkeyids * sizeof *s->keyid_slot) : NULL;
    s->lines = malloc(nlines(mc) * sizeof *s->lines);
    s->data = malloc(nlines(mc) * LINE);
    if (!s->asid_slot || (mc->nkeyids && !s->keyid_slot) || !s->lines || !s->data) {
        memctl_snap_free(s);
        return mc_seterr(err, MC_E_NOMEM, "controller snapshot: out of memory");
    }
    memcpy(s->asid_slot, mc->asid_slot, ((size_t)mc->max_asid + 1) * sizeof *s->asid_slot);
    if (mc->nkeyids)
        memcpy(s->keyid_slot, mc->keyid_slot, mc->nkeyids * sizeof *s->keyid_slot);
    memcpy(s->lines, mc->lines, nlines(mc) * sizeof *s->lines);
    memcpy(s->data, mc->data, nlines(mc) * LINE);
    *out = s;
    return MC_OK;
}

mc_status memctl_snap_restore(struct memctl *mc, const struct memctl_snap *s, struct mc_error *err)
{
    if (!mc || !s)
        return mc_seterr(err, MC_E_INVAL, "controller snapshot: NULL argument");
    if (s->owner != mc)
        return mc_seterr(err, MC_E_INVAL, "controller snapshot: it belongs to another controller");
    mc_slot *kt = mc->keyid_slot;
    if (s->c.nkeyids != mc->nkeyids) {
        kt = s->c.nkeyids ? malloc(s->c.nkeyids * sizeof *kt) : NULL;
        if (s->c.nkeyids && !kt)
            return mc_seterr(err, MC_E_NOMEM, "controller snapshot: out of memory for the KeyID table");
        free(mc->keyid_slot);
    }
    mc_slot *asid = mc->asid_slot;
    struct cline *lines = mc->lines;
    uint8_t *data = mc->data;
    *mc = s->c;
    mc->keyid_slot = kt;
    mc->asid_slot = asid;
    mc->lines = lines;
    mc->data = data;
    memcpy(mc->asid_slot, s->asid_slot, ((size_t)mc->max_asid + 1) * sizeof *mc->asid_slot);
    if (mc->nkeyids)
        memcpy(mc->keyid_slot, s->keyid_slot, mc->nkeyids * sizeof *mc->keyid_slot);
    memcpy(mc->lines, s->lines, nlines(mc) * sizeof *mc->lines);
    memcpy(mc->data, s->data, nlines(mc) * LINE);
    return MC_OK;
}
