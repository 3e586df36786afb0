/* Benchmark of the platform core: loads/stores through walker + TLB + cache + engine.
 *   bench_core [--size MiB] [--loads N] [--platform P] [--json]
 * Measures, in one run: the engine's raw page throughput (encrypt and decrypt of 4 KiB runs),
 * a sequential copy through virtual addresses of encrypted pages (bulk path: page-granular
 * TLB hits and whole-line engine runs), the same copy through the ordinary cached path,
 * random 8-byte loads, and plain memcpy. Then an SEV guest (Milan, launched through the
 * firmware by the hypervisor model) on its own machine: random 8-byte guest stores inside a
 * 2 MiB window (every page's translation cached after a warm-up pass) with the memory
 * controller's line accesses per store, random 8-byte guest loads on TLB hits (the same 2 MiB
 * window, where the controller's cache mostly misses, and a 128 KiB window it holds), and a
 * copy of 16 MiB in 4 KiB guest pages through the full path (TLB, guest page walk, nested page walk, controller with the guest's ASID key), once
 * as one guest REP MOVS (mc_guest_copy, non-temporal: `guest_copy_over_engine_roundtrip`) and
 * once as 4 KiB guest loads and stores through the cache. Times are the thread's CPU time
 * (the host is shared with other work, so wall-clock time would measure the neighbours). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/board.h>
#include <memcrypt/ept.h>
#include <memcrypt/guest.h>
#include <memcrypt/tme.h>
#include <memcrypt/json.h>

#include "bench_target.h"
#include <memcrypt/machine.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/vm.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the host is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t xs(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define SRC_VA 0x10000000ull
#define DST_VA 0x20000000ull
#define SRC2_VA 0x4000000000ull /* the same frames through 2 MiB pages */
#define DST2_VA 0x8000000000ull

static int die(const char *what, const struct mc_error *e)
{
    fprintf(stderr, "bench_core: %s: %s\n", what, e->msg);
    return 1;
}

/* ---- the SEV guest ---------------------------------------------------------------------- */

#define G_SIZE (16ull << 20)      /* source and destination of the guest copy, each */
#define G_SRC_VA 0x40000000ull
#define G_DST_VA 0x80000000ull
#define G_WINDOW (2ull << 20)     /* random stores stay inside this many bytes of the source */
#define G_HOT (128ull << 10)      /* a window the controller's cache holds */

struct guest_res {
    double store_mops;            /* random 8-byte stores, translations cached */
    double load_mops;             /* random 8-byte loads, translations cached */
    double load_tlb_hit;          /* TLB hit rate of those loads */
    double load_cached_mops;      /* random 8-byte loads inside G_HOT: TLB and cache hits */
    double lines_per_store;       /* controller line accesses per such store */
    double copy_ls_mbs;           /* 4 KiB guest load + 4 KiB guest store per page */
    double copy_mbs;              /* mc_guest_copy (REP MOVS-like, non-temporal), best pass */
    double rt_mbs;                /* the engine's encrypt+decrypt round trip, best pass */
    unsigned passes;
};

#define G_PASSES 5

/* One pass of the engine's own round trip over the guest copy's size, in 4 KiB runs. */
static double engine_rt_pass(struct mc_engine *eng, mc_slot s, uint8_t *buf)
{
    double t0 = now();
    for (uint64_t o = 0; o < G_SIZE; o += 4096)
        mc_engine_decrypt(eng, s, o, buf + o, buf + o, 4096, NULL);
    for (uint64_t o = 0; o < G_SIZE; o += 4096)
        mc_engine_encrypt(eng, s, o, buf + o, buf + o, 4096, NULL);
    return (double)G_SIZE / 1e6 / (now() - t0);
}

