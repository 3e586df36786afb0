/* Allocation fault injection (the sweep SQLite's test harness runs): for each component, a
 * representative run is repeated with its Nth allocation failing, for every N from 1 until a
 * run makes fewer than N allocations. Every run must end without a crash, with MC_E_NOMEM
 * when an allocation failed (or MC_OK when the code could do without it), and with every block
 * it allocated freed again (counted here; the sanitizer build's LeakSanitizer checks too).
 *
 * The hook is test-only: this program is linked with --wrap for malloc, calloc, realloc,
 * aligned_alloc, strdup, strndup and free (CMakeLists.txt), so every allocation the library
 * makes goes through the __wrap_ functions below; libcrypto's own allocations are not counted.
 * Each run starts from a warm process (one run first, unarmed), so one-time caches are filled
 * before counting starts. A run is single-threaded: the hook keeps no lock, and with threads the
 * Nth allocation would not be the same one from run to run. A scenario with a costly unarmed
 * set-up (migration: two boards loading their chips) makes it once and runs each armed run in a
 * child process forked from there, which starts from the same state a fresh set-up gives. Each
 * sweep reports its distinct allocation call sites (return addresses) over all its runs.
 *
 * A representative run is the smallest one that reaches every allocation site of the component's
 * full-size use: for `memcrypt run` (mc_run) the sites of the shipped examples' runs
 * (examples/sev-guest.xml, examples/sev-snp-guest.xml with Debian's 2 MiB OVMF: 101 and ~1,800
 * allocations) were counted by call site and are all reached by the 32 MiB, one-vCPU runs below
 * (123 and 223 allocations); the examples only repeat the per-page and per-chunk ones. */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/board.h>
#include <memcrypt/fileio.h>
#include <memcrypt/guest.h>
#include <memcrypt/machine.h>
#include <memcrypt/measure.h>
#include <memcrypt/psp.h>
#include <memcrypt/run.h>
#include <memcrypt/sev_api.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/snp_attest.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>
#include <memcrypt/vm.h>
#include <memcrypt/libvirt.h>
#include <memcrypt/migrate.h>
#include <memcrypt/ovmf.h>
#include <memcrypt/pconfig.h>
#include <memcrypt/snp_guest_msg.h>
#include <memcrypt/tme.h>

#include "check.h"
#include "crypto/crypto.h"
#include "snp_fw_harness.h"
#include "test_fw_harness.h"

/* ---------------------------------------------------------------------------- the hook -- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
void __wrap_free(void *p);

static bool armed;               /* counting and tracking */
static unsigned long fail_at;    /* 1-based allocation number to fail; 0 = none */
static unsigned long allocs;     /* allocations seen while armed */
static bool injected;            /* the failure happened in this run */

/* Blocks allocated while armed and not yet freed: open addressing, tombstones. */
#define LIVE_SLOTS (1u << 18)
#define TOMB ((void *)1)
static void *live[LIVE_SLOTS];
static unsigned long nlive;

static size_t slot_of(void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 46) & (LIVE_SLOTS - 1); }

static void live_add(void *p)
{
    if (!p || !armed)
        return;
    for (size_t i = slot_of(p), k = 0; k < LIVE_SLOTS; i = (i + 1) & (LIVE_SLOTS - 1), k++)
        if (!live[i] || live[i] == TOMB) {
            live[i] = p;
            nlive++;
            return;
        }
}

static void live_del(void *p)
{
    if (!p || !nlive)
        return;
    for (size_t i = slot_of(p), k = 0; k < LIVE_SLOTS && live[i]; i = (i + 1) & (LIVE_SLOTS - 1), k++)
        if (live[i] == p) {
            live[i] = TOMB;
            nlive--;
            return;
        }
}

static void live_clear(void)
{
    memset(live, 0, sizeof live);
    nlive = 0;
}

/* The distinct call sites (return addresses into the library) of the current run's allocations. */
#define MAX_SITES 1024
static void *run_sites[MAX_SITES];
static unsigned n_run_sites;

static void note_site(void *ra)
{
    for (unsigned i = 0; i < n_run_sites; i++)
        if (run_sites[i] == ra)
            return;
    if (n_run_sites < MAX_SITES)
        run_sites[n_run_sites++] = ra;
}

#define fail_now() fail_now_at(__builtin_return_address(0))
static bool fail_now_at(void *site)
{
    if (!armed)
        return false;
    note_site(site);
    allocs++;
    if (fail_at && allocs == fail_at) {
        injected = true;
        return true;
    }
    return false;
}

void *__wrap_malloc(size_t n)
{
    if (fail_now())
        return NULL;
    void *p = __real_malloc(n);
    live_add(p);
    return p;
}

void *__wrap_calloc(size_t n, size_t m)
{
    if (fail_now())
        return NULL;
    void *p = __real_calloc(n, m);
    live_add(p);
    return p;
}

void *__wrap_realloc(void *p, size_t n)
{
    if (fail_now())
        return NULL;
    void *q = __real_realloc(p, n);
    if (q) {
        live_del(p);
        live_add(q);
    }
    return q;
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    if (fail_now())
        return NULL;
    void *p = __real_aligned_alloc(a, n);
    live_add(p);
    return p;
}

char *__wrap_strdup(const char *s)
{
    if (fail_now())
        return NULL;
    char *p = __real_strdup(s);
    live_add(p);
    return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
    if (fail_now())
        return NULL;
    char *p = __real_strndup(s, n);
    live_add(p);
    return p;
}

void __wrap_free(void *p)
{
    live_del(p);
    __real_free(p);
}

/* ------------------------------------------------------------------------- the sweep -- */

typedef mc_status (*scenario_fn)(void *ctx, struct mc_error *err);

/* What one armed run did. */
struct run_result {
    mc_status st;
    bool injected;
    unsigned long allocs, nlive;
    unsigned nsites;
    void *sites[MAX_SITES];
    char msg[sizeof(struct mc_error){0}.msg];
};

/* One run of fn with allocation n failing (0: none), counted and tracked, in this process. */
static void armed_run(scenario_fn fn, void *ctx, unsigned long n, struct run_result *r)
{
    struct mc_error e = {0};
    live_clear();
    allocs = 0;
    injected = false;
    n_run_sites = 0;
    fail_at = n;
    armed = true;
    r->st = fn(ctx, &e);
    armed = false;
    r->injected = injected;
    r->allocs = allocs;
    r->nlive = nlive;
    r->nsites = n_run_sites;
    memcpy(r->sites, run_sites, n_run_sites * sizeof run_sites[0]);
    memcpy(r->msg, e.msg, sizeof r->msg);
}

/* A scenario whose unarmed set-up is costly (boards loading their chips' state files) splits it
 * off: prepare makes it once, and each armed run (run: the rest, tearing the set-up down) is a
 * child process forked from there, so it starts from exactly the state a fresh set-up gives
 * (nothing of an earlier run is left); discard releases the parent's copy. */
struct forked {
    scenario_fn prepare, run;
    void (*discard)(void *ctx);
};

/* run in a child forked from this process: false when the child did not report (it crashed). */
static bool forked_run(const struct forked *fk, void *ctx, unsigned long n, struct run_result *r, int *wstatus)
{
    int fd[2];
    if (pipe(fd))
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        armed_run(fk->run, ctx, n, r);
        const char *p = (const char *)r;
        size_t left = sizeof *r;
        while (left) {
            ssize_t w = write(fd[1], p, left);
            if (w <= 0)
                _exit(3);
            p += w;
            left -= (size_t)w;
        }
        exit(0); /* an ordinary exit: the sanitizer build's LeakSanitizer checks the child too */
    }
    close(fd[1]);
    size_t got = 0;
    while (pid > 0 && got < sizeof *r) {
        ssize_t k = read(fd[0], (char *)r + got, sizeof *r - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd[0]);
    *wstatus = -1;
    if (pid > 0)
        waitpid(pid, wstatus, 0);
    return pid > 0 && got == sizeof *r && WIFEXITED(*wstatus) && WEXITSTATUS(*wstatus) == 0;
}

