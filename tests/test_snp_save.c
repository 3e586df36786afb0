/* Saved SEV-SNP guests (memcrypt/migrate.h kind 3, the firmware's hibernation export/import in
 * memcrypt/psp.h): an SNP guest launched in KVM's order asks for a report, writes private and
 * shared memory, is saved, its board destroyed; a new board on the same chip (state file)
 * restores it — at the same and at another host address — and the guest reads its memory back,
 * its message channel continues (sequence numbers, VMPCK0) and a new report has the same
 * MEASUREMENT, HOST_DATA and a new REPORT_DATA, verified through the emulated roots. The file holds
 * no plaintext of private pages or keys; a changed byte anywhere the chip vouches for, another
 * chip, truncation or a malformed header is refused with nothing left on the board. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <memcrypt/sev_identity.h>

#include <memcrypt/guest.h>
#include <memcrypt/migrate.h>
#include <memcrypt/snp_guest.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/vm.h>
#include <memcrypt/vmsa.h>

#include "check.h"
#include "snp_fw_harness.h"
#include "snp_testlib.h"

#define POLICY 0x30000ull
#define MEM (4ull << 20)
#define SECRETS 0x1000ull
#define CPUID_PG 0x2000ull
#define DATA 0x3000ull   /* a private page the guest writes after launch */
#define GHCB 0x10000ull
#define REQ 0x11000ull
#define RSP 0x12000ull
#define CERTS 0x13000ull
#define SHARED 0x20000ull /* a shared page the hypervisor writes */

static char dir[256], state[300];

static void other_seed(struct mc_board_config *bc)
{
    bc->machine.seed = (const uint8_t *)"another chip";
    bc->machine.seed_len = 12;
}

static int up(struct sfw *t, sfw_tweak_fn tweak, const char *st)
{
    if (sfw_open(t, "milan", st, tweak) || sfw_up(t)) {
        fprintf(stderr, "board: %s\n", t->err.msg);
        return -1;
    }
    return 0;
}

static struct mc_snp_guest *chan(struct mc_vm *vm)
{
    struct mc_snp_guest_config c = {.secrets_gpa = SECRETS, .ghcb_gpa = GHCB, .req_gpa = REQ, .rsp_gpa = RSP,
                                    .certs_gpa = CERTS, .certs_pages = 4, .vmpck = 0};
    struct mc_snp_guest *g = NULL;
    struct mc_error e = {0};
    CHECK_MSG(mc_snp_guest_create(mc_vm_vcpu(vm, 0), &c, &g, &e) == MC_OK, "%s", e.msg);
    return g;
}

static int report(struct mc_vm *vm, uint8_t fill, struct mc_snp_report *r)
{
    struct mc_snp_guest *g = chan(vm);
    if (!g)
        return -1;
    uint8_t rd[64], raw[MC_SNP_REPORT_SIZE];
    memset(rd, fill, sizeof rd);
    uint32_t st = 1;
    struct mc_error e = {0};
    mc_status s = mc_snp_guest_report(g, rd, 0, 0, raw, &st, &e);
    mc_snp_guest_destroy(g);
    CHECK_MSG(s == MC_OK && st == 0, "report: %s (status %u)", e.msg, st);
    return s || st || mc_snp_report_decode(raw, sizeof raw, r, NULL) ? -1 : 0;
}

static bool contains(const uint8_t *h, size_t n, const uint8_t *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(h + i, needle, k) == 0)
            return true;
    return false;
}

static uint8_t *file;
static size_t flen;
static uint8_t ld[48], vmpck0[32];
static uint32_t seq_before;

