/* memcrypt — Intel EPT with MKTME KeyIDs in leaf entries (see memcrypt/ept.h). */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/ept.h>
#include <memcrypt/lcpu.h>
#include <memcrypt/machine.h>
#include <memcrypt/tme.h>

struct mc_ept {
    struct mc_machine *m;
    struct mc_tme *t;
    uint64_t pool_base;
    unsigned pool_pages, used;
    uint64_t pml4;
    struct mc_lcpu *cpu[MC_EPT_MAX_VCPUS]; /* cpu[0]: the VM's accesses by GPA */
    unsigned ncpu;
};

#define PAGE 4096ull

static uint64_t bits(unsigned hi, unsigned lo)
{
    uint64_t top = hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1);
    return top & ~((1ull << lo) - 1);
}

static unsigned maxphy(const struct mc_ept *e) { return mc_tme_get_config(e->t)->maxphyaddr; }

static mc_status rd64(struct mc_ept *e, uint64_t addr, uint64_t *v, struct mc_fault *f, struct mc_error *err)
{
    uint8_t b[8];
    mc_status s = mc_machine_phys_read(e->m, addr, b, 8, f, err);
    if (s == MC_OK)
        *v = mc_le64(b);
    return s;
}

static mc_status wr64(struct mc_ept *e, uint64_t addr, uint64_t v, struct mc_fault *f, struct mc_error *err)
{
    uint8_t b[8];
    mc_put_le64(b, v);
    return mc_machine_phys_write(e->m, addr, b, 8, f, err);
}

static mc_status new_table(struct mc_ept *e, uint64_t *pa, struct mc_error *err)
{
    if (e->used >= e->pool_pages)
        return mc_seterr(err, MC_E_FULL, "The EPT page pool (%u pages) is exhausted.", e->pool_pages);
    static const uint8_t zero[PAGE];
    uint64_t a = e->pool_base + (uint64_t)e->used * PAGE;
    struct mc_fault f;
    mc_status s = mc_machine_phys_write(e->m, a, zero, sizeof zero, &f, err);
    if (s != MC_OK)
        return s;
    e->used++;
    *pa = a;
    return MC_OK;
}