/* Run fn unarmed once (warm-up; it must succeed), then with allocation N failing for N = 1, 2,
 * ... until a run completes without reaching N (in a child each, after fk->prepare, when fk). */
static void sweep_with(const char *name, scenario_fn fn, void *ctx, const struct forked *fk)
{
    struct mc_error e = {0};
    mc_status st = fn(ctx, &e);
    CHECK_MSG(st == MC_OK, "%s: the run itself fails: %s", name, e.msg);
    if (st != MC_OK)
        return;
    if (fk) {
        st = fk->prepare(ctx, &e);
        CHECK_MSG(st == MC_OK, "%s: the set-up fails: %s", name, e.msg);
        if (st != MC_OK)
            return;
    }
    static struct run_result r;
    static void *all_sites[MAX_SITES];
    unsigned n_all = 0;
    unsigned long bad_status = 0, leaks = 0, runs = 0, crashed = 0;
    clock_t t0 = clock();
    for (unsigned long n = 1;; n++) {
        int ws = 0;
        if (!fk)
            armed_run(fn, ctx, n, &r);
        else if (!forked_run(fk, ctx, n, &r, &ws)) {
            if (crashed++ < 5)
                fprintf(stderr, "%s: the run failing allocation %lu did not finish (wait status 0x%x)\n", name, n, ws);
            if (crashed > 20)
                break;
            continue;
        }
        runs++;
        for (unsigned i = 0; i < r.nsites; i++) {
            unsigned k = 0;
            while (k < n_all && all_sites[k] != r.sites[i])
                k++;
            if (k == n_all && n_all < MAX_SITES)
                all_sites[n_all++] = r.sites[i];
        }
        if (r.nlive) {
            if (leaks++ < 5)
                fprintf(stderr, "%s: failing allocation %lu of %lu leaves %lu block(s) allocated (status %d: %s)\n", name,
                        n, r.allocs, r.nlive, (int)r.st, r.msg);
        }
        if (!r.injected) {
            CHECK_MSG(r.st == MC_OK, "%s: with no failure injected (%lu allocations) the run fails: %s", name, r.allocs,
                      r.msg);
            printf("%s: %lu allocations at %u call sites, each failed once (%.2f s CPU%s)\n", name, n - 1, n_all,
                   (double)(clock() - t0) / CLOCKS_PER_SEC, fk ? " here, each run in a child" : "");
            break;
        }
        if (r.st != MC_E_NOMEM && r.st != MC_OK) {
            if (bad_status++ < 100)
                fprintf(stderr, "%s: failing allocation %lu gives status %d (%s), not MC_E_NOMEM\n", name, n, (int)r.st,
                        r.msg);
        }
        if (n > 100000) {
            CHECK_MSG(0, "%s: more than 100000 allocations", name);
            break;
        }
    }
    fail_at = 0;
    live_clear();
    if (fk)
        fk->discard(ctx);
    CHECK_MSG(crashed == 0, "%s: %lu runs did not finish", name, crashed);
    CHECK_MSG(leaks == 0, "%s: %lu of %lu runs leaked", name, leaks, runs);
    CHECK_MSG(bad_status == 0, "%s: %lu of %lu runs ended with a status other than MC_E_NOMEM", name, bad_status, runs);
    CHECK(runs > 1);
}

static void sweep(const char *name, scenario_fn fn, void *ctx) { sweep_with(name, fn, ctx, NULL); }

/* ------------------------------------------------------------------------ components -- */

/* Engine, DRAM, memory controller and cache under a machine: create, encrypted and plain
 * stores and loads through the controller, CLFLUSH, WBINVD, reset, destroy. */
static mc_status run_machine(void *ctx, struct mc_error *err)
{
    (void)ctx;
    struct mc_machine_config c;
    mc_machine_config_init(&c);
    c.platform = "milan";
    c.dram_size = 8u << 20;
    c.seed = (const uint8_t *)"nomem";
    c.seed_len = 5;
    struct mc_machine *m = NULL;
    mc_status st = mc_machine_create(&c, &m, err);
    if (st)
        return st;
    uint8_t buf[8192], back[8192];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + 1);
    struct mc_fault f;
    uint64_t cbit = mc_machine_enc_bit(m);
    for (int k = 0; k < 4 && !st; k++) {
        uint64_t pa = 0x100000ull + (uint64_t)k * 0x40000;
        st = mc_machine_phys_write(m, pa | (k & 1 ? cbit : 0), buf, sizeof buf, &f, err);
        if (!st)
            st = mc_machine_phys_read(m, pa | (k & 1 ? cbit : 0), back, sizeof back, &f, err);
        if (!st && memcmp(buf, back, sizeof buf))
            st = mc_seterr(err, MC_E_STATE, "read back differs");
    }
    if (!st)
        st = mc_machine_wbinvd(m, err);
    if (!st)
        st = mc_machine_reset(m, err);
    mc_machine_destroy(m);
    return st;
}

/* The firmware through the host driver's mailbox, on a board whose chip identity is loaded
 * from a state file made before the sweep: PLATFORM_STATUS, INIT, GET_ID, PEK_CSR, PDH export,
 * LAUNCH_START/UPDATE_DATA/MEASURE, ACTIVATE, DEACTIVATE, DECOMMISSION, SHUTDOWN. A command
 * whose allocation failed reports it (MC_E_NOMEM, or a firmware error) and leaves the board
 * usable for destruction. */
struct fw_ctx {
    char state[512];
};

static void tweak_2048(struct mc_psp_config *c) { c->root_bits = 2048; }

static mc_status fw_cmd(struct fwt *t, uint32_t cmd, void *buf, size_t len)
{
    uint32_t fs = 0;
    mc_status st = mc_board_fw(t->b, cmd, buf, len, &fs, &t->err);
    /* The firmware reports a failed host allocation as the spec's HWERROR_PLATFORM; the mailbox's
     * caller gets it as a failed command whose message says so. That counts as the clean NOMEM
     * here; any other failure is passed on as it came. */
    if (st && fs == MC_FW_HWERROR_PLATFORM && strstr(t->err.msg, "out of memory"))
        return t->err.code = MC_E_NOMEM;
    if (st)
        return st;
    if (fs != MC_FW_SUCCESS)
        return mc_seterr(&t->err, MC_E_STATE, "command 0x%x: firmware status 0x%x", cmd, fs);
    return MC_OK;
}