/* Launch, use and save the guest on a board of the chip; the board is destroyed afterwards. */
static void make_saved(void)
{
    struct sfw t;
    CHECK(up(&t, NULL, state) == 0);
    struct mc_vm_config c = {.vcpus = 1, .mem_size = MEM, .snp = true, .snp_policy = POLICY};
    struct mc_vm *vm = NULL;
    CHECK_MSG(mc_vm_create(mc_board_vmm(t.b), &c, &vm, NULL, &t.err) == MC_OK, "%s", t.err.msg);
    uint8_t page[4096], cpuid[4096] = {0}, vmsa[4096], host_data[32];
    memset(page, 0x5A, sizeof page);
    memset(host_data, 0xC3, 32);
    mc_put_le32(cpuid, 1);
    mc_put_le32(cpuid + 0x10 + 0x18, 0x10);
    struct mc_vmsa_params p = {.eip = 0xfffffff0u, .sev_features = MC_SEV_FEATURES_SNP_ACTIVE, .vcpu_sig = 0x00A00F11};
    mc_vmsa_build(&p, vmsa);
    CHECK_MSG(!mc_vm_snp_launch_update(vm, 0, page, sizeof page, MC_SNP_PT_NORMAL, 0, &t.err) &&
                  !mc_vm_snp_launch_update(vm, SECRETS, NULL, 4096, MC_SNP_PT_SECRETS, 0, &t.err) &&
                  !mc_vm_snp_launch_update(vm, CPUID_PG, cpuid, 4096, MC_SNP_PT_CPUID, 0, &t.err) &&
                  !mc_vm_snp_launch_update(vm, DATA, NULL, 4096, MC_SNP_PT_ZERO, 0, &t.err) &&
                  !mc_vm_snp_launch_vmsa(vm, 0, vmsa, &t.err) &&
                  !mc_vm_snp_launch_finish(vm, NULL, NULL, 0, host_data, &t.err),
              "launch: %s", t.err.msg);
    struct mc_snp_report r;
    CHECK(report(vm, 0x11, &r) == 0);
    memcpy(ld, r.measurement, 48);
    struct mc_vcpu *v = mc_vm_vcpu(vm, 0);
    struct mc_fault f;
    uint8_t secret[4096];
    memset(secret, 0xA7, sizeof secret);
    memcpy(secret, "private words of the guest", 26);
    CHECK(mc_guest_phys_write(v, DATA, true, secret, sizeof secret, &f, NULL) == MC_OK);
    CHECK(mc_guest_phys_read(v, SECRETS + MC_SNP_SECRETS_VMPCK0, true, vmpck0, 32, &f, NULL) == MC_OK);
    uint8_t b4[4];
    CHECK(mc_guest_phys_read(v, SECRETS + MC_SNP_SECRETS_OS_SEQNO, true, b4, 4, &f, NULL) == MC_OK);
    seq_before = mc_le32(b4);
    CHECK_EQ_U64(seq_before, 2);
    uint8_t shared[4096];
    memset(shared, 0x3C, sizeof shared);
    CHECK(mc_vm_host_write(vm, SHARED, shared, sizeof shared, NULL) == MC_OK);
    uint32_t guests = mc_psp_snp_guest_count(t.psp);
    /* A checkpoint first: the guest keeps running and asks for another report. */
    const uint64_t ranges1[1][2] = {{SHARED, 4096}};
    struct mc_migrate_opts ck = {.shared = ranges1, .nshared = 1, .keep_running = true};
    uint8_t *cf = NULL;
    size_t cl = 0;
    struct mc_error ce = {0};
    CHECK_MSG(mc_guest_save(t.b, &vm, &ck, &cf, &cl, &ce) == MC_OK, "checkpoint: %s", ce.msg);
    CHECK(vm != NULL && cf != NULL);
    CHECK_EQ_U64(mc_psp_snp_guest_count(t.psp), guests);
    free(cf);
    CHECK(report(vm, 0x33, &r) == 0 && memcmp(r.measurement, ld, 48) == 0);
    CHECK(mc_guest_phys_read(v, SECRETS + MC_SNP_SECRETS_OS_SEQNO, true, b4, 4, &f, NULL) == MC_OK);
    seq_before = mc_le32(b4);
    CHECK_EQ_U64(seq_before, 4);
    const uint64_t ranges[1][2] = {{SHARED, 4096}};
    struct mc_migrate_opts o = {.shared = ranges, .nshared = 1};
    struct mc_error e = {0};
    CHECK_MSG(mc_guest_save(t.b, &vm, &o, &file, &flen, &e) == MC_OK, "save: %s", e.msg);
    CHECK(vm == NULL);
    CHECK_EQ_U64(mc_psp_snp_guest_count(t.psp), guests - 1);
    sfw_close(&t);

    /* What the hypervisor's file holds: no plaintext of private pages, no VMPCK. */
    CHECK(!contains(file, flen, (const uint8_t *)"private words of the guest", 26));
    CHECK(!contains(file, flen, page, 64));
    CHECK(!contains(file, flen, vmpck0, 32));
    CHECK(contains(file, flen, shared, 64)); /* the shared page is the hypervisor's view */
    struct mc_guest_file_info gi;
    CHECK_MSG(mc_guest_file_info(file, flen, &gi, &e) == MC_OK, "%s", e.msg);
    CHECK_EQ_U64(gi.kind, MC_GUEST_KIND_SNP);
    CHECK_EQ_U64(gi.vcpus, 1);
    CHECK_EQ_U64(gi.mem_size, MEM);
    CHECK_EQ_U64(gi.policy, POLICY);
    CHECK_EQ_U64(gi.nshared, 1);
    CHECK(strcmp(gi.platform, "milan") == 0);
}

