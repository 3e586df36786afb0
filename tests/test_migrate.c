/* Live migration between two emulated platforms (memcrypt/migrate.h), in the shape of Linux's
 * KVM migration selftests where they apply to the firmware: a guest launched on one board, its
 * OS writing private and shared memory, moved to a second board in this process (packet by packet)
 * and through a stream (as to a file); the guest reads its memory back on the target, the
 * stream holds no plaintext, the source guest is gone. Refusals: a tampered packet (MAC), a
 * replayed, reordered or dropped packet, a truncated stream (no FINAL), a stream for another
 * guest, NOSEND, DOMAIN with another owner, a target chain that does not verify; each leaves no
 * guest on the target and (before SEND_FINISH) the guest running on the source. A property
 * test: random memory, random corruption: the target has exactly the source's plaintext or no
 * guest. */
#include <stdlib.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/guest.h>
#include <memcrypt/migrate.h>

#include "check.h"

#define MEM (4ull << 20)
#define G_PT 0x100000ull
#define G_DATA 0x200000ull /* 64 KiB of private data */
#define G_SHARED 0x300000ull
#define VA 0x40000000ull

struct plat {
    struct mc_board *b;
};

/* Boards are made once per seed (a chip makes its emulated AMD roots on first use) and snapshotted
 * after INIT with their identity; each plat_open restores one (memcrypt/board.h). */
#define NCACHE 4
static struct {
    const char *seed;
    struct mc_board *b;
    struct mc_board_snapshot *snap;
} cache[NCACHE];

static int plat_make(const char *seed, struct mc_board **out)
{
    struct mc_board_config c;
    struct mc_error err;
    if (mc_board_config_init(&c, "milan", &err))
        return -1;
    c.machine.dram_size = 64ull << 20;
    c.machine.seed = (const uint8_t *)seed;
    c.machine.seed_len = strlen(seed);
    c.fw.root_bits = 2048;
    c.fw.num_cores = 1;
    c.pool_base = 4ull << 20;
    struct mc_board *b;
    if (mc_board_create(&c, &b, &err)) {
        fprintf(stderr, "board: %s\n", err.msg);
        return -1;
    }
    uint8_t i[sizeof(struct mc_sev_init)] = {0};
    mc_put_le32(i, MC_SEV_INIT_FLAG_ES);
    mc_put_le64(i + offsetof(struct mc_sev_init, tmr_paddr), 1ull << 20);
    mc_put_le32(i + offsetof(struct mc_sev_init, tmr_len), MC_SEV_TMR_LEN);
    if (mc_board_fw(b, MC_SEV_CMD_INIT, i, sizeof i, NULL, &err) || mc_board_df_flush(b, NULL, &err) ||
        !mc_psp_identity(mc_board_psp(b), &err)) {
        fprintf(stderr, "init: %s\n", err.msg);
        mc_board_destroy(b);
        return -1;
    }
    *out = b;
    return 0;
}

static int plat_open(struct plat *p, const char *seed)
{
    memset(p, 0, sizeof *p);
    for (unsigned i = 0; i < NCACHE; i++) {
        if (cache[i].seed && !strcmp(cache[i].seed, seed)) {
            p->b = cache[i].b;
            return mc_board_restore(p->b, cache[i].snap, NULL) == MC_OK ? 0 : -1;
        }
        if (!cache[i].seed) {
            if (plat_make(seed, &cache[i].b) || mc_board_snapshot(cache[i].b, &cache[i].snap, NULL))
                return -1;
            cache[i].seed = seed;
            p->b = cache[i].b;
            return 0;
        }
    }
    return plat_make(seed, &p->b); /* not cached: the caller's plat_close frees it */
}

static void plat_close(struct plat *p)
{
    for (unsigned i = 0; i < NCACHE; i++)
        if (cache[i].b == p->b)
            return;
    mc_board_destroy(p->b);
}

static void plat_free_all(void)
{
    for (unsigned i = 0; i < NCACHE; i++) {
        mc_board_snapshot_free(cache[i].snap);
        mc_board_destroy(cache[i].b);
    }
}