static mc_status run_fw(void *ctx, struct mc_error *err)
{
    struct fw_ctx *c = ctx;
    struct fwt t;
    if (fwt_open(&t, "milan", c->state, tweak_2048) != 0) {
        *err = t.err;
        return t.err.code ? t.err.code : MC_E_STATE;
    }
    mc_status st = MC_OK;
    uint8_t b[0x100];
    memset(b, 0, sizeof b);
    st = fw_cmd(&t, MC_SEV_CMD_PLATFORM_STATUS, b, 0xc);
    if (!st) {
        memset(b, 0, sizeof b);
        st = fw_cmd(&t, MC_SEV_CMD_INIT, b, 0x14);
    }
    if (!st) {
        uint32_t fs = 0;
        st = mc_board_df_flush(t.b, &fs, &t.err);
    }
    uint8_t hdr[0x40] = {0};
    if (!st) {
        mc_put_le64(hdr, DATA_PA);
        mc_put_le32(hdr + 8, 0x40);
        st = fw_cmd(&t, MC_SEV_CMD_GET_ID, hdr, 0x0c);
    }
    if (!st) {
        memset(hdr, 0, sizeof hdr);
        mc_put_le64(hdr, DATA_PA);
        mc_put_le32(hdr + 8, MC_SEV_CERT_LEN);
        st = fw_cmd(&t, MC_SEV_CMD_PEK_CSR, hdr, 0x0c);
    }
    uint32_t h = 0;
    if (!st) {
        memset(b, 0, sizeof b);
        mc_put_le32(b + 4, 0x1); /* NODBG */
        st = fw_cmd(&t, MC_SEV_CMD_LAUNCH_START, b, 0x24);
        h = mc_le32(b);
    }
    if (!st) {
        memset(b, 0, sizeof b);
        mc_put_le32(b, h);
        mc_put_le32(b + 4, t.cfg.min_sev_asid); /* the first SEV (not SEV-ES) ASID */
        st = fw_cmd(&t, MC_SEV_CMD_ACTIVATE, b, 8);
    }
    if (!st) {
        uint32_t fs = 0;
        st = mc_board_df_flush(t.b, &fs, &t.err);
    }
    if (!st) {
        uint8_t page[4096];
        memset(page, 0x5a, sizeof page);
        hw_write(&t, GUEST_PA, page, sizeof page);
        mc_machine_wbinvd(t.m, NULL);
        memset(b, 0, sizeof b);
        mc_put_le32(b, h);
        mc_put_le64(b + 8, GUEST_PA);
        mc_put_le32(b + 16, 4096);
        st = fw_cmd(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, b, 0x18);
    }
    if (!st) {
        memset(b, 0, sizeof b);
        mc_put_le32(b, h);
        mc_put_le64(b + 8, DATA_PA);
        mc_put_le32(b + 16, 0x30);
        st = fw_cmd(&t, MC_SEV_CMD_LAUNCH_MEASURE, b, 0x14);
    }
    if (!st) {
        memset(b, 0, sizeof b);
        mc_put_le32(b, h);
        st = fw_cmd(&t, MC_SEV_CMD_DEACTIVATE, b, 4);
    }
    if (!st) {
        uint32_t fs = 0;
        st = mc_board_df_flush(t.b, &fs, &t.err);
    }
    if (!st) {
        memset(b, 0, sizeof b);
        mc_put_le32(b, h);
        st = fw_cmd(&t, MC_SEV_CMD_DECOMMISSION, b, 4);
    }
    if (!st)
        st = fw_cmd(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0);
    *err = t.err;
    fwt_close(&t);
    return st;
}

/* The hypervisor on the same chip: an SEV VM created (ASID, handle, NPT), one page launched,
 * measured and finished, the guest's page tables built, a vCPU's store and load through the one
 * access path (guest walk, NPT, controller), the VM destroyed (DEACTIVATE, DF_FLUSH, DECOMMISSION). */
static mc_status vmm_status(struct fwt *t, mc_status st)
{
    /* a firmware command whose host allocation failed comes back as HWERROR_PLATFORM saying so */
    if (st == MC_E_FIRMWARE && strstr(t->err.msg, "out of memory"))
        return t->err.code = MC_E_NOMEM;
    return st;
}

static mc_status run_vmm(void *ctx, struct mc_error *err)
{
    struct fw_ctx *c = ctx;
    struct fwt t;
    fwt_pool_base = 16ull << 20;
    fwt_pool_size = 32ull << 20;
    int bad = fwt_open(&t, "milan", c->state, tweak_2048);
    fwt_pool_base = fwt_pool_size = 0;
    if (bad) {
        *err = t.err;
        return t.err.code ? t.err.code : MC_E_STATE;
    }
    uint8_t b[0x40] = {0};
    mc_status st = fw_cmd(&t, MC_SEV_CMD_INIT, b, 0x14);
    if (!st) {
        uint32_t fs = 0;
        st = mc_board_df_flush(t.b, &fs, &t.err);
    }
    struct mc_vmm *vmm = st ? NULL : mc_board_vmm(t.b);
    if (!st && !vmm)
        st = mc_seterr(&t.err, MC_E_STATE, "the board has no hypervisor");
    struct mc_vm *vm = NULL;
    if (!st) {
        struct mc_vm_config cfg = {.vcpus = 1, .mem_size = 4ull << 20, .policy = 0x1, .encrypt_npt = true};
        uint32_t fws = 0;
        st = vmm_status(&t, mc_vm_create(vmm, &cfg, &vm, &fws, &t.err));
    }
    static uint8_t img[4096];
    memset(img, 0x90, sizeof img);
    uint8_t meas[0x30], data[64], back[64];
    if (!st)
        st = vmm_status(&t, mc_vm_launch_update(vm, 0x100000, img, sizeof img, 4096, NULL, NULL, &t.err));
    if (!st)
        st = vmm_status(&t, mc_vm_launch_measure(vm, meas, &t.err));
    if (!st)
        st = vmm_status(&t, mc_vm_launch_finish(vm, &t.err));
    if (!st)
        st = mc_guest_paging_init(vm, 0x200000, 0x10000, &t.err);
    if (!st)
        st = mc_guest_map(vm, 0x40000000ull, 0x300000, 4096, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_NX, &t.err);
    struct mc_fault f;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 3 + 1);
    if (!st)
        st = mc_guest_store(mc_vm_vcpu(vm, 0), 0x40000000ull, data, sizeof data, false, &f, &t.err);
    if (!st)
        st = mc_guest_load(mc_vm_vcpu(vm, 0), 0x40000000ull, back, sizeof back, false, &f, &t.err);
    if (!st && memcmp(data, back, sizeof data))
        st = mc_seterr(&t.err, MC_E_STATE, "the guest read back something else");
    mc_vm_destroy(vm);
    *err = t.err;
    fwt_close(&t);
    return st;
}

/* Certificates and reports: AMD's real SEV chain parsed and verified, a real SNP report decoded
 * and verified against its VCEK with the built-in roots, a certificate table built and parsed. */
struct parse_ctx {
    uint8_t *report, *vcek, *ark_ask;
    size_t report_len, vcek_len, ark_ask_len;
};

static mc_status run_parse(void *ctx, struct mc_error *err)
{
    struct parse_ctx *c = ctx;
    struct mc_snp_report r;
    mc_status st = mc_snp_report_decode(c->report, c->report_len, &r, err);
    struct mc_snp_verifier *v = NULL;
    if (!st)
        st = mc_snp_verifier_create(NULL, &v, err);
    struct mc_snp_certs certs = {c->vcek, c->vcek_len, NULL, 0, NULL, 0};
    struct mc_snp_policy pol = {0};
    struct mc_snp_result res;
    if (!st)
        st = mc_snp_verify(v, &r, &certs, &pol, &res, err);
    uint8_t *tbl = NULL;
    size_t tn = 0;
    if (!st)
        st = mc_snp_certtable_build(&certs, false, &tbl, &tn, err);
    struct mc_snp_certtable ct;
    if (!st)
        st = mc_snp_certtable_parse(tbl, tn, &ct, err);
    free(tbl);
    mc_snp_verifier_destroy(v);
    struct mc_amd_cert ask, ark;
    if (!st)
        st = mc_amd_chain_parse(c->ark_ask, c->ark_ask_len, &ask, &ark, err);
    if (!st)
        st = mc_amd_cert_verify(&ask, &ark, err);
    return st;
}

/* Measure: SNP and SEV-ES launch digests of Debian's OVMF with a kernel-hashes table. */
struct measure_ctx {
    uint8_t *ovmf, *kernel;
    size_t ovmf_len, kernel_len;
};

static mc_status run_measure(void *ctx, struct mc_error *err)
{
    struct measure_ctx *c = ctx;
    struct mc_measure_input in;
    memset(&in, 0, sizeof in);
    in.mode = MC_MEASURE_SNP;
    in.ovmf = c->ovmf;
    in.ovmf_len = c->ovmf_len;
    in.vcpus = 2;
    in.vcpu_sig = 0x00a00f11;
    in.has_kernel = true;
    in.kernel = c->kernel;
    in.kernel_len = c->kernel_len;
    in.append = "console=ttyS0";
    in.guest_features = 0x1;
    in.threads = 1;
    uint8_t d[MC_MEASURE_MAX_DIGEST];
    size_t dn;
    mc_status st = mc_measure(&in, d, &dn, err);
    if (!st) {
        in.mode = MC_MEASURE_SEV_ES;
        st = mc_measure(&in, d, &dn, err);
    }
    return st;
}

/* The SNP chip identity: restored from its state blob, VCEK at a TCB, certificate table,
 * a signed report, the blob written again. */
struct snp_ctx {
    uint8_t *blob;
    size_t blob_len;
};