/* Restore on a board of the chip; shift > 0 puts another VM first so the RAM lands elsewhere. */
static void restore_ok(bool shift)
{
    struct sfw t;
    CHECK(up(&t, NULL, state) == 0);
    struct mc_vm *first = NULL, *vm = NULL;
    if (shift) {
        struct mc_vm_config c = {.vcpus = 1, .mem_size = 2ull << 20, .snp = true, .snp_policy = POLICY};
        CHECK(mc_vm_create(mc_board_vmm(t.b), &c, &first, NULL, NULL) == MC_OK);
    }
    struct mc_error e = {0};
    struct mc_guest_file_info gi;
    CHECK_MSG(mc_guest_restore(t.b, file, flen, &vm, &gi, &e) == MC_OK, "restore: %s", e.msg);
    if (!vm) {
        mc_vm_destroy(first);
        sfw_close(&t);
        return;
    }
    CHECK(mc_vm_is_snp(vm));
    uint64_t sg = 0;
    CHECK(mc_vm_snp_secrets(vm, &sg) && sg == SECRETS);
    struct mc_vcpu *v = mc_vm_vcpu(vm, 0);
    struct mc_fault f;
    uint8_t b[4096], want[4096];
    memset(want, 0xA7, sizeof want);
    memcpy(want, "private words of the guest", 26);
    CHECK(mc_guest_phys_read(v, DATA, true, b, sizeof b, &f, NULL) == MC_OK && memcmp(b, want, sizeof b) == 0);
    memset(want, 0x5A, sizeof want);
    CHECK(mc_guest_phys_read(v, 0, true, b, sizeof b, &f, NULL) == MC_OK && memcmp(b, want, sizeof b) == 0);
    memset(want, 0x3C, sizeof want);
    CHECK(mc_guest_phys_read(v, SHARED, false, b, sizeof b, &f, NULL) == MC_OK && memcmp(b, want, sizeof b) == 0);
    uint8_t k[32];
    CHECK(mc_guest_phys_read(v, SECRETS + MC_SNP_SECRETS_VMPCK0, true, k, 32, &f, NULL) == MC_OK &&
          memcmp(k, vmpck0, 32) == 0);
    /* The hypervisor still sees ciphertext of the private page. */
    CHECK(mc_vm_host_read(vm, DATA, b, 16, NULL) == MC_OK && memcmp(b, "private words", 13) != 0);
    /* The channel continues: the firmware's sequence number and the guest's agree. */
    struct mc_snp_report r;
    CHECK(report(vm, 0x22, &r) == 0);
    CHECK(memcmp(r.measurement, ld, 48) == 0);
    uint8_t rd[64];
    memset(rd, 0x22, 64);
    CHECK(memcmp(r.report_data, rd, 64) == 0);
    uint8_t hd[32];
    memset(hd, 0xC3, 32);
    CHECK(memcmp(r.host_data, hd, 32) == 0);
    uint8_t b4[4];
    CHECK(mc_guest_phys_read(v, SECRETS + MC_SNP_SECRETS_OS_SEQNO, true, b4, 4, &f, NULL) == MC_OK);
    CHECK_EQ_U64(mc_le32(b4), seq_before + 2);
    uint8_t raw[MC_SNP_REPORT_SIZE];
    char vd[300];
    snprintf(vd, sizeof vd, "%s/roots", dir);
    CHECK(mkdir(vd, 0700) == 0 || errno == EEXIST);
    struct mc_snp_identity *id = mc_psp_snp_identity(t.psp, NULL);
    CHECK(id != NULL);
    struct mc_snp_guest *g = chan(vm);
    uint32_t st = 1;
    CHECK(g && mc_snp_guest_report(g, rd, 0, 0, raw, &st, NULL) == MC_OK && st == 0);
    mc_snp_guest_destroy(g);
    CHECK_MSG(snp_verify_exported(id, raw, vd, &e) == MC_OK, "%s", e.msg);
    mc_vm_destroy(vm);
    mc_vm_destroy(first);
    sfw_close(&t);
}

static void restore_ok_same(void) { restore_ok(false); }
static void restore_ok_moved(void) { restore_ok(true); }