static int bench_guest(const uint8_t *pattern, uint64_t nstores, const char *dram_file, struct guest_res *res)
{
    const uint64_t mem = 2 * G_SIZE + (4ull << 20), pool = 2ull << 20, pool_size = mem + (8ull << 20);
    struct mc_board *b = NULL;
    struct mc_machine *m = NULL;
    struct mc_vm *vm = NULL;
    struct mc_error e = {0};
    struct mc_fault f;
    int rc = 1;
    uint8_t page[4096];
    e.msg[0] = 0;
    struct mc_board_config cfg;
    if (mc_board_config_init(&cfg, "milan", &e))
        goto out;
    cfg.machine.dram_size = pool + pool_size;
    cfg.machine.seed = (const uint8_t *)"bench-guest";
    cfg.machine.seed_len = 11;
    cfg.machine.dram_file = dram_file;
    cfg.fw.root_bits = 2048;
    cfg.pool_base = pool;
    cfg.pool_size = pool_size;
    if (mc_board_create(&cfg, &b, &e))
        goto out;
    m = mc_board_machine(b);
    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    struct mc_vm_config vc = {.vcpus = 1, .mem_size = mem, .policy = 1};
    if (mc_board_fw(b, MC_SEV_CMD_INIT, init, sizeof init, NULL, &e) ||
        mc_vm_create(mc_board_vmm(b), &vc, &vm, NULL, &e) ||
        mc_guest_paging_init(vm, 2 * G_SIZE, 4ull << 20, &e) ||
        mc_guest_map(vm, G_SRC_VA, 0, G_SIZE, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &e) ||
        mc_guest_map(vm, G_DST_VA, G_SIZE, G_SIZE, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &e))
        goto out;
    struct mc_vcpu *v = mc_vm_vcpu(vm, 0);
    /* The guest writes both regions once (untimed): DRAM frames exist, A/D bits are set. */
    for (uint64_t o = 0; o < G_SIZE; o += 4096)
        if (mc_guest_store(v, G_SRC_VA + o, pattern + o, 4096, false, &f, &e) ||
            mc_guest_store(v, G_DST_VA + o, pattern + o, 4096, false, &f, &e))
            goto out;

    /* Random 8-byte stores inside the window, after a pass that touches each of its pages. */
    uint64_t seed = 0x243F6A8885A308D3ull;
    for (uint64_t o = 0; o < G_WINDOW; o += 4096)
        if (mc_guest_store(v, G_SRC_VA + o, &seed, 8, false, &f, &e))
            goto out;
    struct memctl_cache_stats c0, c1;
    memctl_cache_get_stats(mc_machine_memctl(m), &c0);
    double t0 = now();
    for (uint64_t i = 0; i < nstores; i++) {
        uint64_t off = (xs(&seed) % G_WINDOW) & ~7ull;
        if (mc_guest_store(v, G_SRC_VA + off, &i, 8, false, &f, &e))
            goto out;
    }
    double t = now() - t0;
    memctl_cache_get_stats(mc_machine_memctl(m), &c1);
    res->store_mops = (double)nstores / 1e6 / t;
    res->lines_per_store = (double)(c1.line_accesses - c0.line_accesses) / (double)nstores;

    /* Random 8-byte loads inside the same window: every translation is in the TLB. */
    struct mc_tlb_stats tl0, tl1;
    mc_tlb_get_stats(mc_lcpu_tlb(mc_vcpu_cpu(v)), &tl0);
    uint64_t acc = 0;
    t0 = now();
    for (uint64_t i = 0; i < nstores; i++) {
        uint64_t off = (xs(&seed) % G_WINDOW) & ~7ull, x;
        if (mc_guest_load(v, G_SRC_VA + off, &x, 8, false, &f, &e))
            goto out;
        acc += x;
    }
    t = now() - t0;
    mc_tlb_get_stats(mc_lcpu_tlb(mc_vcpu_cpu(v)), &tl1);
    res->load_mops = (double)nstores / 1e6 / t;
    res->load_tlb_hit = (double)(tl1.hits - tl0.hits) / (double)((tl1.hits - tl0.hits) + (tl1.misses - tl0.misses));
    /* The same inside a window the cache holds (after one pass over it): the hit path alone. */
    for (uint64_t o = 0; o < G_HOT; o += 8) {
        uint64_t x;
        if (mc_guest_load(v, G_SRC_VA + o, &x, 8, false, &f, &e))
            goto out;
    }
    t0 = now();
    for (uint64_t i = 0; i < nstores; i++) {
        uint64_t off = (xs(&seed) % G_HOT) & ~7ull, x;
        if (mc_guest_load(v, G_SRC_VA + off, &x, 8, false, &f, &e))
            goto out;
        acc += x;
    }
    res->load_cached_mops = (double)nstores / 1e6 / (now() - t0);
    if (acc == 0x5A5A5A5A5A5A5A5Aull) /* keep the loads */
        fprintf(stderr, "bench_core: improbable checksum\n");

    /* Copy 4 KiB pages: guest load + guest store. */
    t0 = now();
    for (uint64_t o = 0; o < G_SIZE; o += 4096)
        if (mc_guest_load(v, G_SRC_VA + o, page, 4096, false, &f, &e) ||
            mc_guest_store(v, G_DST_VA + o, page, 4096, false, &f, &e))
            goto out;
    mc_machine_wbinvd(m, NULL);
    res->copy_ls_mbs = (double)G_SIZE / 1e6 / (now() - t0);
    if (mc_guest_load(v, G_DST_VA + G_SIZE - 4096, page, 4096, false, &f, &e))
        goto out;
    if (memcmp(page, pattern + G_SIZE - 4096, 4096)) {
        fprintf(stderr, "bench_core: guest copy result differs\n");
        e.msg[0] = 0;
        goto out;
    }
    /* The same copy as one guest REP MOVS (non-temporal: whole pages through the engine),
     * alternated with the engine's own round trip over the same size in the same process; the
     * best pass of each counts (the host is shared: other work only ever slows a pass down). */
    mc_slot es;
    uint8_t *ebuf = malloc(G_SIZE);
    if (!ebuf || mc_engine_slot_generate(mc_machine_engine(m), MC_CIPHER_AES128_XTS, &es, &e)) {
        free(ebuf);
        goto out;
    }
    memcpy(ebuf, pattern, G_SIZE);
    engine_rt_pass(mc_machine_engine(m), es, ebuf); /* warm-up */
    for (unsigned p = 0; p < G_PASSES; p++) {
        double rt = engine_rt_pass(mc_machine_engine(m), es, ebuf);
        t0 = now();
        if (mc_guest_copy(v, G_DST_VA, G_SRC_VA, G_SIZE, &f, &e)) {
            free(ebuf);
            goto out;
        }
        double mbs = (double)G_SIZE / 1e6 / (now() - t0);
        if (rt > res->rt_mbs)
            res->rt_mbs = rt;
        if (mbs > res->copy_mbs)
            res->copy_mbs = mbs;
    }
    res->passes = G_PASSES;
    free(ebuf);
    if (mc_guest_load(v, G_DST_VA + G_SIZE / 2, page, 4096, false, &f, &e))
        goto out;
    if (memcmp(page, pattern + G_SIZE / 2, 4096)) {
        fprintf(stderr, "bench_core: guest copy result differs\n");
        e.msg[0] = 0;
        goto out;
    }
    rc = 0;
out:
    if (rc && e.msg[0])
        fprintf(stderr, "bench_core: guest: %s\n", e.msg);
    mc_vm_destroy(vm);
    mc_board_destroy(b);
    return rc;
}