static mc_status run_snp(void *ctx, struct mc_error *err)
{
    struct snp_ctx *c = ctx;
    struct mc_snp_identity *id = NULL;
    mc_status st = mc_snp_identity_deserialize(c->blob, c->blob_len, &id, err);
    uint64_t tcb = mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 8, 115);
    uint8_t *der = NULL, *tbl = NULL, *blob = NULL;
    size_t n = 0;
    if (!st)
        st = mc_snp_identity_vcek_cert(id, tcb, &der, &n, err);
    if (!st)
        st = mc_snp_identity_certtable(id, tcb, false, &tbl, &n, err);
    if (!st) {
        struct mc_snp_report_ctx rc;
        memset(&rc, 0, sizeof rc);
        rc.policy = 0x30000;
        rc.current_tcb = rc.committed_tcb = rc.reported_tcb = rc.launch_tcb = tcb;
        rc.current_major = rc.committed_major = 1;
        rc.current_minor = rc.committed_minor = 55;
        rc.version = 3;
        rc.signer = MC_SNP_SIGNER_VCEK;
        uint8_t rep[MC_SNP_REPORT_SIZE];
        st = mc_snp_report_build(id, &rc, rep, err);
    }
    if (!st)
        st = mc_snp_identity_serialize(id, &blob, &n, err);
    if (blob)
        mc_wipe(blob, n);
    free(blob);
    free(der);
    free(tbl);
    mc_snp_identity_destroy(id);
    return st;
}

/* SEV-SNP firmware on a board whose chip identity (VCEK seed, emulated roots) is loaded from a
 * state file made before the sweep: the host's SNP bring-up and SNP_INIT, DF_FLUSH,
 * SNP_GCTX_CREATE, SNP_LAUNCH_START, SNP_ACTIVATE, SNP_LAUNCH_UPDATE of a NORMAL and the SECRETS
 * page, SNP_LAUNCH_FINISH with HOST_DATA, then the guest's MSG_REPORT_REQ through
 * SNP_GUEST_REQUEST (sealed with VMPCK0 from its secrets page) and the response opened. */
#define NS_DRAM (8ull << 20) /* the RMP takes the top MiB */
#define NS_REQ (SFW_GUEST + 0x100000)
#define NS_RSP (SFW_GUEST + 0x101000)
#define NS_SECRETS (SFW_GUEST + 0x1000)

static int snp_open(struct sfw *t, const char *state)
{
    memset(t, 0, sizeof *t);
    struct mc_board_config bc;
    if (mc_board_config_init(&bc, "milan", &t->err) != MC_OK)
        return -1;
    bc.machine.dram_size = NS_DRAM;
    bc.machine.seed = (const uint8_t *)"nomem-snp";
    bc.machine.seed_len = 9;
    bc.fw.num_cores = 1;
    bc.fw.root_bits = 2048;
    bc.fw.state_path = state;
    bc.mbox_pa = SFW_CMD;
    bc.pool_base = 2ull << 20;
    bc.pool_size = 1ull << 20;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    if (mc_board_create(&bc, &t->b, &t->err) != MC_OK)
        return -1;
    t->m = mc_board_machine(t->b);
    t->psp = mc_board_psp(t->b);
    t->rmp = mc_board_rmp(t->b);
    return 0;
}

/* A firmware status for a failed host allocation (HWERROR_PLATFORM saying so) is the clean NOMEM. */
static mc_status snp_status(struct sfw *t, uint32_t fs, const char *what)
{
    if (fs == MC_FW_SUCCESS)
        return MC_OK;
    char msg[sizeof t->err.msg];
    snprintf(msg, sizeof msg, "%s", t->err.msg); /* (not formatted from the buffer written) */
    if (fs == MC_FW_HWERROR_PLATFORM && strstr(msg, "out of memory"))
        return mc_seterr(&t->err, MC_E_NOMEM, "%s: %s", what, msg);
    return mc_seterr(&t->err, MC_E_STATE, "%s: firmware status 0x%x: %s", what, fs, msg);
}

struct snp_fw_ctx {
    char state[512];
};

static mc_status run_snp_fw(void *ctx, struct mc_error *err)
{
    struct snp_fw_ctx *c = ctx;
    struct sfw t;
    if (snp_open(&t, c->state) != 0) {
        *err = t.err;
        return t.err.code ? t.err.code : MC_E_STATE;
    }
    mc_status st = MC_OK;
    if (sfw_cpu_snp(&t))
        st = t.err.code ? t.err.code : MC_E_STATE;
    if (!st)
        st = snp_status(&t, sfw_init(&t), "SNP_INIT");
    if (!st) {
        uint32_t fs = 0;
        st = mc_board_df_flush(t.b, &fs, &t.err);
        if (!st)
            st = snp_status(&t, fs, "DF_FLUSH");
    }
    uint8_t page[4096];
    memset(page, 0x42, sizeof page);
    static const uint8_t host_data[32] = {0xB7};
    if (!st) {
        sfw_write(&t, SFW_GUEST, page, sizeof page);
        st = snp_status(&t, sfw_gctx_create(&t, SFW_GCTX), "SNP_GCTX_CREATE");
    }
    if (!st)
        st = snp_status(&t, sfw_launch_start(&t, SFW_GCTX, 0x30000), "SNP_LAUNCH_START");
    if (!st)
        st = snp_status(&t, sfw_activate(&t, SFW_GCTX, 1), "SNP_ACTIVATE");
    if (!st) {
        sfw_make_preguest(&t, SFW_GUEST, 1, 0, 0);
        sfw_make_preguest(&t, NS_SECRETS, 1, 0x1000, 0);
        st = snp_status(&t, sfw_launch_update(&t, SFW_GCTX, SFW_GUEST, MC_SNP_PT_NORMAL, 0, 0), "SNP_LAUNCH_UPDATE");
    }
    if (!st)
        st = snp_status(&t, sfw_launch_update(&t, SFW_GCTX, NS_SECRETS, MC_SNP_PT_SECRETS, 0, 0),
                        "SNP_LAUNCH_UPDATE secrets");
    if (!st)
        st = snp_status(&t, sfw_launch_finish(&t, SFW_GCTX, 0, 0, 0, host_data), "SNP_LAUNCH_FINISH");
    /* the guest: VMPCK0 from its secrets page, a sealed MSG_REPORT_REQ, the response opened */
    uint8_t secrets[4096], vmpck0[32];
    if (!st && sfw_guest_read(&t, 1, NS_SECRETS, secrets, sizeof secrets))
        st = mc_seterr(&t.err, MC_E_STATE, "the guest cannot read its secrets page");
    if (!st) {
        memcpy(vmpck0, secrets + 0x20, sizeof vmpck0);
        sfw_make_fw(&t, NS_RSP);
        struct mc_snp_report_req r = {.vmpl = 0};
        uint8_t p[MC_SNP_REPORT_REQ_SIZE], msg[4096];
        mc_snp_report_req_encode(&r, p);
        struct mc_snp_msg_hdr h = {.seqno = 1, .msg_type = MC_SNP_MSG_REPORT_REQ, .msg_version = 1, .msg_vmpck = 0};
        size_t len = 0;
        st = mc_snp_msg_seal(vmpck0, &h, p, sizeof p, msg, sizeof msg, &len, &t.err);
        if (!st) {
            sfw_write(&t, NS_REQ, msg, len);
            uint8_t b[24];
            mc_put_le64(b, SFW_GCTX);
            mc_put_le64(b + 8, NS_REQ);
            mc_put_le64(b + 16, NS_RSP);
            st = snp_status(&t, sfw_cmd(&t, MC_SEV_CMD_SNP_GUEST_REQUEST, b, sizeof b), "SNP_GUEST_REQUEST");
        }
        if (!st) {
            uint8_t rsp[MC_SNP_REPORT_RSP_SIZE], rep[MC_SNP_REPORT_SIZE];
            uint32_t status = 1;
            sfw_read(&t, NS_RSP, msg, sizeof msg);
            st = mc_snp_msg_open(vmpck0, msg, sizeof msg, &h, rsp, sizeof rsp, &t.err);
            if (!st)
                st = mc_snp_report_rsp_decode(rsp, sizeof rsp, &status, rep, &t.err);
            if (!st && (status != 0 || h.seqno != 2))
                st = mc_seterr(&t.err, MC_E_STATE, "report response status 0x%x, sequence %llu", status,
                               (unsigned long long)h.seqno);
        }
        mc_wipe(vmpck0, sizeof vmpck0);
    }
    *err = t.err;
    sfw_close(&t);
    return st;
}

