/* Key-domain selection: table tests per mode (pure function of descriptor and platform). */
#include <memcrypt/mc.h>

#include "check.h"

#define CB47 (1ull << 47)

struct row {
    const char *what;
    uint64_t addr;
    enum memctl_acc_kind kind;
    enum memctl_requester req;
    uint32_t asid;
    bool guest_c;
    mc_status want_st;
    enum memctl_domain_kind dom;
    uint32_t id;
    uint64_t pa;
};

static void run_table(const struct memctl_platform *p, const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &rows[i];
        struct memctl_access a = {.addr = r->addr, .size = 8, .kind = r->kind, .req = r->req, .asid = r->asid,
                              .guest_c = r->guest_c};
        struct memctl_route out = {0};
        struct mc_fault f = {0};
        struct mc_error e;
        mc_status st = memctl_select_domain(p, &a, &out, &f, &e);
        CHECK_MSG(st == r->want_st, "%s: status %d want %d (%s)", r->what, st, r->want_st, e.msg);
        if (st == MC_OK && r->want_st == MC_OK) {
            CHECK_MSG(out.dom.kind == r->dom && out.dom.id == r->id, "%s: domain %d/%u want %d/%u", r->what,
                      out.dom.kind, out.dom.id, r->dom, r->id);
            CHECK_MSG(out.pa == r->pa, "%s: pa 0x%llx want 0x%llx", r->what, (unsigned long long)out.pa,
                      (unsigned long long)r->pa);
        }
        if (r->want_st == MC_E_FAULT)
            CHECK_MSG(f.kind == MC_FAULT_GP && f.vector == 13 && f.addr == r->addr, "%s: fault", r->what);
    }
}