/* A guest launched, measured, finished; its OS maps G_DATA private and G_SHARED shared and fills
 * them from `seed` (the data also goes to want[0x10000]). */
static struct mc_vm *guest_up(struct plat *p, uint32_t policy, unsigned seed, uint8_t *want)
{
    struct mc_error err;
    struct mc_vm_config vc = {.vcpus = 2, .mem_size = MEM, .policy = policy};
    struct mc_vm *vm = NULL;
    if (mc_vm_create(mc_board_vmm(p->b), &vc, &vm, NULL, &err)) {
        fprintf(stderr, "create: %s\n", err.msg);
        return NULL;
    }
    uint8_t img[4096], m[0x30];
    memset(img, 0x90, sizeof img);
    mc_status s = mc_vm_launch_update(vm, 0, img, sizeof img, 0, NULL, NULL, &err);
    if (!s && (policy & MC_SEV_POLICY_ES))
        for (unsigned i = 0; !s && i < 2; i++) {
            uint8_t vmsa[4096] = {0};
            vmsa[0] = (uint8_t)(0xA0 + i);
            s = mc_vm_launch_update_vmsa(vm, i, vmsa, &err);
        }
    if (!s)
        s = mc_vm_launch_measure(vm, m, &err);
    if (!s)
        s = mc_vm_launch_finish(vm, &err);
    if (!s)
        s = mc_guest_paging_init(vm, G_PT, 0x10000, &err);
    if (!s)
        s = mc_guest_map(vm, VA, G_DATA, 0x10000, MC_GUEST_MAP_WRITE, &err);
    if (!s)
        s = mc_guest_map(vm, VA + 0x100000, G_SHARED, 0x1000, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_SHARED, &err);
    srand(seed);
    for (size_t i = 0; i < 0x10000; i++)
        want[i] = (uint8_t)rand();
    struct mc_fault f;
    if (!s)
        s = mc_guest_store(mc_vm_vcpu(vm, 0), VA, want, 0x10000, false, &f, &err);
    if (!s)
        s = mc_guest_store(mc_vm_vcpu(vm, 1), VA + 0x100000, "shared with the hypervisor", 27, false, &f, &err);
    if (s) {
        fprintf(stderr, "guest: %s\n", err.msg);
        mc_vm_destroy(vm);
        return NULL;
    }
    return vm;
}

/* What the guest finds: 0 all as the source left it; 1 its private memory differs (read
 * physically with its key, so this does not depend on the hypervisor-held registers); 2 only the
 * shared page differs; 3 its own page tables / registers no longer lead to its data. */
static int guest_state(struct mc_vm *vm, const uint8_t *want)
{
    uint8_t *got = malloc(0x10000), sh[27];
    struct mc_fault f;
    struct mc_error err;
    int r = 0;
    if (!got || mc_guest_phys_read(mc_vm_vcpu(vm, 0), G_DATA, true, got, 0x10000, &f, &err) != MC_OK ||
        memcmp(got, want, 0x10000))
        r = 1;
    else if (mc_guest_phys_read(mc_vm_vcpu(vm, 0), G_SHARED, false, sh, sizeof sh, &f, &err) != MC_OK ||
             memcmp(sh, "shared with the hypervisor", 27))
        r = 2;
    else if (mc_guest_load(mc_vm_vcpu(vm, 1), VA, got, 0x10000, false, &f, &err) != MC_OK ||
             memcmp(got, want, 0x10000) ||
             mc_guest_load(mc_vm_vcpu(vm, 0), VA + 0x100000, sh, sizeof sh, false, &f, &err) != MC_OK ||
             memcmp(sh, "shared with the hypervisor", 27))
        r = 3;
    free(got);
    return r;
}

/* The guest, on whatever board it now runs, reads its memory back through its own page tables. */
static int guest_check(struct mc_vm *vm, const uint8_t *want) { return guest_state(vm, want) == 0; }

static const uint64_t shared_ranges[][2] = {{G_SHARED, 0x1000}};
static const struct mc_migrate_opts opts = {.shared = shared_ranges, .nshared = 1};

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(hay + i, needle, m))
            return true;
    return false;
}