/* Migration between two boards (chip identities loaded from state files made before the sweep):
 * both INIT, an SEV guest launched on the source (one page, measured, finished), its OS writing
 * private and shared memory through its page tables, sent into a stream (SEND_START/UPDATE_DATA/
 * FINISH on the source, the target's PDH and chain checked) and received from it (RECEIVE_* on
 * the target), the guest reading its data back there. */
struct mig_ctx {
    char state[2][512];
    struct mc_board *a, *b; /* made by mig_prepare, destroyed by mig_guest */
};

static mc_status mig_board(const char *state, const char *seed, struct mc_board **out, struct mc_error *err)
{
    struct mc_board_config c;
    mc_status st = mc_board_config_init(&c, "milan", err);
    if (st)
        return st;
    c.machine.dram_size = 16ull << 20;
    c.machine.seed = (const uint8_t *)seed;
    c.machine.seed_len = strlen(seed);
    c.fw.root_bits = 2048;
    c.fw.num_cores = 1;
    c.fw.state_path = state;
    c.pool_base = 4ull << 20;
    struct mc_board *b = NULL;
    if ((st = mc_board_create(&c, &b, err)) != MC_OK)
        return st;
    uint8_t i[sizeof(struct mc_sev_init)] = {0};
    mc_put_le32(i, MC_SEV_INIT_FLAG_ES);
    mc_put_le64(i + offsetof(struct mc_sev_init, tmr_paddr), 1ull << 20);
    mc_put_le32(i + offsetof(struct mc_sev_init, tmr_len), MC_SEV_TMR_LEN);
    uint32_t fs = 0;
    st = mc_board_fw(b, MC_SEV_CMD_INIT, i, sizeof i, &fs, err);
    if (!st)
        st = mc_board_df_flush(b, &fs, err);
    if (st == MC_E_FIRMWARE && fs == MC_FW_HWERROR_PLATFORM && strstr(err->msg, "out of memory"))
        st = err->code = MC_E_NOMEM;
    if (st) {
        mc_board_destroy(b);
        return st;
    }
    *out = b;
    return MC_OK;
}

/* The two boards, made (and INIT) with the hook paused: board creation, state files and INIT have
 * their own sweeps above; counting starts with the guest. */
static mc_status mig_prepare(void *ctx, struct mc_error *err)
{
    struct mig_ctx *c = ctx;
    bool was = armed;
    armed = false;
    c->a = c->b = NULL;
    mc_status st = mig_board(c->state[0], "nomem-a", &c->a, err);
    if (!st)
        st = mig_board(c->state[1], "nomem-b", &c->b, err);
    armed = was;
    return st;
}

static void mig_discard(void *ctx)
{
    struct mig_ctx *c = ctx;
    mc_board_destroy(c->b);
    mc_board_destroy(c->a);
    c->a = c->b = NULL;
}

/* The guest on the prepared boards; the boards' destruction at the end is tracked (every block
 * the run allocated must be freed by then). */
static mc_status mig_guest(void *ctx, struct mc_error *err)
{
    struct mig_ctx *c = ctx;
    struct mc_board *a = c->a, *b = c->b;
    c->a = c->b = NULL;
    struct mc_vm *vm = NULL, *moved = NULL;
    mc_status st = a && b ? MC_OK : mc_seterr(err, MC_E_STATE, "the boards were not made");
    if (!st) {
        struct mc_vm_config vc = {.vcpus = 1, .mem_size = 2ull << 20, .policy = 0x1};
        st = mc_vm_create(mc_board_vmm(a), &vc, &vm, NULL, err);
    }
    static uint8_t img[4096];
    memset(img, 0x90, sizeof img);
    uint8_t m[0x30], data[256], back[256];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 5 + 3);
    if (!st)
        st = mc_vm_launch_update(vm, 0, img, sizeof img, 0, NULL, NULL, err);
    if (!st)
        st = mc_vm_launch_measure(vm, m, err);
    if (!st)
        st = mc_vm_launch_finish(vm, err);
    if (!st)
        st = mc_guest_paging_init(vm, 0x10000, 0x10000, err);
    if (!st)
        st = mc_guest_map(vm, 0x40000000ull, 0x40000, 0x1000, MC_GUEST_MAP_WRITE, err);
    if (!st)
        st = mc_guest_map(vm, 0x40100000ull, 0x50000, 0x1000, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_SHARED, err);
    struct mc_fault f;
    if (!st)
        st = mc_guest_store(mc_vm_vcpu(vm, 0), 0x40000000ull, data, sizeof data, false, &f, err);
    if (!st)
        st = mc_guest_store(mc_vm_vcpu(vm, 0), 0x40100000ull, "shared", 6, false, &f, err);
    /* the guest's private pages (image, page tables, data: 0..0x4FFFF) go through the firmware in
     * packets of 0x5000 bytes; the rest of its 2 MiB is shared (the hypervisor copies it as it is),
     * which keeps each run short without leaving a command out */
    static const uint64_t shared[][2] = {{0x50000, (2ull << 20) - 0x50000}};
    const struct mc_migrate_opts o = {.chunk = 0x5000, .shared = shared, .nshared = 1};
    struct mc_migrate_stats ms;
    /* through a stream buffer, one side after the other (mc_migrate runs the two in threads: the
     * Nth allocation would not be the same one from run to run) */
    struct mc_migrate_target tg;
    struct mc_migrate_buf sb = {0};
    if (!st)
        st = mc_migrate_target_info(b, &tg, err);
    if (!st)
        st = mc_migrate_send(a, &vm, &tg, &o, mc_migrate_buf_write, &sb, &ms, err);
    if (!st)
        st = mc_migrate_receive(b, mc_migrate_buf_read, &sb, &moved, &ms, err);
    mc_migrate_buf_free(&sb);
    if (!st)
        st = mc_guest_load(mc_vm_vcpu(moved, 0), 0x40000000ull, back, sizeof back, false, &f, err);
    if (!st && memcmp(back, data, sizeof data))
        st = mc_seterr(err, MC_E_STATE, "the moved guest reads something else");
    if (st == MC_E_FIRMWARE && strstr(err->msg, "out of memory"))
        st = err->code = MC_E_NOMEM;
    mc_vm_destroy(moved);
    mc_vm_destroy(vm);
    mc_board_destroy(b);
    mc_board_destroy(a);
    return st;
}

static mc_status run_migrate(void *ctx, struct mc_error *err)
{
    mc_status st = mig_prepare(ctx, err);
    if (st) {
        mig_discard(ctx);
        return st;
    }
    return mig_guest(ctx, err);
}

/* TME/MKTME on an Intel board: the BIOS's TME_ACTIVATE adopted, PCONFIG programs KeyID 1 and
 * sets KeyID 2 to no encryption, lines stored and loaded through KeyIDs 0, 1 and 2, WBINVD, the
 * key table read back through the MSRs, reset. */