/* Rome-like: MAXPHYADDR 48, C-bit 47, reduction 5 -> usable bits 42:0. */
static void test_sme_rows(void)
{
    struct memctl_platform p = {.mode = MEMCTL_MODE_SME, .phys_bits = 48, .cbit = 47, .reduction = 5};
    const struct row rows[] = {
        {"host C=0", 0x1000, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_PLAIN, 0, 0x1000},
        {"host C=1", CB47 | 0x1000, MEMCTL_ACC_WRITE, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_HOST, 0, 0x1000},
        {"host fetch C=1", CB47 | 0x2000, MEMCTL_ACC_FETCH, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_HOST, 0, 0x2000},
        {"host walk C=0", 0x3000, MEMCTL_ACC_WALK, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_PLAIN, 0, 0x3000},
        {"device C=1", CB47 | 0x40, MEMCTL_ACC_READ, MEMCTL_REQ_DEVICE, 0, false, MC_OK, MEMCTL_DOM_HOST, 0, 0x40},
        {"device C=0", 0x40, MEMCTL_ACC_READ, MEMCTL_REQ_DEVICE, 0, false, MC_OK, MEMCTL_DOM_PLAIN, 0, 0x40},
        /* Digest 2.2 table. */
        {"guest fetch, C=0", 0x5000, MEMCTL_ACC_FETCH, MEMCTL_REQ_GUEST, 7, false, MC_OK, MEMCTL_DOM_ASID, 7, 0x5000},
        {"guest walk, C=0", 0x5000, MEMCTL_ACC_WALK, MEMCTL_REQ_GUEST, 7, false, MC_OK, MEMCTL_DOM_ASID, 7, 0x5000},
        {"guest data C=1, NPT C=0", 0x5000, MEMCTL_ACC_READ, MEMCTL_REQ_GUEST, 7, true, MC_OK, MEMCTL_DOM_ASID, 7, 0x5000},
        {"guest data C=1, NPT C=1", CB47 | 0x5000, MEMCTL_ACC_WRITE, MEMCTL_REQ_GUEST, 7, true, MC_OK, MEMCTL_DOM_ASID, 7, 0x5000},
        {"guest data C=0, NPT C=0", 0x5000, MEMCTL_ACC_READ, MEMCTL_REQ_GUEST, 7, false, MC_OK, MEMCTL_DOM_PLAIN, 0, 0x5000},
        {"guest data C=0, NPT C=1", CB47 | 0x5000, MEMCTL_ACC_READ, MEMCTL_REQ_GUEST, 7, false, MC_OK, MEMCTL_DOM_HOST, 0, 0x5000},
        {"guest without ASID", 0x5000, MEMCTL_ACC_READ, MEMCTL_REQ_GUEST, 0, true, MC_E_INVAL, 0, 0, 0},
        {"PSP with ASID", 0x6000, MEMCTL_ACC_WRITE, MEMCTL_REQ_PSP, 3, false, MC_OK, MEMCTL_DOM_ASID, 3, 0x6000},
        {"PSP as host C=1", CB47 | 0x6000, MEMCTL_ACC_READ, MEMCTL_REQ_PSP, 0, false, MC_OK, MEMCTL_DOM_HOST, 0, 0x6000},
        {"top usable bit 42", (1ull << 42) | 0x40, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_PLAIN, 0,
         (1ull << 42) | 0x40},
        {"reduced bit 43", 1ull << 43, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_E_FAULT, 0, 0, 0},
        {"reduced bit 46 with C", CB47 | (1ull << 46), MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_E_FAULT, 0, 0, 0},
        {"bit 48", 1ull << 48, MEMCTL_ACC_READ, MEMCTL_REQ_DEVICE, 0, false, MC_E_FAULT, 0, 0, 0},
    };
    run_table(&p, rows, sizeof rows / sizeof rows[0]);
    /* An access that crosses out of the usable range faults too. */
    struct memctl_access a = {.addr = (1ull << 43) - 4, .size = 8, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
    struct memctl_route r;
    CHECK(memctl_select_domain(&p, &a, &r, NULL, NULL) == MC_E_FAULT);
}

static void test_off_rows(void)
{
    /* SYSCFG[23]=0: no encryption, no reduction; bit 47 is an address bit, SEV ignored. */
    struct memctl_platform p = {.mode = MEMCTL_MODE_OFF, .phys_bits = 48, .cbit = 47, .reduction = 5};
    const struct row rows[] = {
        {"off C=1 is an address bit", CB47 | 0x40, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_PLAIN, 0,
         CB47 | 0x40},
        {"off guest private", 0x40, MEMCTL_ACC_READ, MEMCTL_REQ_GUEST, 4, true, MC_OK, MEMCTL_DOM_PLAIN, 0, 0x40},
        {"off bit 48", 1ull << 48, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_E_FAULT, 0, 0, 0},
    };
    run_table(&p, rows, sizeof rows / sizeof rows[0]);
}

static void test_tsme_rows(void)
{
    struct memctl_platform p = {.mode = MEMCTL_MODE_TSME, .phys_bits = 48, .cbit = 47, .reduction = 5};
    const struct row rows[] = {
        {"tsme C=0", 0x1000, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_TSME, 0, 0x1000},
        {"tsme C=1 same domain", CB47 | 0x1000, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_TSME, 0, 0x1000},
        {"tsme device C=0", 0x1000, MEMCTL_ACC_READ, MEMCTL_REQ_DEVICE, 0, false, MC_OK, MEMCTL_DOM_TSME, 0, 0x1000},
        {"tsme guest private", 0x1000, MEMCTL_ACC_READ, MEMCTL_REQ_GUEST, 2, true, MC_OK, MEMCTL_DOM_TSME, 0, 0x1000},
        {"tsme reduced bit", 1ull << 44, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_E_FAULT, 0, 0, 0},
    };
    run_table(&p, rows, sizeof rows / sizeof rows[0]);
}

static void test_tme_rows(void)
{
    /* MAXPHYADDR 46, K = 6: KeyID = bits 45:40, memory bits 39:0. Exclusion 1 MiB at 16 MiB. */
    struct memctl_platform p = {.mode = MEMCTL_MODE_TME, .phys_bits = 46, .keyid_bits = 6, .excl_enable = true,
                            .excl_base = 0x1000000, .excl_mask = ((1ull << 46) - 1) & ~0xFFFFFull};
    const uint64_t k = 1ull << 40;
    const struct row rows[] = {
        {"keyid 0", 0x2000, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_KEYID, 0, 0x2000},
        {"keyid 1", k | 0x2000, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_KEYID, 1, 0x2000},
        {"keyid 63", 63 * k | 0x2000, MEMCTL_ACC_WRITE, MEMCTL_REQ_DEVICE, 0, false, MC_OK, MEMCTL_DOM_KEYID, 63, 0x2000},
        {"exclusion keyid 0", 0x1000040, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_PLAIN, 0, 0x1000040},
        {"exclusion end", 0x10FFFF0, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_PLAIN, 0, 0x10FFFF0},
        {"past exclusion", 0x1100000, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_KEYID, 0, 0x1100000},
        {"exclusion keyid 5", 5 * k | 0x1000040, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_KEYID, 5,
         0x1000040},
        {"bit 46", 1ull << 46, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_E_FAULT, 0, 0, 0},
    };
    run_table(&p, rows, sizeof rows / sizeof rows[0]);
    /* Crossing from memory bits into the KeyID field is refused. */
    struct memctl_access a = {.addr = k - 4, .size = 8, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
    struct memctl_route r;
    CHECK(memctl_select_domain(&p, &a, &r, NULL, NULL) == MC_E_FAULT);
    /* Bypass: KeyID 0 plaintext, other KeyIDs unaffected. */
    p.tme_bypass = true;
    const struct row rows2[] = {
        {"bypass keyid 0", 0x2000, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_PLAIN, 0, 0x2000},
        {"bypass keyid 2", 2 * k | 0x2000, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_KEYID, 2, 0x2000},
    };
    run_table(&p, rows2, 2);
    /* TME without MKTME (K = 0): every address is KeyID 0. */
    struct memctl_platform p0 = {.mode = MEMCTL_MODE_TME, .phys_bits = 46};
    const struct row rows3[] = {
        {"K=0 high bit is memory", 1ull << 45, MEMCTL_ACC_READ, MEMCTL_REQ_HOST, 0, false, MC_OK, MEMCTL_DOM_KEYID, 0, 1ull << 45},
    };
    run_table(&p0, rows3, 1);
}

static void test_bad_descriptors(void)
{
    struct memctl_platform p = {.mode = MEMCTL_MODE_SME, .phys_bits = 48, .cbit = 47, .reduction = 5};
    struct memctl_route r;
    struct mc_error e;
    struct memctl_access a = {.addr = 0, .size = 0, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_HOST};
    CHECK(memctl_select_domain(&p, &a, &r, NULL, &e) == MC_E_RANGE);
    a.size = 8;
    a.kind = (enum memctl_acc_kind)9;
    CHECK(memctl_select_domain(&p, &a, &r, NULL, &e) == MC_E_INVAL);
    a.kind = MEMCTL_ACC_READ;
    a.addr = UINT64_MAX - 2;
    CHECK(memctl_select_domain(&p, &a, &r, NULL, &e) == MC_E_FAULT);
    CHECK(memctl_select_domain(NULL, &a, &r, NULL, &e) == MC_E_INVAL);
    struct memctl_platform bad = p;
    bad.cbit = 40; /* inside the usable bits */
    a.addr = 0;
    CHECK(memctl_select_domain(&bad, &a, &r, NULL, &e) == MC_E_INVAL);
    bad = (struct memctl_platform){.mode = MEMCTL_MODE_TME, .phys_bits = 46, .keyid_bits = 4, .excl_enable = true,
                               .excl_base = 0, .excl_mask = 0x3000};
    CHECK(memctl_platform_check(&bad, &e) == MC_E_INVAL); /* not contiguous from the top */
    char nb[32];
    CHECK(!strcmp(memctl_domain_name((struct memctl_domain){MEMCTL_DOM_ASID, 9}, nb, sizeof nb), "asid 9"));
}

int main(void)
{
    RUN(test_sme_rows);
    RUN(test_off_rows);
    RUN(test_tsme_rows);
    RUN(test_tme_rows);
    RUN(test_bad_descriptors);
    return check_summary();
}