static void test_in_process_policy(uint32_t policy)
{
    struct plat a, b;
    CHECK(plat_open(&a, "migrate-src") == 0 && plat_open(&b, "migrate-dst") == 0);
    uint8_t *want = malloc(0x10000);
    struct mc_vm *vm = guest_up(&a, policy, 7, want), *moved = NULL;
    CHECK(vm != NULL);
    uint32_t handle = mc_vm_handle(vm);
    struct mc_error err;
    struct mc_migrate_stats st;
    CHECK_MSG(mc_migrate(a.b, &vm, b.b, &opts, &moved, &st, &err) == MC_OK, "%s", err.msg);
    CHECK(vm == NULL && moved != NULL);
    CHECK(st.packets == MEM / 4096 - 1 + ((policy & MC_SEV_POLICY_ES) ? 2 : 0) && st.shared_bytes == 4096);
    if (moved) {
        CHECK(guest_check(moved, want));
        uint8_t gs[sizeof(struct mc_sev_guest_status)] = {0};
        mc_put_le32(gs, mc_vm_handle(moved));
        CHECK(mc_board_fw(b.b, MC_SEV_CMD_GUEST_STATUS, gs, sizeof gs, NULL, &err) == MC_OK &&
              gs[offsetof(struct mc_sev_guest_status, state)] == MC_SEV_GSTATE_RUNNING);
        /* The guest keeps running: it writes and reads on the target. */
        struct mc_fault f;
        uint8_t x[16] = "after migration", y[16];
        CHECK(mc_guest_store(mc_vm_vcpu(moved, 0), VA + 0x8000, x, 16, false, &f, &err) == MC_OK &&
              mc_guest_load(mc_vm_vcpu(moved, 1), VA + 0x8000, y, 16, false, &f, &err) == MC_OK && !memcmp(x, y, 16));
    }
    /* The source guest is gone. */
    uint8_t gs[sizeof(struct mc_sev_guest_status)] = {0};
    mc_put_le32(gs, handle);
    CHECK(mc_board_fw(a.b, MC_SEV_CMD_GUEST_STATUS, gs, sizeof gs, NULL, &err) == MC_OK &&
          gs[offsetof(struct mc_sev_guest_status, state)] == 0);
    mc_vm_destroy(moved);
    free(want);
    plat_close(&a);
    plat_close(&b);
}

/* Send into a buffer; optionally alter it; receive. Returns the receive status. */
typedef void (*alter_fn)(struct mc_migrate_buf *s, void *ctx);

static size_t rec_offset(const struct mc_migrate_buf *s, unsigned n) /* offset of record n */
{
    size_t off = MC_MIGRATE_HDR_FIXED + 32 * mc_le32(s->data + 0x20);
    for (unsigned i = 0; i < n; i++)
        off += MC_MIGRATE_REC_HDR + mc_le32(s->data + off + 4) + mc_le32(s->data + off + 16);
    return off;
}

static int last_state; /* guest_state() of the last successful receive */

static mc_status via_stream(uint32_t policy, alter_fn alter, void *actx, struct mc_error *err, uint32_t *fw,
                            bool *plain_leak, bool ext)
{
    struct plat a, b;
    if (plat_open(&a, "migrate-src") || plat_open(&b, "migrate-dst"))
        return MC_E_STATE;
    uint8_t *want = malloc(0x10000);
    struct mc_vm *vm = guest_up(&a, policy, 11, want), *moved = NULL;
    struct mc_migrate_target t;
    struct mc_migrate_buf s = {0};
    struct mc_migrate_stats st = {0};
    struct mc_migrate_opts o = opts;
    o.spec_headers = !ext;
    mc_status rc = mc_migrate_target_info(b.b, &t, err);
    if (!rc)
        rc = mc_migrate_send(a.b, &vm, &t, &o, mc_migrate_buf_write, &s, &st, err);
    if (plain_leak)
        *plain_leak = contains(s.data, s.len, want, 64) || contains(s.data, s.len, want + 0x8000, 64);
    if (!rc) {
        if (alter)
            alter(&s, actx);
        rc = mc_migrate_receive(b.b, mc_migrate_buf_read, &s, &moved, &st, err);
        last_state = rc ? -1 : guest_state(moved, want);
        if (!rc && last_state && !alter)
            rc = mc_seterr(err, MC_E_VERIFY, "the guest's memory differs after migration");
    }
    if (fw)
        *fw = st.last_fw_status;
    /* A refused stream leaves no guest on the target. */
    if (rc && moved)
        rc = mc_seterr(err, MC_E_STATE, "a guest was left after a refusal");
    mc_vm_destroy(moved);
    mc_vm_destroy(vm);
    mc_migrate_buf_free(&s);
    free(want);
    plat_close(&a);
    plat_close(&b);
    return rc;
}