/* ---- page tables written by the hypervisor and the guest kernel ------------------------------ */

#define T_GUEST_MAP (64ull << 20) /* guest page tables: 16,384 4 KiB PTEs */
#define T_EPT_MAP (16ull << 20)   /* EPT: 4,096 4 KiB leaves, once per page, once as one range */
#define T_NPT_GUEST (1ull << 40)  /* a 1 TiB SEV guest's nested page tables */

struct table_res {
    double guest_map_s, guest_map_req_per_page;          /* mc_guest_map of T_GUEST_MAP */
    double ept_page_s, ept_page_req_per_page;            /* mc_ept_map per 4 KiB page */
    double ept_range_s, ept_range_req_per_page;          /* mc_ept_map_range of the same */
    double npt_create_s;                                  /* mc_vm_create of a 1 TiB guest */
    uint64_t npt_create_req;                              /* its controller requests */
};

static uint64_t requests(struct memctl *mc)
{
    struct memctl_cache_stats cs;
    memctl_cache_get_stats(mc, &cs);
    return cs.accesses;
}

static int sev_board(uint64_t dram, struct mc_board **b, struct mc_error *e)
{
    struct mc_board_config cfg;
    if (mc_board_config_init(&cfg, "milan", e))
        return 1;
    cfg.machine.dram_size = dram;
    cfg.machine.seed = (const uint8_t *)"bench-tables";
    cfg.machine.seed_len = 12;
    cfg.fw.root_bits = 2048;
    cfg.rmp_size = 0;
    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    return mc_board_create(&cfg, b, e) || mc_board_fw(*b, MC_SEV_CMD_INIT, init, sizeof init, NULL, e);
}