mc_status mc_ept_create(struct mc_machine *m, struct mc_tme *t, uint64_t pool_base, unsigned pool_pages,
                        struct mc_ept **out, struct mc_error *err)
{
    if (!m || !t || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_ept_create needs a machine, its TME unit and an output pointer.");
    *out = NULL;
    if (pool_base % PAGE || pool_pages == 0)
        return mc_seterr(err, MC_E_ALIGN, "The EPT pool must be 4 KiB aligned and at least one page.");
    uint64_t dram = mc_dram_size(mc_machine_dram(m));
    if (pool_base >= dram || pool_pages > (dram - pool_base) / PAGE)
        return mc_seterr(err, MC_E_RANGE, "The EPT pool at 0x%llx (%u pages) is not inside DRAM.",
                         (unsigned long long)pool_base, pool_pages);
    struct mc_ept *e = calloc(1, sizeof *e);
    if (!e)
        return mc_seterr(err, MC_E_NOMEM, "Out of memory for the EPT.");
    e->m = m;
    e->t = t;
    e->pool_base = pool_base;
    e->pool_pages = pool_pages;
    mc_status s = new_table(e, &e->pml4, err);
    struct mc_lcpu *c0;
    if (s == MC_OK)
        s = mc_ept_add_vcpu(e, 1, &c0, err);
    if (s != MC_OK) {
        free(e);
        return s;
    }
    *out = e;
    return MC_OK;
}

void mc_ept_destroy(struct mc_ept *e)
{
    if (!e)
        return;
    for (unsigned i = 0; i < e->ncpu; i++)
        mc_lcpu_destroy(e->cpu[i]);
    free(e);
}

mc_status mc_ept_add_vcpu(struct mc_ept *e, uint16_t vpid, struct mc_lcpu **out, struct mc_error *err)
{
    if (!e || !out || vpid == 0)
        return mc_seterr(err, MC_E_INVAL, "mc_ept_add_vcpu needs an EPT, a VPID > 0 and an output.");
    if (e->ncpu >= MC_EPT_MAX_VCPUS)
        return mc_seterr(err, MC_E_FULL, "An EPT serves at most %u vCPUs.", MC_EPT_MAX_VCPUS);
    /* The guest sees MAXPHYADDR unchanged and no encryption bit: its tables hold plain GPAs. */
    struct mc_lcpu_config cc = {.nest = MC_NEST_EPT, .req = MEMCTL_REQ_GUEST, .asid = vpid, .nroot = mc_ept_eptp(e),
                                .mode = {maxphy(e), -1, MC_PT_X86}};
    mc_status s = mc_lcpu_create(mc_machine_memctl(e->m), &cc, &e->cpu[e->ncpu], err);
    if (s == MC_OK)
        *out = e->cpu[e->ncpu++];
    return s;
}

void mc_ept_invept(struct mc_ept *e)
{
    for (unsigned i = 0; e && i < e->ncpu; i++)
        mc_lcpu_invept(e->cpu[i], mc_ept_eptp(e));
}

uint64_t mc_ept_eptp(const struct mc_ept *e) { return e ? e->pml4 | 6u | (3u << 3) : 0; }

static unsigned idx(uint64_t gpa, int level) { return (unsigned)((gpa >> (12 + 9 * (level - 1))) & 511); }

/* Tables a mapping of [lo, hi) needs that do not exist yet, below the table at `table` (0: that
 * table is itself missing, so everything under it is too) of level `level`. */
static mc_status count_missing(struct mc_ept *e, uint64_t table, int level, uint64_t lo, uint64_t hi, uint64_t *n,
                               struct mc_error *err)
{
    const unsigned shift = 12 + 9 * (level - 1);
    for (uint64_t g = lo; g < hi;) {
        uint64_t next = ((g >> shift) + 1) << shift, ent = 0;
        if (next > hi || next == 0)
            next = hi;
        if (table) {
            struct mc_fault f;
            mc_status s = rd64(e, table + idx(g, level) * 8, &ent, &f, err);
            if (s != MC_OK)
                return s;
        }
        if (ent & 7) {
            if (ent & MC_EPT_PS)
                return mc_seterr(err, MC_E_STATE, "0x%llx is inside a large EPT mapping.", (unsigned long long)g);
        } else {
            (*n)++;
        }
        if (level > 2) {
            mc_status s = count_missing(e, (ent & 7) ? ent & bits(maxphy(e) - 1, 12) : 0, level - 1, g, next, n, err);
            if (s != MC_OK)
                return s;
        }
        g = next;
    }
    return MC_OK;
}

/* The leaf table for gpa, creating the missing tables on the way (the pool was checked). */
static mc_status leaf_table(struct mc_ept *e, uint64_t gpa, uint64_t *out, struct mc_error *err)
{
    struct mc_fault f;
    uint64_t table = e->pml4, ent = 0;
    for (int level = 4; level > 1; level--) {
        uint64_t a = table + idx(gpa, level) * 8;
        mc_status s = rd64(e, a, &ent, &f, err);
        if (s != MC_OK)
            return s;
        if (!(ent & 7)) {
            uint64_t nt = 0;
            if ((s = new_table(e, &nt, err)) != MC_OK || (s = wr64(e, a, nt | 7, &f, err)) != MC_OK)
                return s;
            ent = nt | 7;
        }
        table = ent & bits(maxphy(e) - 1, 12);
    }
    *out = table;
    return MC_OK;
}

mc_status mc_ept_map_range(struct mc_ept *e, uint64_t gpa, uint64_t pa, uint64_t len, uint32_t keyid, uint64_t perms,
                           struct mc_error *err)
{
    if (!e)
        return mc_seterr(err, MC_E_INVAL, "No EPT.");
    if (perms & ~(MC_EPT_R | MC_EPT_W | MC_EPT_X) || !perms || ((perms & MC_EPT_W) && !(perms & MC_EPT_R)))
        return mc_seterr(err, MC_E_INVAL, "EPT permissions 0x%llx are not a valid R/W/X set (W needs R).",
                         (unsigned long long)perms);
    if (pa % PAGE || len % PAGE || !len)
        return mc_seterr(err, MC_E_ALIGN, "Host address 0x%llx and length 0x%llx must be 4 KiB multiples (length > 0).",
                         (unsigned long long)pa, (unsigned long long)len);
    uint64_t hpa, last;
    mc_status s = mc_tme_pa_compose(e->t, pa, keyid, &hpa, err);
    if (s != MC_OK)
        return s;
    uint64_t dram = mc_dram_size(mc_machine_dram(e->m));
    if (pa >= dram || len > dram - pa)
        return mc_seterr(err, MC_E_RANGE, "Host range 0x%llx+0x%llx is outside DRAM.", (unsigned long long)pa,
                         (unsigned long long)len);
    /* The last page too: hpa + offset stays below the KeyID bits. */
    if ((s = mc_tme_pa_compose(e->t, pa + len - PAGE, keyid, &last, err)) != MC_OK)
        return s;
    if (gpa % PAGE || gpa >> 48 || len > (1ull << 48) - gpa)
        return mc_seterr(err, MC_E_RANGE, "Guest-physical range 0x%llx+0x%llx is not 4 KiB pages below 2^48.",
                         (unsigned long long)gpa, (unsigned long long)len);
    /* Count the tables the mapping needs first, so that a full pool (or a large mapping in the
     * way) changes nothing. */
    uint64_t missing = 0;
    if ((s = count_missing(e, e->pml4, 4, gpa, gpa + len, &missing, err)) != MC_OK)
        return s;
    if (missing > e->pool_pages - e->used)
        return mc_seterr(err, MC_E_FULL, "The EPT page pool (%u pages) is exhausted.", e->pool_pages);
    /* Each leaf table's share of the range: its old entries read in one run, the new ones written
     * in one run through the controller. */
    const uint64_t attr = perms | (6u << 3) /* memory type WB */;
    bool replaced = false;
    uint8_t run[PAGE];
    for (uint64_t off = 0; off < len && s == MC_OK;) {
        uint64_t g = gpa + off, table = 0;
        unsigned i = idx(g, 1), n = 512 - i;
        if ((uint64_t)n > (len - off) / PAGE)
            n = (unsigned)((len - off) / PAGE);
        struct mc_fault f;
        s = leaf_table(e, g, &table, err);
        if (s == MC_OK)
            s = mc_machine_phys_read(e->m, table + i * 8ull, run, 8u * n, &f, err);
        for (unsigned k = 0; s == MC_OK && k < n; k++) {
            replaced |= (mc_le64(run + 8u * k) & 7) != 0;
            mc_put_le64(run + 8u * k, (hpa + off + PAGE * k) | attr);
        }
        if (s == MC_OK)
            s = mc_machine_phys_write(e->m, table + i * 8ull, run, 8u * n, &f, err);
        off += PAGE * n;
    }
    if (replaced)
        mc_ept_invept(e); /* the VMM's INVEPT after changing present mappings */
    return s;
}

mc_status mc_ept_map(struct mc_ept *e, uint64_t gpa, uint64_t pa, uint32_t keyid, uint64_t perms,
                     struct mc_error *err)
{
    return mc_ept_map_range(e, gpa, pa, PAGE, keyid, perms, err);
}

mc_status mc_ept_unmap(struct mc_ept *e, uint64_t gpa, struct mc_error *err)
{
    if (!e)
        return mc_seterr(err, MC_E_INVAL, "No EPT.");
    if (gpa % PAGE || gpa >> 48)
        return mc_seterr(err, MC_E_RANGE, "Guest-physical address 0x%llx is not a 4 KiB page below 2^48.",
                         (unsigned long long)gpa);
    struct mc_fault f;
    uint64_t table = e->pml4, ent = 0;
    for (int level = 4; level > 1; level--) {
        mc_status s = rd64(e, table + idx(gpa, level) * 8, &ent, &f, err);
        if (s != MC_OK)
            return s;
        if (!(ent & 7))
            return MC_OK; /* nothing mapped there */
        if (ent & MC_EPT_PS)
            return mc_seterr(err, MC_E_STATE, "0x%llx is inside a large EPT mapping.", (unsigned long long)gpa);
        table = ent & bits(maxphy(e) - 1, 12);
    }
    uint64_t old = 0;
    mc_status s = rd64(e, table + idx(gpa, 1) * 8, &old, &f, err);
    if (s == MC_OK)
        s = wr64(e, table + idx(gpa, 1) * 8, 0, &f, err);
    if (s == MC_OK && (old & 7))
        mc_ept_invept(e); /* the VMM's INVEPT after changing a present mapping */
    return s;
}

mc_status mc_ept_translate(struct mc_ept *e, uint64_t gpa, unsigned acc, uint64_t *hpa, struct mc_fault *fault,
                           struct mc_error *err)
{
    if (!e || !hpa)
        return mc_seterr(err, MC_E_INVAL, "mc_ept_translate needs an EPT and an output.");
    struct mc_xlat x;
    mc_status s = mc_nested_walk(mc_machine_memctl(e->m), MC_NEST_EPT, mc_ept_eptp(e), gpa, acc, false, &x, fault, err);
    if (s == MC_OK)
        *hpa = x.pa;
    return s;
}

mc_status mc_ept_read(struct mc_ept *e, uint64_t gpa, void *buf, size_t len, struct mc_fault *fault,
                      struct mc_error *err)
{
    if (!e || !buf)
        return mc_seterr(err, MC_E_INVAL, "EPT access needs an EPT and a buffer.");
    return mc_lcpu_phys_access(e->cpu[0], gpa, true, buf, NULL, len, fault, err);
}

mc_status mc_ept_write(struct mc_ept *e, uint64_t gpa, const void *buf, size_t len, struct mc_fault *fault,
                       struct mc_error *err)
{
    if (!e || !buf)
        return mc_seterr(err, MC_E_INVAL, "EPT access needs an EPT and a buffer.");
    return mc_lcpu_phys_access(e->cpu[0], gpa, true, NULL, buf, len, fault, err);
}

mc_status mc_ept_guest_translate(struct mc_ept *e, const struct mc_paging_regs *guest, uint64_t va, unsigned acc,
                                 uint64_t *gpa, struct mc_fault *fault, struct mc_error *err)
{
    if (!e || !guest || !gpa)
        return mc_seterr(err, MC_E_INVAL, "mc_ept_guest_translate needs an EPT, guest registers and an output.");
    mc_lcpu_set_regs(e->cpu[0], guest);
    struct mc_xlat x;
    mc_status s = mc_lcpu_guest_walk(e->cpu[0], va, acc, &x, fault, err);
    if (s == MC_OK)
        *gpa = x.gpa;
    return s;
}