static void flip_payload(struct mc_migrate_buf *s, void *ctx)
{
    size_t off = rec_offset(s, *(unsigned *)ctx);
    s->data[off + MC_MIGRATE_REC_HDR + mc_le32(s->data + off + 4) + 100] ^= 1;
}

static void replay(struct mc_migrate_buf *s, void *ctx)
{
    /* Record k overwrites record k+1 (same size): the same packet twice. */
    unsigned k = *(unsigned *)ctx;
    size_t a = rec_offset(s, k), b = rec_offset(s, k + 1), n = b - a;
    memcpy(s->data + b, s->data + a, n);
}

static void swap_two(struct mc_migrate_buf *s, void *ctx)
{
    unsigned k = *(unsigned *)ctx;
    size_t a = rec_offset(s, k), b = rec_offset(s, k + 1), n = b - a;
    uint8_t *tmp = malloc(n);
    memcpy(tmp, s->data + a, n);
    memmove(s->data + a, s->data + b, n);
    memcpy(s->data + a + n, tmp, n);
    free(tmp);
    /* where fields swapped with their packets: the packets land at the right addresses */
}

static void drop_last_packet(struct mc_migrate_buf *s, void *ctx)
{
    (void)ctx;
    /* records: ..., last DATA, END. Remove the last DATA and fix END's count: still refused. */
    unsigned n = 0;
    while (mc_le32(s->data + rec_offset(s, n)) != MC_MIGRATE_REC_END)
        n++;
    size_t a = rec_offset(s, n - 1), e = rec_offset(s, n);
    memmove(s->data + a, s->data + e, s->len - e);
    s->len -= e - a;
    mc_put_le64(s->data + a + 8, n - 1);
}

static void truncate_half(struct mc_migrate_buf *s, void *ctx)
{
    (void)ctx;
    s->len /= 2;
}

static void test_stream(void)
{
    struct mc_error err;
    uint32_t fw = 0;
    bool leak = true;
    CHECK_MSG(via_stream(MC_SEV_POLICY_SEV, NULL, NULL, &err, &fw, &leak, true) == MC_OK, "%s", err.msg);
    CHECK(!leak); /* the hypervisor's view of the stream holds no plaintext */
    CHECK_MSG(via_stream(MC_SEV_POLICY_ES, NULL, NULL, &err, &fw, &leak, true) == MC_OK, "ES: %s", err.msg);
    CHECK(!leak);
    CHECK_MSG(via_stream(0, NULL, NULL, &err, &fw, &leak, false) == MC_OK, "spec headers: %s", err.msg);

    unsigned k = 600; /* a DATA packet inside G_DATA */
    CHECK(via_stream(0, flip_payload, &k, &err, &fw, NULL, true) == MC_E_FIRMWARE && fw == MC_FW_BAD_MEASUREMENT);
    CHECK(strstr(err.msg, "RECEIVE_UPDATE_DATA") && strstr(err.msg, "MAC"));
    CHECK(via_stream(0, flip_payload, &k, &err, &fw, NULL, false) == MC_E_FIRMWARE && fw == MC_FW_BAD_MEASUREMENT);
    CHECK(via_stream(0, replay, &k, &err, &fw, NULL, true) == MC_E_FIRMWARE && fw == MC_FW_BAD_MEASUREMENT);
    CHECK(strstr(err.msg, "replayed") != NULL);
    CHECK(via_stream(0, swap_two, &k, &err, &fw, NULL, true) == MC_E_FIRMWARE && fw == MC_FW_BAD_MEASUREMENT);
    CHECK(via_stream(0, drop_last_packet, NULL, &err, &fw, NULL, true) == MC_E_FIRMWARE &&
          fw == MC_FW_BAD_MEASUREMENT);
    CHECK_MSG(strstr(err.msg, "FINAL") != NULL, "%s", err.msg);
    CHECK(via_stream(0, truncate_half, NULL, &err, &fw, NULL, true) == MC_E_FORMAT);
    CHECK(strstr(err.msg, "truncated") != NULL);
}