static mc_status run_tme(void *ctx, struct mc_error *err)
{
    (void)ctx;
    struct mc_board_config c;
    mc_status st = mc_board_config_init(&c, "icelake-sp", err);
    if (st)
        return st;
    c.machine.dram_size = 8ull << 20;
    c.machine.seed = (const uint8_t *)"nomem-tme";
    c.machine.seed_len = 9;
    struct mc_board *b = NULL;
    if ((st = mc_board_create(&c, &b, err)) != MC_OK)
        return st;
    struct mc_machine *m = mc_board_machine(b);
    struct mc_tme *t = mc_board_tme(b);
    if (!t)
        st = mc_seterr(err, MC_E_STATE, "the board has no TME unit");
    for (uint16_t keyid = 1; keyid <= 2 && !st; keyid++) {
        struct mc_mktme_key_program kp;
        memset(&kp, 0, sizeof kp);
        kp.keyid = keyid;
        kp.command = keyid == 1 ? MC_PCONFIG_KEYID_SET_KEY_DIRECT : MC_PCONFIG_KEYID_NO_ENCRYPT;
        kp.alg = MC_MKTME_ALG_AES_XTS_128;
        memset(kp.key_field_1, 0x11, 16);
        memset(kp.key_field_2, 0x77, 16);
        uint8_t raw[MC_MKTME_KP_SIZE];
        mc_mktme_kp_encode(&kp, raw);
        struct mc_fault f;
        st = mc_machine_phys_write(m, 0x100000, raw, sizeof raw, &f, err);
        mc_wipe(raw, sizeof raw);
        struct mc_pconfig_cpu cpu;
        memset(&cpu, 0, sizeof cpu);
        cpu.rbx = 0x100000;
        struct mc_tme_event ev;
        if (!st)
            st = mc_board_pconfig(b, &cpu, &ev, err);
        if (!st && cpu.rax != 0)
            st = mc_seterr(err, MC_E_STATE, "PCONFIG KeyID %u: status %llu", keyid, (unsigned long long)cpu.rax);
    }
    uint8_t p[4096], back[4096];
    for (size_t i = 0; i < sizeof p; i++)
        p[i] = (uint8_t)(i * 13 + 5);
    for (uint32_t keyid = 0; keyid <= 2 && !st; keyid++) {
        uint64_t pa = 0;
        struct mc_fault f;
        st = mc_tme_pa_compose(t, 0x200000 + 0x10000ull * keyid, keyid, &pa, err);
        if (!st)
            st = mc_machine_phys_write(m, pa, p, sizeof p, &f, err);
        if (!st)
            st = mc_machine_wbinvd(m, err);
        if (!st)
            st = mc_machine_phys_read(m, pa, back, sizeof back, &f, err);
        if (!st && memcmp(p, back, sizeof p))
            st = mc_seterr(err, MC_E_STATE, "KeyID %u reads back something else", keyid);
    }
    uint64_t v;
    struct mc_fault f;
    if (!st)
        st = mc_machine_rdmsr(m, 0x982, &v, &f, err);
    if (!st)
        st = mc_machine_reset(m, err);
    mc_board_destroy(b);
    return st;
}

/* The libvirt XML parser (libxml2, loaded at run time) on the shipped SEV-SNP and SEV-ES domains:
 * parse, validate against the platform, QEMU's arguments, the platform's domain capabilities. */
struct lv_ctx {
    char *xml[2];
    size_t len[2];
};

static mc_status run_libvirt(void *ctx, struct mc_error *err)
{
    struct lv_ctx *c = ctx;
    struct mc_lv_platform p;
    mc_status st = mc_libvirt_platform("milan", &p, err);
    for (int i = 0; i < 2 && !st; i++) {
        struct mc_lv_domain *d = NULL;
        char *args = NULL, *caps = NULL;
        st = mc_libvirt_parse(c->xml[i], c->len[i], &d, err);
        if (!st)
            st = mc_libvirt_validate(d, &p, MC_LV_CHECK_BLOBS, err);
        if (!st)
            st = mc_libvirt_qemu_args(d, "/var/lib/libvirt/qemu/x", &args, err);
        if (!st && i == 0)
            st = mc_libvirt_domcaps_xml(&p, &caps, err);
        free(args);
        free(caps);
        mc_libvirt_free(d);
    }
    return st;
}

/* `memcrypt run` (mc_run) of an SEV-ES and of an SEV-SNP domain, whole: validation, the platform
 * booted from a state file, INIT/SNP_INIT, the owner's channel (PDH export, session), the launch
 * (firmware image, kernel-hashes table, VMSAs or SNP pages), the owner's measurement check, the
 * secret (SEV) or the guest's attestation report and the owner's verification (SNP), the guest
 * workload, teardown. Its inputs are the smallest that take every path the shipped examples take:
 * 32 MiB, one vCPU, the 4 KiB tail of an AmdSev OVMF (footer table, reset block, SEV metadata with
 * a kernel-hashes area) and the tiny direct-boot kernel; the chip's identity (2048-bit emulated
 * roots) is made once and loaded from a state file by every run. A run must leave the state file
 * as it was and no temporary folder behind. */
struct run_ctx {
    struct mc_lv_domain *d;
    bool snp;
    char state[512], tmp[512];
    uint8_t *state0; /* the state file's bytes before the sweep */
    size_t state0_len;
    bool have_ref;
    struct mc_run_report ref; /* what the run without a failure reports */
};

/* The report without what differs from run to run: the timings (seconds), the SNP report's
 * signature (ECDSA with a fresh k; the owner checked it) and the time the certificates' validity
 * was checked at. */
static void run_untimed(struct mc_run_report *r)
{
    r->update_seconds = r->launch_seconds = r->boot_seconds = r->init_seconds = 0;
    r->channel_seconds = r->guest_launch_seconds = r->workload_seconds = 0;
    memset(r->snp.report + 0x2A0, 0, MC_SNP_REPORT_SIZE - 0x2A0);
    for (size_t i = 0; i < r->snp.nchecks; i++)
        if (!strcmp(r->snp.checks[i].name, "validity"))
            memset(r->snp.checks[i].reason, 0, sizeof r->snp.checks[i].reason);
}

