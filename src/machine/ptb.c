/* Page-table builder (see include/memcrypt/machine.h). */
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/machine.h>

uint64_t mc_machine_enc_bit(const struct mc_machine *m)
{
    struct mc_paging_mode pm = mc_machine_paging_mode(m);
    return pm.enc_bit >= 0 ? 1ull << pm.enc_bit : 0;
}

static mc_status new_table(struct mc_ptb *b, uint64_t *out, struct mc_error *err)
{
    if (b->next + 4096 > b->base + b->size)
        return mc_seterr(err, MC_E_FULL, "the page-table area at 0x%llx (%llu bytes) is full",
                         (unsigned long long)b->base, (unsigned long long)b->size);
    uint64_t t = b->next;
    static const uint8_t zero[4096];
    uint64_t c = b->enc ? mc_machine_enc_bit(b->m) : 0;
    mc_status st = mc_machine_phys_write(b->m, t | c, zero, sizeof zero, NULL, err);
    if (st)
        return st;
    b->next += 4096;
    *out = t;
    return MC_OK;
}

mc_status mc_ptb_init(struct mc_ptb *b, struct mc_machine *m, uint64_t base, uint64_t size, bool enc,
                      struct mc_error *err)
{
    if (!b || !m)
        return mc_seterr(err, MC_E_INVAL, "mc_ptb_init needs a builder and a machine");
    if ((base | size) & 4095 || size < 4096)
        return mc_seterr(err, MC_E_ALIGN, "the page-table area must be page aligned and at least one page");
    uint64_t dram = mc_dram_size(mc_machine_dram(m));
    if (base + size < base || base + size > dram)
        return mc_seterr(err, MC_E_RANGE, "the page-table area 0x%llx+%llu lies outside DRAM (%llu bytes)",
                         (unsigned long long)base, (unsigned long long)size, (unsigned long long)dram);
    if (enc && !mc_machine_enc_bit(m))
        return mc_seterr(err, MC_E_UNSUPPORTED, "encrypted page tables need SME or TSME on an AMD platform");
    /* Built aside, so a failure leaves *b as it was. */
    struct mc_ptb nb = {m, base, size, base, 0, enc};
    mc_status st = new_table(&nb, &nb.root, err);
    if (st)
        return st;
    *b = nb;
    return MC_OK;
}

uint64_t mc_ptb_cr3(const struct mc_ptb *b)
{
    return b ? b->root | (b->enc ? mc_machine_enc_bit(b->m) : 0) : 0;
}

static mc_status rd_entry(struct mc_ptb *b, uint64_t a, uint64_t *v, struct mc_error *err)
{
    uint8_t x[8];
    mc_status st = mc_machine_phys_read(b->m, a | (b->enc ? mc_machine_enc_bit(b->m) : 0), x, 8, NULL, err);
    if (!st)
        *v = mc_le64(x);
    return st;
}

static mc_status wr_entry(struct mc_ptb *b, uint64_t a, uint64_t v, struct mc_error *err)
{
    uint8_t x[8];
    mc_put_le64(x, v);
    return mc_machine_phys_write(b->m, a | (b->enc ? mc_machine_enc_bit(b->m) : 0), x, 8, NULL, err);
}

mc_status mc_ptb_map(struct mc_ptb *b, uint64_t va, uint64_t pa, uint64_t len, uint64_t page_size, uint64_t flags,
                     struct mc_error *err)
{
    if (!b || !b->m)
        return mc_seterr(err, MC_E_INVAL, "uninitialised page-table builder");
    int leaf_level = page_size == 4096 ? 1 : page_size == (2u << 20) ? 2 : page_size == (1u << 30) ? 3 : 0;
    if (!leaf_level)
        return mc_seterr(err, MC_E_INVAL, "page size %llu is not 4 KiB, 2 MiB or 1 GiB", (unsigned long long)page_size);
    uint64_t c = mc_machine_enc_bit(b->m);
    if ((va | (pa & ~c) | len) & (page_size - 1) || !len || va + len < va)
        return mc_seterr(err, MC_E_ALIGN, "va, pa and length must be multiples of the page size");
    if (flags & (MC_PTE_P | MC_PTE_PS))
        return mc_seterr(err, MC_E_INVAL, "flags must not contain P or PS (the builder sets them)");
    const uint64_t addr_mask = 0x000FFFFFFFFFF000ull & ~c;
    const unsigned leaf_shift = 12 + 9 * (leaf_level - 1);
    for (uint64_t off = 0; off < len;) {
        uint64_t v = va + off, table = b->root;
        for (int level = 4; level > leaf_level; level--) {
            uint64_t ea = table + ((v >> (12 + 9 * (level - 1))) & 511) * 8, e;
            mc_status st = rd_entry(b, ea, &e, err);
            if (st)
                return st;
            if (!(e & MC_PTE_P)) {
                uint64_t t = 0;
                st = new_table(b, &t, err);
                if (!st)
                    st = wr_entry(b, ea, t | MC_PTE_P | MC_PTE_W | MC_PTE_U | (b->enc ? c : 0), err);
                if (st)
                    return st;
                e = t;
            } else if (e & MC_PTE_PS) {
                return mc_seterr(err, MC_E_STATE, "va 0x%llx is already mapped by a large page",
                                 (unsigned long long)v);
            }
            table = e & addr_mask;
        }
        /* The leaf entries this table holds for the range: one write of the whole run. */
        unsigned idx = (unsigned)((v >> leaf_shift) & 511);
        uint64_t n = 512 - idx;
        if (n > (len - off) / page_size)
            n = (len - off) / page_size;
        uint8_t run[4096];
        for (uint64_t k = 0; k < n; k++)
            mc_put_le64(run + 8 * k, (pa + off + k * page_size) | flags | MC_PTE_P | (leaf_level > 1 ? MC_PTE_PS : 0));
        mc_status st = mc_machine_phys_write(b->m, (table + idx * 8ull) | (b->enc ? c : 0), run, (size_t)(8 * n), NULL,
                                             err);
        if (st)
            return st;
        off += n * page_size;
    }
    return MC_OK;
}
