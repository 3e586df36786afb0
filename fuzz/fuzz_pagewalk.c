/* Fuzz target: random page tables in random memory, random addresses and access kinds through
 * the walker (x86 tables with the TLB, and the same bytes as Intel EPT tables); random
 * descriptors through key-domain selection. Must never crash; successful translations must be
 * self-consistent, EPT faults must name the guest-physical address.
 * Input: [0] addr bits, [1] enc bit, [2] register flags, [3..10] CR3, then up to 64 KiB of
 * memory; the last 64 bytes (if any) are also read as 8 virtual addresses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/mc.h>
#include <memcrypt/paging.h>

#define FMEM 65536u

struct fmem {
    uint8_t m[FMEM];
    uint64_t enc;
    unsigned writes;
};

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static mc_status f_read(void *ctx, uint64_t addr, uint64_t *val, struct mc_fault *f, struct mc_error *err)
{
    (void)f;
    struct fmem *k = ctx;
    uint64_t a = addr & ~k->enc;
    if (a > FMEM - 8)
        return mc_seterr(err, MC_E_RANGE, "outside the fuzz memory");
    *val = rd64(k->m + a);
    return MC_OK;
}

static mc_status f_write(void *ctx, uint64_t addr, uint64_t val, struct mc_fault *f, struct mc_error *err)
{
    (void)f;
    struct fmem *k = ctx;
    uint64_t a = addr & ~k->enc;
    if (a > FMEM - 8)
        return mc_seterr(err, MC_E_RANGE, "outside the fuzz memory");
    for (int i = 0; i < 8; i++)
        k->m[a + (uint64_t)i] = (uint8_t)(val >> (8 * i));
    k->writes++;
    return MC_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 11)
        return 0;
    struct fmem *k = calloc(1, sizeof *k);
    struct mc_tlb *t = NULL;
    if (!k || mc_tlb_create(16, &t, NULL) != MC_OK) {
        free(k);
        return 0;
    }
    struct mc_paging_mode mode = {32 + data[0] % 21, (data[1] & 0x80) ? -1 : (int)(data[1] & 63)};
    /* An encryption bit inside the address bits is an invalid mode: the walker must refuse it. */
    k->enc = mode.enc_bit >= 0 ? 1ull << mode.enc_bit : 0;
    uint8_t fl = data[2];
    struct mc_paging_regs r = {1 | ((fl & 1) ? MC_CR0_PG : 0) | ((fl & 2) ? MC_CR0_WP : 0), rd64(data + 3),
                               ((fl & 4) ? MC_CR4_PAE : 0) | ((fl & 8) ? MC_CR4_SMEP : 0) | ((fl & 16) ? MC_CR4_PGE : 0),
                               ((fl & 32) ? MC_EFER_LME : 0) | ((fl & 64) ? MC_EFER_NXE : 0)};
    size_t mlen = size - 11 < FMEM ? size - 11 : FMEM;
    memcpy(k->m, data + 11, mlen);
    struct mc_pt_io io = {f_read, f_write, k};
    uint64_t vas[8];
    unsigned nva = 0;
    if (size >= 11 + 64)
        for (; nva < 8; nva++)
            vas[nva] = rd64(data + size - 64 + 8 * nva);
    else
        vas[nva++] = rd64(data + 3) ^ 0x40203000ull;
    for (unsigned i = 0; i < nva; i++) {
        for (unsigned acc = 0; acc < 8; acc++) {
            struct mc_xlat x;
            struct mc_fault f;
            struct mc_error e;
            mc_status st = mc_translate(t, (uint32_t)(i & 1), &mode, &io, &r, vas[i], acc, &x, &f, &e);
            if (st == MC_OK) {
                if (x.page_size != 4096 && x.page_size != (2u << 20) && x.page_size != (1u << 30))
                    abort();
                if ((x.pa & (x.page_size - 1)) != (vas[i] & (x.page_size - 1)))
                    abort();
            } else if (st == MC_E_FAULT && f.kind == MC_FAULT_PF && f.addr != vas[i]) {
                abort();
            }
        }
        if (i & 1)
            mc_tlb_invlpg(t, 1, vas[i]);
        /* The same memory as EPT tables (EPTP = CR3), the address as a GPA. */
        struct mc_paging_mode em = {mode.addr_bits, -1, MC_PT_EPT};
        for (unsigned acc = 0; acc < 3; acc++) {
            struct mc_xlat x;
            struct mc_fault f;
            mc_status st = mc_walk(&em, &io, &r, vas[i], acc == 1 ? MC_PG_WRITE : acc == 2 ? MC_PG_FETCH : 0, &x, &f, NULL);
            if (st == MC_OK && (x.pa & (x.page_size - 1)) != (vas[i] & (x.page_size - 1)))
                abort();
            if (st == MC_E_FAULT && (f.kind != MC_FAULT_NPF || f.addr != vas[i]))
                abort();
        }
    }
    mc_tlb_flush_nonglobal(t, 0, true);
    /* Key-domain selection over the same bytes. */
    struct memctl_platform p = {(enum memctl_mode)(data[0] & 3), 32 + data[1] % 21, 32 + data[2] % 32, data[3] % 8,
                            data[4] % 16, data[5] & 1, data[6] & 1, rd64(data + 3) & ~0xFFFull,
                            (rd64(data + 3) << 7) & ~0xFFFull, data[7] & 1};
    for (unsigned i = 0; i < nva; i++) {
        struct memctl_access a = {vas[i], 1 + (vas[i] >> 50), (enum memctl_acc_kind)(i & 3), (enum memctl_requester)((i >> 2) & 3),
                              (uint32_t)(vas[i] & 7), (vas[i] >> 3) & 1, 0};
        struct memctl_route out;
        struct mc_fault f;
        if (memctl_select_domain(&p, &a, &out, &f, NULL) == MC_OK && (out.pa >> memctl_platform_addr_bits(&p)))
            abort();
    }
    mc_tlb_destroy(t);
    free(k);
    return 0;
}