static void test_refusals(void)
{
    struct plat a, b, c;
    CHECK(plat_open(&a, "migrate-src") == 0 && plat_open(&b, "migrate-dst") == 0);
    uint8_t *want = malloc(0x10000);
    struct mc_error err;
    struct mc_vm *moved = NULL;
    /* NOSEND: refused at SEND_START; the guest runs on at the source. */
    struct mc_vm *vm = guest_up(&a, MC_SEV_POLICY_NOSEND, 3, want);
    CHECK(mc_migrate(a.b, &vm, b.b, &opts, &moved, NULL, &err) == MC_E_FIRMWARE && vm && !moved);
    CHECK(strstr(err.msg, "SEND_START") && strstr(err.msg, "POLICY_FAILURE") && strstr(err.msg, "NOSEND"));
    CHECK(guest_check(vm, want));
    mc_vm_destroy(vm);
    /* DOMAIN: the target has another owner (its own self-signed OCA). */
    vm = guest_up(&a, MC_SEV_POLICY_DOMAIN, 4, want);
    CHECK(mc_migrate(a.b, &vm, b.b, &opts, &moved, NULL, &err) == MC_E_FIRMWARE && vm && !moved);
    CHECK(strstr(err.msg, "POLICY_FAILURE") && strstr(err.msg, "OCA"));
    CHECK(guest_check(vm, want));
    mc_vm_destroy(vm);
    /* SEV: a target whose PDH is not signed by its PEK. */
    vm = guest_up(&a, MC_SEV_POLICY_SEV, 5, want);
    struct mc_migrate_target t;
    struct mc_migrate_buf s = {0};
    CHECK(mc_migrate_target_info(b.b, &t, &err) == MC_OK);
    t.pdh[0x41C + 5] ^= 0x40; /* the PEK's signature over the PDH */
    CHECK(mc_migrate_send(a.b, &vm, &t, &opts, mc_migrate_buf_write, &s, NULL, &err) == MC_E_FIRMWARE && vm);
    CHECK_MSG(strstr(err.msg, "BAD_SIGNATURE") != NULL, "%s", err.msg);
    CHECK(s.len == 0); /* nothing left the source */
    CHECK(guest_check(vm, want));
    /* A stream made for one target, received by another platform: its PDH cannot open the session. */
    CHECK(plat_open(&c, "migrate-third") == 0);
    CHECK(mc_migrate_target_info(b.b, &t, &err) == MC_OK);
    CHECK(mc_migrate_send(a.b, &vm, &t, &opts, mc_migrate_buf_write, &s, NULL, &err) == MC_OK && !vm);
    struct mc_migrate_stats st;
    CHECK(mc_migrate_receive(c.b, mc_migrate_buf_read, &s, &moved, &st, &err) == MC_E_FIRMWARE && !moved);
    CHECK(st.last_fw_status == MC_FW_BAD_MEASUREMENT && strstr(err.msg, "RECEIVE_START"));
    /* ... and the right target takes it. */
    s.pos = 0;
    CHECK_MSG(mc_migrate_receive(b.b, mc_migrate_buf_read, &s, &moved, &st, &err) == MC_OK, "%s", err.msg);
    CHECK(moved && guest_check(moved, want));
    mc_vm_destroy(moved);
    /* A stream of another guest's packets spliced into this one: MACs under another TIK. */
    mc_migrate_buf_free(&s);
    plat_close(&c);
    free(want);
    plat_close(&a);
    plat_close(&b);
}