static int bench_tables(struct table_res *r)
{
    struct mc_error e = {0};
    struct mc_board *b = NULL;
    struct mc_vm *vm = NULL;
    int rc = 1;
    /* 1. The guest kernel maps 64 MiB of its RAM in 4 KiB pages (mc_guest_map). */
    const uint64_t gmem = T_GUEST_MAP + (4ull << 20);
    struct mc_vm_config vc = {.vcpus = 1, .mem_size = gmem, .policy = 1};
    if (sev_board(MC_BOARD_POOL_BASE + gmem + (8ull << 20), &b, &e) ||
        mc_vm_create(mc_board_vmm(b), &vc, &vm, NULL, &e) || mc_guest_paging_init(vm, T_GUEST_MAP, 4ull << 20, &e))
        goto out;
    struct memctl *mc = mc_machine_memctl(mc_board_machine(b));
    uint64_t q0 = requests(mc);
    double t0 = now();
    if (mc_guest_map(vm, 0x40000000ull, 0, T_GUEST_MAP, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &e))
        goto out;
    r->guest_map_s = now() - t0;
    r->guest_map_req_per_page = (double)(requests(mc) - q0) / (double)(T_GUEST_MAP >> 12);
    mc_vm_destroy(vm);
    vm = NULL;
    mc_board_destroy(b);
    b = NULL;
    /* 2. The nested page tables of a 1 TiB guest (mc_vm_create: NPT, LAUNCH_START, ACTIVATE). */
    vc.mem_size = T_NPT_GUEST;
    if (sev_board(MC_BOARD_POOL_BASE + T_NPT_GUEST + (64ull << 20), &b, &e))
        goto out;
    mc = mc_machine_memctl(mc_board_machine(b));
    q0 = requests(mc);
    t0 = now();
    if (mc_vm_create(mc_board_vmm(b), &vc, &vm, NULL, &e))
        goto out;
    r->npt_create_s = now() - t0;
    r->npt_create_req = requests(mc) - q0;
    mc_vm_destroy(vm);
    vm = NULL;
    mc_board_destroy(b);
    b = NULL;
    /* 3. EPT (Intel, KeyID 0): 16 MiB mapped once page by page, once as one range, each into its
     *    own empty EPT. */
    struct mc_board_config cfg;
    if (mc_board_config_init(&cfg, "icelake-sp", &e))
        goto out;
    cfg.machine.dram_size = 64ull << 20;
    cfg.machine.seed = (const uint8_t *)"bench-ept";
    cfg.machine.seed_len = 9;
    if (mc_board_create(&cfg, &b, &e))
        goto out;
    struct mc_machine *m = mc_board_machine(b);
    mc = mc_machine_memctl(m);
    struct mc_ept *e1 = NULL, *e2 = NULL;
    const uint64_t rwx = MC_EPT_R | MC_EPT_W | MC_EPT_X;
    if (mc_ept_create(m, mc_board_tme(b), 0x100000, 64, &e1, &e) ||
        mc_ept_create(m, mc_board_tme(b), 0x200000, 64, &e2, &e)) {
        mc_ept_destroy(e1);
        goto out;
    }
    q0 = requests(mc);
    t0 = now();
    int bad = 0;
    for (uint64_t g = 0; g < T_EPT_MAP && !bad; g += 4096)
        bad = mc_ept_map(e1, g, (16ull << 20) + g, 0, rwx, &e) != MC_OK;
    r->ept_page_s = now() - t0;
    r->ept_page_req_per_page = (double)(requests(mc) - q0) / (double)(T_EPT_MAP >> 12);
    q0 = requests(mc);
    t0 = now();
    bad = bad || mc_ept_map_range(e2, 0, 16ull << 20, T_EPT_MAP, 0, rwx, &e) != MC_OK;
    r->ept_range_s = now() - t0;
    r->ept_range_req_per_page = (double)(requests(mc) - q0) / (double)(T_EPT_MAP >> 12);
    /* Both EPTs translate every page alike. */
    for (uint64_t g = 0; g < T_EPT_MAP && !bad; g += 4096) {
        uint64_t h1 = 0, h2 = 1;
        struct mc_fault f;
        bad = mc_ept_translate(e1, g, 0, &h1, &f, &e) || mc_ept_translate(e2, g, 0, &h2, &f, &e) || h1 != h2;
    }
    mc_ept_destroy(e1);
    mc_ept_destroy(e2);
    if (bad) {
        if (!e.msg[0])
            snprintf(e.msg, sizeof e.msg, "the EPT mapped by range differs from the one mapped page by page");
        goto out;
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "bench_core: page tables: %s\n", e.msg);
    mc_vm_destroy(vm);
    mc_board_destroy(b);
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t mib = 64, loads = 1000000;
    const char *plat = "milan";
    int json = 0;
    static const struct option lo[] = {{"size", required_argument, NULL, 's'},
                                       {"loads", required_argument, NULL, 'n'},
                                       {"platform", required_argument, NULL, 'p'},
                                       {"json", no_argument, NULL, 'j'},
                                       {0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 's') mib = strtoull(optarg, NULL, 10);
        else if (c == 'n') loads = strtoull(optarg, NULL, 10);
        else if (c == 'p') plat = optarg;
        else if (c == 'j') json = 1;
        else {
            fprintf(stderr, "usage: bench_core [--size MiB] [--loads N] [--platform P] [--json]\n");
            return 2;
        }
    }
    if (mib < 1 || mib > 1024) {
        fprintf(stderr, "bench_core: --size must be 1..1024 MiB\n");
        return 2;
    }
    const uint64_t size = mib << 20;
    const uint64_t src_pa = 0x1000000, dst_pa = src_pa + size, pt_pa = 0x100000;
    struct mc_machine_config cfg;
    mc_machine_config_init(&cfg);
    cfg.platform = plat;
    cfg.dram_size = dst_pa + size;
    cfg.seed = (const uint8_t *)"bench";
    cfg.seed_len = 5;
    struct mc_machine *m;
    struct mc_error e;
    if (mc_machine_create(&cfg, &m, &e))
        return die("machine", &e);
    const uint64_t cb = mc_machine_enc_bit(m);
    struct mc_ptb b;
    if (mc_ptb_init(&b, m, pt_pa, 0xF00000 - pt_pa, cb != 0, &e) ||
        mc_ptb_map(&b, SRC_VA, src_pa | cb, size, 4096, MC_PTE_W, &e) ||
        mc_ptb_map(&b, DST_VA, dst_pa | cb, size, 4096, MC_PTE_W, &e) ||
        (size % (2u << 20) == 0 && (mc_ptb_map(&b, SRC2_VA, src_pa | cb, size, 2u << 20, MC_PTE_W, &e) ||
                                    mc_ptb_map(&b, DST2_VA, dst_pa | cb, size, 2u << 20, MC_PTE_W, &e))) ||
        mc_machine_set_reg(m, MC_CREG_EFER, MC_EFER_LME | MC_EFER_NXE, NULL, &e) ||
        mc_machine_set_reg(m, MC_CREG_CR4, MC_CR4_PAE, NULL, &e) ||
        mc_machine_set_reg(m, MC_CREG_CR3, mc_ptb_cr3(&b), NULL, &e) ||
        mc_machine_set_reg(m, MC_CREG_CR0, 1 | MC_CR0_PG | MC_CR0_WP, NULL, &e))
        return die("paging", &e);
    uint8_t *buf = malloc(size), *buf2 = malloc(size);
    if (!buf || !buf2) {
        fprintf(stderr, "bench_core: out of memory\n");
        return 1;
    }
    memset(buf2, 0x5A, size); /* touch every host page before timing */
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (uint64_t i = 0; i < size; i += 8) {
        uint64_t v = xs(&seed);
        memcpy(buf + i, &v, 8);
    }
    /* Fill the source (streamed through the engine, not timed). */
    struct memctl_access fa = {.addr = src_pa | cb, .size = size, .kind = MEMCTL_ACC_WRITE, .req = MEMCTL_REQ_HOST,
                           .flags = MEMCTL_ACC_F_STREAM};
    if (memctl_write(mc_machine_memctl(m), &fa, buf, NULL, &e))
        return die("fill", &e);
    /* Touch the destination frames too: emulated DRAM is sparse and host pages are allocated on
     * first write; real DRAM has no such cost. */
    fa.addr = dst_pa | cb;
    if (memctl_write(mc_machine_memctl(m), &fa, buf2, NULL, &e))
        return die("fill", &e);

    /* 1. Engine raw page throughput (same slot kind as the host key). */
    struct mc_engine *eng = mc_machine_engine(m);
    mc_slot s;
    if (mc_engine_slot_generate(eng, MC_CIPHER_AES128_XTS, &s, &e))
        return die("slot", &e);
    for (uint64_t o = 0; o < size; o += 4096) /* warm-up pass */
        mc_engine_encrypt(eng, s, o, buf2 + o, buf2 + o, 4096, NULL);
    double t0 = now();
    for (uint64_t o = 0; o < size; o += 4096)
        mc_engine_encrypt(eng, s, o, buf2 + o, buf2 + o, 4096, NULL);
    double t_enc = now() - t0;
    t0 = now();
    for (uint64_t o = 0; o < size; o += 4096)
        mc_engine_decrypt(eng, s, o, buf2 + o, buf2 + o, 4096, NULL);
    double t_dec = now() - t0;

    /* 2. Copy through the walker, bulk path. */
    struct mc_fault f;
    t0 = now();
    if (mc_machine_copy(m, DST_VA, SRC_VA, size, &f, &e))
        return die("copy", &e);
    double t_copy = now() - t0;
    /* Same copy through 2 MiB pages (one walk per 2 MiB instead of one per 4 KiB). */
    double t_copy2 = 0;
    if (size % (2u << 20) == 0) {
        t0 = now();
        if (mc_machine_copy(m, DST2_VA, SRC2_VA, size, &f, &e))
            return die("copy 2M", &e);
        t_copy2 = now() - t0;
    }
    /* Check a sample of the result (through the cached path). */
    uint8_t chk[4096];
    if (mc_machine_load(m, DST_VA + size / 2, chk, sizeof chk, false, &f, &e) || memcmp(chk, buf + size / 2, 4096)) {
        fprintf(stderr, "bench_core: copy result differs\n");
        return 1;
    }

    /* 3. Copy through the cached path (4 KiB loads and stores), over at most 16 MiB. */
    uint64_t csize = size < (16u << 20) ? size : (16u << 20);
    t0 = now();
    for (uint64_t o = 0; o < csize; o += 4096) {
        if (mc_machine_load(m, SRC_VA + o, chk, 4096, false, &f, &e) ||
            mc_machine_store(m, DST_VA + o, chk, 4096, false, &f, &e))
            return die("cached copy", &e);
    }
    mc_machine_wbinvd(m, NULL);
    double t_cached = now() - t0;

    /* 4. Random 8-byte loads. */
    uint64_t acc = 0;
    t0 = now();
    for (uint64_t i = 0; i < loads; i++) {
        uint64_t off = (xs(&seed) % size) & ~7ull, v;
        if (mc_machine_load(m, SRC_VA + off, &v, 8, false, &f, &e))
            return die("load", &e);
        acc ^= v;
    }
    double t_loads = now() - t0;
    struct mc_tlb_stats ts;
    mc_tlb_get_stats(mc_machine_tlb(m), &ts);
    struct memctl_cache_stats cs;
    memctl_cache_get_stats(mc_machine_memctl(m), &cs);

    /* 5. The SEV guest. */
    struct guest_res g = {0};
    if (size < G_SIZE) {
        fprintf(stderr, "bench_core: the guest part needs --size >= %llu\n", (unsigned long long)(G_SIZE >> 20));
        return 2;
    }
    if (bench_guest(buf, loads, NULL, &g))
        return 1;
    /* The same guest with DRAM in one mapped file (contiguous frames instead of one heap
     * allocation per 4 KiB frame): separates the access path's cost from the DRAM model's. */
    struct guest_res gf = {0};
    char dpath[] = "/tmp/bench_core_dram_XXXXXX";
    int dfd = mkstemp(dpath);
    if (dfd < 0) {
        perror("bench_core: mkstemp");
        return 1;
    }
    close(dfd);
    int grc = bench_guest(buf, loads, dpath, &gf);
    unlink(dpath);
    if (grc)
        return 1;

    /* 6. Page tables. */
    struct table_res tr = {0};
    if (bench_tables(&tr))
        return 1;

    /* 7. Plain memcpy. */
    t0 = now();
    memcpy(buf2, buf, size);
    double t_memcpy = now() - t0;
    acc ^= buf2[size - 1];

    const double mb = (double)size / 1e6;
    double enc_mbs = mb / t_enc, dec_mbs = mb / t_dec, copy_mbs = mb / t_copy;
    double copy2_mbs = t_copy2 > 0 ? mb / t_copy2 : 0;
    double cached_mbs = (double)csize / 1e6 / t_cached, memcpy_mbs = mb / t_memcpy;
    double mloads = (double)loads / 1e6 / t_loads;
    /* A copy needs one decrypt and one encrypt per byte: the engine's round-trip rate. */
    double rt_mbs = 1.0 / (1.0 / enc_mbs + 1.0 / dec_mbs);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "platform", plat);
        mc_json_str(&j, "engine_impl", mc_engine_impl_name(mc_engine_get_impl(eng)));
        mc_json_u64(&j, "bytes", size);
        mc_json_double(&j, "engine_encrypt_MBps", enc_mbs);
        mc_json_double(&j, "engine_decrypt_MBps", dec_mbs);
        mc_json_double(&j, "engine_roundtrip_MBps", rt_mbs);
        mc_json_double(&j, "walker_copy_bulk_MBps", copy_mbs);
        mc_json_double(&j, "walker_copy_bulk_2M_MBps", copy2_mbs);
        mc_json_double(&j, "walker_copy_cached_MBps", cached_mbs);
        mc_json_double(&j, "random_load8_Mops", mloads);
        mc_json_double(&j, "memcpy_MBps", memcpy_mbs);
        mc_json_double(&j, "copy_over_engine_encrypt", copy_mbs / enc_mbs);
        mc_json_double(&j, "copy_over_engine_roundtrip", copy_mbs / rt_mbs);
        mc_json_double(&j, "copy_2M_over_engine_roundtrip", copy2_mbs / rt_mbs);
        mc_json_double(&j, "guest_random_store8_Mops", g.store_mops);
        mc_json_double(&j, "guest_store8_controller_lines", g.lines_per_store);
        mc_json_double(&j, "guest_random_load8_tlb_hit_Mops", g.load_mops);
        mc_json_double(&j, "guest_random_load8_tlb_hit_rate", g.load_tlb_hit);
        mc_json_double(&j, "guest_random_load8_tlb_and_cache_hit_Mops", g.load_cached_mops);
        mc_json_double(&j, "guest_copy_load_store_MBps", g.copy_ls_mbs);
        mc_json_double(&j, "guest_copy_MBps", g.copy_mbs);
        mc_json_double(&j, "guest_engine_roundtrip_MBps", g.rt_mbs);
        mc_json_double(&j, "guest_copy_over_engine_roundtrip", g.copy_mbs / g.rt_mbs);
        mc_json_double(&j, "guest_copy_load_store_over_engine_roundtrip", g.copy_ls_mbs / rt_mbs);
        mc_json_double(&j, "guest_copy_over_engine_roundtrip_file_dram", gf.copy_mbs / gf.rt_mbs);
        mc_json_double(&j, "guest_map_64MiB_ms", tr.guest_map_s * 1e3);
        mc_json_double(&j, "guest_map_controller_requests_per_page", tr.guest_map_req_per_page);
        mc_json_double(&j, "npt_1TiB_guest_create_ms", tr.npt_create_s * 1e3);
        mc_json_u64(&j, "npt_1TiB_guest_create_controller_requests", tr.npt_create_req);
        mc_json_double(&j, "ept_map_per_page_16MiB_ms", tr.ept_page_s * 1e3);
        mc_json_double(&j, "ept_map_per_page_controller_requests_per_page", tr.ept_page_req_per_page);
        mc_json_double(&j, "ept_map_range_16MiB_ms", tr.ept_range_s * 1e3);
        mc_json_double(&j, "ept_map_range_controller_requests_per_page", tr.ept_range_req_per_page);
        mc_json_u64(&j, "tlb_hits", ts.hits);
        mc_json_u64(&j, "tlb_misses", ts.misses);
        mc_json_u64(&j, "cache_hits", cs.hits);
        mc_json_u64(&j, "cache_misses", cs.misses);
        mc_json_hex64(&j, "checksum", acc);
        mc_json_finish(&j);
    } else {
        printf("platform %s, engine %s, %llu MiB\n", plat, mc_engine_impl_name(mc_engine_get_impl(eng)),
               (unsigned long long)mib);
        printf("engine encrypt (4 KiB runs)      %9.1f MB/s\n", enc_mbs);
        printf("engine decrypt (4 KiB runs)      %9.1f MB/s\n", dec_mbs);
        printf("engine round trip (dec+enc)      %9.1f MB/s\n", rt_mbs);
        printf("copy via walker, bulk path       %9.1f MB/s  (%.2fx engine encrypt, %.2fx round trip)\n", copy_mbs,
               copy_mbs / enc_mbs, copy_mbs / rt_mbs);
        printf("copy via walker, bulk, 2 MiB pg  %9.1f MB/s  (%.2fx engine encrypt, %.2fx round trip)\n", copy2_mbs,
               copy2_mbs / enc_mbs, copy2_mbs / rt_mbs);
        printf("copy via walker, cached path     %9.1f MB/s\n", cached_mbs);
        printf("random 8-byte loads              %9.2f M/s\n", mloads);
        printf("SEV guest: random 8-byte stores  %9.2f M/s  (%.2f controller line accesses per store)\n",
               g.store_mops, g.lines_per_store);
        printf("SEV guest: random 8-byte loads   %9.2f M/s  (2 MiB window: TLB hit rate %.3f, cache mostly misses; "
               "target >= 5 M/s)\n", g.load_mops, g.load_tlb_hit);
        printf("  same, 128 KiB window (cached)  %9.2f M/s  (TLB and cache hits)\n", g.load_cached_mops);
        printf("SEV guest: copy, 4K load+store   %9.1f MB/s  (%.2fx round trip)\n", g.copy_ls_mbs, g.copy_ls_mbs / rt_mbs);
        printf("SEV guest: copy, REP MOVS bulk   %9.1f MB/s  (%.2fx the engine round trip of %.1f MB/s, best of %u "
               "alternated passes)\n", g.copy_mbs, g.copy_mbs / g.rt_mbs, g.rt_mbs, g.passes);
        printf("  same, DRAM in one mapped file  %9.1f MB/s  (%.2fx the engine round trip of %.1f MB/s)\n", gf.copy_mbs,
               gf.copy_mbs / gf.rt_mbs, gf.rt_mbs);
        printf("guest page tables: map 64 MiB    %9.2f ms  (%.3f controller requests per 4 KiB page)\n",
               tr.guest_map_s * 1e3, tr.guest_map_req_per_page);
        printf("NPT: create a 1 TiB SEV guest    %9.2f ms  (%llu controller requests: tables, LAUNCH_START, ACTIVATE)\n",
               tr.npt_create_s * 1e3, (unsigned long long)tr.npt_create_req);
        printf("EPT: map 16 MiB page by page     %9.2f ms  (%.3f controller requests per page)\n", tr.ept_page_s * 1e3,
               tr.ept_page_req_per_page);
        printf("EPT: map 16 MiB as one range     %9.2f ms  (%.3f controller requests per page; %.1fx faster)\n",
               tr.ept_range_s * 1e3, tr.ept_range_req_per_page, tr.ept_page_s / tr.ept_range_s);
        printf("plain memcpy                     %9.1f MB/s\n", memcpy_mbs);
        printf("TLB hits %llu misses %llu; cache hits %llu misses %llu (checksum %llx)\n",
               (unsigned long long)ts.hits, (unsigned long long)ts.misses, (unsigned long long)cs.hits,
               (unsigned long long)cs.misses, (unsigned long long)acc);
        bench_target("bench_core", "SEV guest: controller line accesses per random 8-byte store (TLB hit)",
                     g.lines_per_store, "<=", 2, "%.2f lines, %.2f M stores/s", g.lines_per_store, g.store_mops);
        bench_target("bench_core", "SEV guest: 4 KiB-page copy / engine encrypt+decrypt round trip", g.copy_mbs / g.rt_mbs,
                     ">=", 0.6, "%.0f vs %.0f MB/s", g.copy_mbs, g.rt_mbs);
        bench_target("bench_core", "SEV guest: random 8-byte loads on TLB hits (M/s)", g.load_mops, ">=", 5,
                     "%.2f M/s, TLB hit rate %.3f", g.load_mops, g.load_tlb_hit);
    }
    free(buf);
    free(buf2);
    mc_machine_destroy(m);
    return 0;
}