static mc_status run_run(void *ctx, struct mc_error *err)
{
    struct run_ctx *c = ctx;
    struct mc_run_opts o;
    memset(&o, 0, sizeof o);
    o.seed = (const uint8_t *)"nomem-run";
    o.seed_len = 9;
    o.state_path = c->state;
    static struct mc_run_report r;
    mc_status st = mc_run(c->d, &o, &r, err);
    /* a firmware command whose host allocation failed comes back as HWERROR_PLATFORM saying so */
    if (st == MC_E_FIRMWARE && strstr(err->msg, "out of memory"))
        st = err->code = MC_E_NOMEM;
    if (!st && c->snp && !r.snp.verified)
        st = mc_seterr(err, MC_E_STATE, "the owner did not verify the SNP guest's report");
    if (!st && !c->snp && !(r.measurement_ok && r.secret_ok && r.workload && r.io_ok))
        st = mc_seterr(err, MC_E_STATE, "the SEV launch or workload did not check out");
    /* a run that could do without the allocation that failed reports what the run without a
     * failure reports (the seed makes every run the same) */
    if (!st) {
        run_untimed(&r);
        if (!c->have_ref) {
            c->ref = r;
            c->have_ref = true;
        } else if (memcmp(&r, &c->ref, sizeof r)) {
            size_t i = 0;
            while (((const uint8_t *)&r)[i] == ((const uint8_t *)&c->ref)[i])
                i++;
            st = mc_seterr(err, MC_E_STATE, "the run succeeded but its report differs from the run without a failure "
                           "at byte %zu", i);
        }
    }
    /* whatever happened, nothing outside the run changed (checked with the hook paused) */
    bool was = armed;
    armed = false;
    uint8_t *now = NULL;
    size_t n = 0;
    struct mc_error fe;
    if (mc_file_read(c->state, 1u << 20, &now, &n, &fe) != MC_OK || n != c->state0_len || memcmp(now, c->state0, n))
        st = mc_seterr(err, MC_E_STATE, "the run (status %d) changed the state file", (int)st);
    free(now);
    DIR *dir = opendir(c->tmp);
    for (struct dirent *e; dir && (e = readdir(dir));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            st = mc_seterr(err, MC_E_STATE, "the run (status %d) left %s in the temporary folder", (int)st, e->d_name);
    if (dir)
        closedir(dir);
    armed = was;
    return st;
}

/* A state file and the lock file the firmware keeps beside it (STATE.lock, memcrypt/psp.h). */
static void unlink_state(const char *state)
{
    char lock[600];
    snprintf(lock, sizeof lock, "%s.lock", state);
    unlink(state);
    unlink(lock);
}

/* ----------------------------------------------------------------------------- tests -- */

static void test_machine(void) { sweep("machine", run_machine, NULL); }

static void test_firmware(void)
{
    struct fw_ctx c;
    snprintf(c.state, sizeof c.state, "%s/nomem-fw-%d.state", MC_BINARY_DIR, (int)getpid());
    unlink(c.state);
    /* the chip's identity is made once (RSA key generation is slow) and loaded by every run */
    struct fwt t;
    CHECK(fwt_open(&t, "milan", c.state, tweak_2048) == 0);
    CHECK(fwt_init(&t, 0) == MC_FW_SUCCESS);
    uint8_t b[0x40] = {0};
    mc_put_le64(b, DATA_PA);
    mc_put_le32(b + 8, MC_SEV_CERT_LEN);
    CHECK(fw(&t, MC_SEV_CMD_PEK_CSR, b, 0x0c) == MC_FW_SUCCESS);
    CHECK(fw(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0) == MC_FW_SUCCESS);
    fwt_close(&t);
    sweep("firmware mailbox", run_fw, &c);
    sweep("hypervisor (SEV VM, guest access)", run_vmm, &c);
    unlink_state(c.state);
}

static void test_parse(void)
{
    struct parse_ctx c = {0};
    struct mc_error e;
    CHECK(mc_file_read(MC_TEST_DATA "/amd/snp-reports/virtee-milan/report.bin", 1 << 20, &c.report, &c.report_len, &e) ==
          MC_OK);
    CHECK(mc_file_read(MC_TEST_DATA "/amd/snp-reports/virtee-milan/vcek.der", 1 << 20, &c.vcek, &c.vcek_len, &e) ==
          MC_OK);
    uint8_t *ark = NULL, *ask = NULL;
    size_t arkn = 0, askn = 0;
    CHECK(mc_file_read(MC_SOURCE_DIR "/data/sev-ca/milan/ask.cert", 1 << 20, &ask, &askn, &e) == MC_OK);
    CHECK(mc_file_read(MC_SOURCE_DIR "/data/sev-ca/milan/ark.cert", 1 << 20, &ark, &arkn, &e) == MC_OK);
    c.ark_ask = ask && ark ? malloc(askn + arkn) : NULL; /* ASK || ARK, as AMD's ask_ark files */
    if (c.ark_ask) {
        memcpy(c.ark_ask, ask, askn);
        memcpy(c.ark_ask + askn, ark, arkn);
        c.ark_ask_len = askn + arkn;
    }
    free(ask);
    free(ark);
    if (c.report && c.vcek && c.ark_ask)
        sweep("certificates and reports", run_parse, &c);
    free(c.report);
    free(c.vcek);
    free(c.ark_ask);
}

static void test_measure(void)
{
    struct measure_ctx c = {0};
    struct mc_error e;
    CHECK(mc_file_read(MC_TEST_DATA "/snp-measure/ovmf_AmdSev_suffix.bin", 64u << 20, &c.ovmf, &c.ovmf_len, &e) ==
          MC_OK);
    CHECK(mc_file_read(MC_TEST_DATA "/snp-measure/fake-kernel.bin", 64u << 20, &c.kernel, &c.kernel_len, &e) == MC_OK);
    if (c.ovmf && c.kernel)
        sweep("measure", run_measure, &c);
    free(c.ovmf);
    free(c.kernel);
}

static void test_snp_identity(void)
{
    static const char secret[] = "nomem chip secret, 32 bytes long", seed[] = "nomem root seed...";
    struct mc_snp_identity_params p = {.gen = MC_SNP_GEN_MILAN, .chip_secret = (const uint8_t *)secret,
                                       .root_seed = (const uint8_t *)seed, .root_seed_len = sizeof seed - 1,
                                       .root_bits = 2048};
    struct mc_snp_identity *id = NULL;
    struct mc_error e;
    struct snp_ctx c = {0};
    CHECK_MSG(mc_snp_identity_create(&p, &id, &e) == MC_OK, "%s", e.msg);
    CHECK(id && mc_snp_identity_serialize(id, &c.blob, &c.blob_len, &e) == MC_OK);
    mc_snp_identity_destroy(id);
    if (c.blob)
        sweep("SNP identity and report", run_snp, &c);
    free(c.blob);
}

static void test_snp_firmware(void)
{
    struct snp_fw_ctx c;
    snprintf(c.state, sizeof c.state, "%s/nomem-snp-%d.state", MC_BINARY_DIR, (int)getpid());
    unlink(c.state);
    /* the chip's identity (emulated roots, VCEK seed) is made once and loaded by every run */
    struct sfw t;
    CHECK(snp_open(&t, c.state) == 0);
    CHECK(mc_psp_identity(t.psp, &t.err) != NULL);
    CHECK_MSG(mc_psp_snp_identity(t.psp, &t.err) != NULL, "%s", t.err.msg);
    sfw_close(&t);
    sweep("SEV-SNP firmware (SNP_INIT, launch, guest request)", run_snp_fw, &c);
    unlink_state(c.state);
}

static void test_migrate(void)
{
    struct mig_ctx c;
    struct mc_error e;
    for (int i = 0; i < 2; i++) {
        snprintf(c.state[i], sizeof c.state[i], "%s/nomem-mig%d-%d.state", MC_BINARY_DIR, i, (int)getpid());
        unlink(c.state[i]);
        struct mc_board *b = NULL;
        CHECK_MSG(mig_board(c.state[i], i ? "nomem-b" : "nomem-a", &b, &e) == MC_OK, "%s", e.msg);
        CHECK(b && mc_psp_identity(mc_board_psp(b), &e) != NULL);
        mc_board_destroy(b);
    }
    /* each run in a child forked after the two boards are made: loading two chips' identities from
     * their state files (P-384 checks, ~20 ms) was nearly all of every run's time */
    static const struct forked fk = {mig_prepare, mig_guest, mig_discard};
    uint8_t *before[2] = {NULL, NULL}, *after = NULL;
    size_t nb[2] = {0, 0}, na = 0;
    for (int i = 0; i < 2; i++)
        CHECK(mc_file_read(c.state[i], 1 << 20, &before[i], &nb[i], &e) == MC_OK);
    sweep_with("migration (SEND_*, RECEIVE_*)", run_migrate, &c, &fk);
    /* the runs leave the chips' state files as they were, so every run (a fresh set-up before, a
     * child of one set-up now) starts from the same chips */
    for (int i = 0; i < 2; i++) {
        CHECK(mc_file_read(c.state[i], 1 << 20, &after, &na, &e) == MC_OK && before[i] && na == nb[i] &&
              !memcmp(after, before[i], na));
        free(after);
        free(before[i]);
        after = NULL;
    }
    unlink_state(c.state[0]);
    unlink_state(c.state[1]);
}

static void test_tme(void) { sweep("TME/MKTME (PCONFIG, KeyIDs)", run_tme, NULL); }

/* A folder of this test's own, on tmpfs when there is one (the runs sync the files they write). */
static bool scratch_dir(char *buf, size_t n)
{
    snprintf(buf, n, "/dev/shm/memcrypt-nomem.XXXXXX");
    if (mkdtemp(buf))
        return true;
    snprintf(buf, n, "%s/nomem.XXXXXX", MC_BINARY_DIR);
    return mkdtemp(buf) != NULL;
}

/* A chip's first boot, as `memcrypt run --state` on a new state file makes it: the board created
 * on an empty state file, the SEV identity made and stored (the emulated ARK/ASK, CEK, OCA, PEK,
 * PDH), then the SNP identity (VCEK root, chip ID from GET_ID). 2048-bit emulated roots. */
struct boot_ctx {
    char state[512];
};

static mc_status run_first_boot(void *ctx, struct mc_error *err)
{
    struct boot_ctx *c = ctx;
    bool was = armed;
    armed = false;
    unlink(c->state);
    armed = was;
    struct mc_board_config bc;
    struct mc_board *b = NULL;
    mc_status st = mc_board_config_init(&bc, "milan", err);
    bc.machine.seed = (const uint8_t *)"nomem-first-boot";
    bc.machine.seed_len = 16;
    bc.fw.root_bits = 2048;
    bc.fw.state_path = c->state;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    if (!st)
        st = mc_board_create(&bc, &b, err);
    if (!st && !mc_psp_identity(mc_board_psp(b), err))
        st = err->code ? err->code : MC_E_STATE;
    if (!st && !mc_psp_snp_identity(mc_board_psp(b), err))
        st = err->code ? err->code : MC_E_STATE;
    if (st == MC_E_FIRMWARE && strstr(err->msg, "out of memory"))
        st = err->code = MC_E_NOMEM;
    mc_board_destroy(b);
    return st;
}

/* The firmware image: the AmdSev tail with every SEV metadata section cut to one page (each
 * section still there, so every SNP page type is launched; 9 pages instead of 33). The
 * descriptors follow the metadata header ("ASEV", length, version, count): GPA, size, type. */
static bool run_image(const char *path)
{
    uint8_t *img = NULL;
    size_t n = 0;
    struct mc_error e;
    struct mc_ovmf ov;
    bool ok = mc_file_read(MC_TEST_DATA "/snp-measure/ovmf_AmdSev_suffix.bin", 1 << 20, &img, &n, &e) == MC_OK &&
              mc_ovmf_parse(img, n, MC_OVMF_FOUR_GB, &ov, &e) == MC_OK && ov.has_metadata && ov.nsections >= 5;
    for (size_t i = 0; ok && i < ov.nsections; i++)
        mc_put_le32(img + n - ov.metadata_offset + 16 + 12 * i + 4, 0x1000);
    ok = ok && mc_ovmf_parse(img, n, MC_OVMF_FOUR_GB, &ov, &e) == MC_OK && ov.sections[0].size == 0x1000 &&
         mc_file_write_atomic(path, img, n, &e) == MC_OK;
    free(img);
    return ok;
}

/* The domain, its firmware image, the chip's state file (SEV and SNP identity, 2048-bit roots)
 * and a temporary folder (TMPDIR, where the SNP owner keeps the roots it verifies with) are made
 * before the sweep, in a scratch folder. */
static void sweep_run(bool snp)
{
    struct run_ctx c;
    memset(&c, 0, sizeof c);
    c.snp = snp;
    char dir[400], fw[512];
    CHECK(scratch_dir(dir, sizeof dir));
    snprintf(c.state, sizeof c.state, "%s/chip.state", dir);
    snprintf(fw, sizeof fw, "%s/fw.fd", dir);
    snprintf(c.tmp, sizeof c.tmp, "%s/tmp", dir);
    CHECK(mkdir(c.tmp, 0700) == 0);
    const char *saved_tmp = getenv("TMPDIR");
    char *old_tmp = saved_tmp ? strdup(saved_tmp) : NULL;
    setenv("TMPDIR", c.tmp, 1);
    struct mc_error e = {0};
    struct mc_board_config bc;
    struct mc_board *b = NULL;
    CHECK(mc_board_config_init(&bc, "milan", &e) == MC_OK);
    bc.fw.root_bits = 2048;
    bc.fw.state_path = c.state;
    bc.rmp_size = MC_BOARD_RMP_AUTO;
    CHECK_MSG(mc_board_create(&bc, &b, &e) == MC_OK, "%s", e.msg);
    CHECK(b && mc_psp_identity(mc_board_psp(b), &e) != NULL);
    CHECK_MSG(b && mc_psp_snp_identity(mc_board_psp(b), &e) != NULL, "%s", e.msg);
    mc_board_destroy(b);
    CHECK(mc_file_read(c.state, 1u << 20, &c.state0, &c.state0_len, &e) == MC_OK);
    CHECK(run_image(fw));
    char xml[2048];
    snprintf(xml, sizeof xml,
             "<domain type='kvm'><name>nomem-%s</name><memory unit='MiB'>32</memory>"
             "<memoryBacking><locked/></memoryBacking><vcpu>1</vcpu>"
             "<os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type><loader readonly='yes' type='pflash'>%s</loader>"
             "<kernel>%s/examples/direct-kernel/bzImage</kernel><initrd>%s/examples/direct-kernel/initrd.cpio</initrd>"
             "<cmdline>console=ttyS0</cmdline></os>"
             "<launchSecurity type='%s' kernelHashes='yes'><cbitpos>51</cbitpos><reducedPhysBits>1</reducedPhysBits>"
             "<policy>%s</policy>%s</launchSecurity></domain>",
             snp ? "snp" : "sev-es", fw, MC_SOURCE_DIR, MC_SOURCE_DIR, snp ? "sev-snp" : "sev", snp ? "0x30000" : "0x5",
             snp ? "<hostData>bm9tZW0gc3dlZXA6IGhvc3QgZGF0YSwgMzIgYnl0ZXM=</hostData>" : "");
    CHECK_MSG(mc_libvirt_parse(xml, strlen(xml), &c.d, &e) == MC_OK, "%s", e.msg);
    if (c.d && c.state0)
        sweep(snp ? "memcrypt run, SEV-SNP (launch, report, owner's verification)"
                  : "memcrypt run, SEV-ES (launch, owner's session and secret, workload)",
              run_run, &c);
    mc_libvirt_free(c.d);
    free(c.state0);
    unlink_state(c.state);
    unlink(fw);
    CHECK(rmdir(c.tmp) == 0);
    CHECK(rmdir(dir) == 0);
    if (old_tmp)
        setenv("TMPDIR", old_tmp, 1);
    else
        unsetenv("TMPDIR");
    free(old_tmp);
}

static void test_first_boot(void)
{
    struct boot_ctx c;
    char dir[400];
    CHECK(scratch_dir(dir, sizeof dir));
    snprintf(c.state, sizeof c.state, "%s/chip.state", dir);
    sweep("a chip's first boot (identities made and stored)", run_first_boot, &c);
    unlink_state(c.state);
    CHECK(rmdir(dir) == 0);
}

static void test_run_sev(void) { sweep_run(false); }
static void test_run_snp(void) { sweep_run(true); }

static void test_libvirt(void)
{
    struct lv_ctx c = {0};
    struct mc_error e;
    CHECK(mc_file_read(MC_SOURCE_DIR "/examples/sev-snp-guest.xml", 1 << 20, (uint8_t **)&c.xml[0], &c.len[0], &e) ==
          MC_OK);
    CHECK(mc_file_read(MC_SOURCE_DIR "/examples/sev-es-guest.xml", 1 << 20, (uint8_t **)&c.xml[1], &c.len[1], &e) ==
          MC_OK);
    if (c.xml[0] && c.xml[1])
        sweep("libvirt XML", run_libvirt, &c);
    free(c.xml[0]);
    free(c.xml[1]);
}

/* Without arguments: every sweep but the two that cost the most (test_first_boot, test_run_snp),
 * which ctest runs beside it as test_nomem_run (`test_nomem test_first_boot test_run_snp`); with
 * arguments, the tests named. */
static int argc_;
static char **argv_;

static bool wanted(const char *name, bool by_default)
{
    for (int i = 1; i < argc_; i++)
        if (!strcmp(argv_[i], name))
            return true;
    return argc_ < 2 && by_default;
}

#define RUN_IF(fn, by_default)                                                                     \
    do {                                                                                           \
        if (wanted(#fn, by_default))                                                               \
            RUN(fn);                                                                               \
    } while (0)

int main(int argc, char **argv)
{
    argc_ = argc;
    argv_ = argv;
    RUN_IF(test_machine, true);
    RUN_IF(test_firmware, true);
    RUN_IF(test_parse, true);
    RUN_IF(test_measure, true);
    RUN_IF(test_snp_identity, true);
    RUN_IF(test_snp_firmware, true);
    RUN_IF(test_migrate, true);
    RUN_IF(test_tme, true);
    RUN_IF(test_libvirt, true);
    RUN_IF(test_run_sev, true);
    RUN_IF(test_first_boot, false);
    RUN_IF(test_run_snp, false);
    return check_summary();
}