static void splice_foreign(struct mc_migrate_buf *s, void *ctx)
{
    /* Record 600 replaced by record 600 of another migration of the same guest shape. */
    const struct mc_migrate_buf *o = ctx;
    size_t a = rec_offset(s, 600), b = rec_offset(s, 601);
    size_t oa = rec_offset(o, 600);
    memcpy(s->data + a, o->data + oa, b - a);
}

static void test_foreign_packet(void)
{
    /* Make a second stream (another source chip, so other TEK/TIK), take a packet from it. */
    struct plat a, b;
    CHECK(plat_open(&a, "migrate-other-src") == 0 && plat_open(&b, "migrate-dst") == 0);
    uint8_t *want = malloc(0x10000);
    struct mc_vm *vm = guest_up(&a, 0, 11, want);
    struct mc_migrate_target t;
    struct mc_migrate_buf other = {0};
    struct mc_error err;
    CHECK(mc_migrate_target_info(b.b, &t, &err) == MC_OK &&
          mc_migrate_send(a.b, &vm, &t, &opts, mc_migrate_buf_write, &other, NULL, &err) == MC_OK);
    free(want);
    plat_close(&a);
    plat_close(&b);
    uint32_t fw = 0;
    CHECK(via_stream(0, splice_foreign, &other, &err, &fw, NULL, true) == MC_E_FIRMWARE &&
          fw == MC_FW_BAD_MEASUREMENT);
    mc_migrate_buf_free(&other);
}

/* Property: random guest memory, a random byte of the stream corrupted (or none): the target has
 * exactly the source's private plaintext, or the stream is refused and no guest is left. What
 * the hypervisor owns anyway may change without a refusal: the shared page's bytes (plaintext it
 * could always write) and the vCPU registers of a plain SEV guest (its VMCB). */
struct corrupt {
    size_t at;
    uint8_t x;
    uint32_t rec_type; /* type of the record the byte fell in (0: the stream header) */
};
static void corrupt_at(struct mc_migrate_buf *s, void *ctx)
{
    struct corrupt *c = ctx;
    c->at %= s->len;
    size_t off = MC_MIGRATE_HDR_FIXED + 32 * mc_le32(s->data + 0x20);
    c->rec_type = 0;
    for (unsigned n = 0; c->at >= off && off < s->len; n++) {
        size_t next = rec_offset(s, n + 1);
        if (c->at < next) {
            c->rec_type = mc_le32(s->data + off);
            break;
        }
        off = next;
    }
    s->data[c->at] ^= c->x;
}

static void test_property(void)
{
    uint64_t r = 0x9E3779B97F4A7C15ull;
    unsigned ok = 0, refused = 0;
    for (unsigned i = 0; i < 12; i++) {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        struct corrupt c = {.at = (size_t)(r >> 8), .x = (uint8_t)(1u << (r >> 60 & 7))};
        if (i == 0)
            c.x = 0; /* no corruption */
        struct mc_error err = {0};
        mc_status s = via_stream((unsigned)r & MC_SEV_POLICY_ES, corrupt_at, &c, &err, NULL, NULL, true);
        CHECK_MSG(s != MC_E_STATE, "byte %zu: %s", c.at, err.msg); /* a refusal left a guest */
        if (s == MC_OK) {
            ok++;
            /* private memory exactly the source's */
            CHECK_MSG(last_state != 1, "byte %zu (record type %u): private memory differs", c.at, c.rec_type);
            CHECK_MSG(last_state == 0 || (last_state == 2 && c.rec_type == MC_MIGRATE_REC_SHARED) ||
                          (last_state == 3 && c.rec_type == 0),
                      "byte %zu (record type %u): state %d", c.at, c.rec_type, last_state);
        } else {
            refused++;
        }
    }
    CHECK(ok >= 1 && refused >= 1);
}

static void test_in_process(void)
{
    test_in_process_policy(MC_SEV_POLICY_SEV);
    test_in_process_policy(MC_SEV_POLICY_ES);
}

int main(void)
{
    RUN(test_in_process);
    RUN(test_stream);
    RUN(test_refusals);
    RUN(test_foreign_packet);
    RUN(test_property);
    plat_free_all();
    return check_summary();
}