static void refused(const uint8_t *f, size_t n, mc_status want, const char *why, sfw_tweak_fn tweak)
{
    struct sfw t;
    CHECK(up(&t, tweak, tweak ? NULL : state) == 0);
    uint32_t guests = mc_psp_snp_guest_count(t.psp);
    uint64_t pages = mc_rmp_asid_pages(t.rmp, 1);
    struct mc_vm *vm = NULL;
    struct mc_error e = {0};
    mc_status s = mc_guest_restore(t.b, f, n, &vm, NULL, &e);
    CHECK_MSG(s == want, "%s: got %s (%s), want %s", why, mc_status_name(s), e.msg, mc_status_name(want));
    if (s == MC_OK) {
        CHECK(vm != NULL);
        mc_vm_destroy(vm);
    } else {
        CHECK(vm == NULL);
        CHECK(e.msg[0] != 0);
        CHECK_EQ_U64(mc_psp_snp_guest_count(t.psp), guests);
        CHECK_EQ_U64(mc_rmp_asid_pages(t.rmp, 1), pages);
    }
    sfw_close(&t);
}

static void hostile(void)
{
    uint8_t *f = malloc(flen);
    uint32_t hlen = mc_le32(file + 0x10);
    size_t sealed = hlen + MC_GUEST_SNP_HDR, recs = sealed + MC_GUEST_SNP_SEALED;
    struct {
        size_t off;
        mc_status want;
        const char *why;
    } flips[] = {
        {sealed + 20, MC_E_VERIFY, "sealed context"},
        {sealed + 4, MC_E_VERIFY, "IV"},
        {recs + MC_PSP_HIB_REC_HDR + 100, MC_E_VERIFY, "a private frame"},
        {recs + 0x18, MC_E_VERIFY, "a private page's Validated flag"},
        {recs + 0x1D, MC_E_VERIFY, "a private page's VMPL1 permissions"},
        {hlen + 0x18, MC_E_VERIFY, "the policy in the payload header"},
        {hlen + 0x3A, MC_E_VERIFY, "the page-table pool"},
        {hlen + 0x10, MC_E_FORMAT, "the memory size (not 2 MiB)"},
        {hlen + 0x60, MC_E_FORMAT, "reserved payload bytes"},
        {hlen + 0x0D, MC_E_FORMAT, "vCPU count"},
        {hlen + 0x0C, MC_E_VERIFY, "vCPU count within range (authenticated)"},
        {hlen + 0x21, MC_E_FORMAT, "record count"},
        {0x0C, MC_E_FORMAT, "file kind"},
        {0x40, MC_E_VERIFY, "chip id"},
        {flen - 2, MC_OK, "a shared page's byte (the hypervisor's own)"},
    };
    for (size_t i = 0; i < sizeof flips / sizeof *flips; i++) {
        memcpy(f, file, flen);
        f[flips[i].off] ^= 0x02;
        refused(f, flen, flips[i].want, flips[i].why, NULL);
    }
    /* A private record moved to another guest page: the digest. */
    memcpy(f, file, flen);
    mc_put_le64(f + recs + 8, 0x100000);
    refused(f, flen, MC_E_VERIFY, "a private page moved", NULL);
    /* The shared record moved onto a private page: refused before anything runs. */
    memcpy(f, file, flen);
    size_t last = flen - MC_GUEST_SNP_REC;
    mc_put_le64(f + last + 8, DATA);
    refused(f, flen, MC_E_FORMAT, "a shared page over a private one", NULL);
    refused(file, flen - 1, MC_E_FORMAT, "truncated", NULL);
    refused(file, hlen + 0x40, MC_E_FORMAT, "truncated header", NULL);
    refused(file, flen, MC_E_VERIFY, "another chip", other_seed);
    /* Another chip named in the header: its firmware cannot open the sealed context. */
    struct sfw t;
    CHECK(up(&t, other_seed, NULL) == 0);
    const struct mc_sev_identity *id = mc_psp_identity(t.psp, NULL);
    memcpy(f, file, flen);
    CHECK(id && mc_sev_identity_get_id(id, f + 0x40, NULL) == MC_OK);
    sfw_close(&t);
    refused(f, flen, MC_E_VERIFY, "another chip's id in the header", other_seed);
    free(f);
}

int main(void)
{
    if (snp_tmpdir(dir, sizeof dir, "test_snp_save"))
        return 1;
    snprintf(state, sizeof state, "%s/chip.state", dir);
    RUN(make_saved);
    if (file) {
        RUN(restore_ok_same);
        RUN(restore_ok_moved);
        RUN(hostile);
    }
    free(file);
    snp_tmpdir_remove(dir);
    return check_summary();
}
