/* memcrypt demo migrate — live migration of an SEV guest between two emulated chips, and the six
 * ways it is refused or succeeds (memcrypt/migrate.h). Each case starts from fresh boards made from
 * the seed, so a case's outcome does not depend on the others. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/guest.h>
#include <memcrypt/json.h>
#include <memcrypt/migrate.h>
#include <memcrypt/sev_api.h>

#include "cli.h"

#define MEM (4ull << 20)
#define G_PT 0x100000ull
#define G_DATA 0x200000ull
#define G_SHARED 0x300000ull
#define VA 0x40000000ull
static const char SECRET[64] = "the guest's private line: only its key decrypts this............";

struct chip {
    struct mc_board *b;
};

static mc_status chip_up(const char *platform, const char *seed, const char *tag, struct chip *c, struct mc_error *e)
{
    struct mc_board_config cfg;
    mc_status s = mc_board_config_init(&cfg, platform, e);
    if (s)
        return s;
    if (!cfg.firmware || !cfg.hypervisor)
        return mc_seterr(e, MC_E_UNSUPPORTED, "platform '%s' has no AMD SEV", platform);
    char sd[256];
    snprintf(sd, sizeof sd, "%s/%s", seed ? seed : "demo-migrate", tag);
    cfg.machine.dram_size = 64ull << 20;
    cfg.machine.seed = (const uint8_t *)sd;
    cfg.machine.seed_len = strlen(sd);
    cfg.fw.root_bits = 2048; /* the demo's chips make their emulated AMD roots quickly */
    cfg.pool_base = 4ull << 20;
    if ((s = mc_board_create(&cfg, &c->b, e)))
        return s;
    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    if ((s = mc_board_fw(c->b, MC_SEV_CMD_INIT, init, sizeof init, NULL, e)) || (s = mc_board_df_flush(c->b, NULL, e)))
        mc_board_destroy(c->b);
    return s;
}

/* A guest launched and running: its OS maps one private page (the secret line) and one shared page. */
static mc_status guest_up(struct chip *c, uint32_t policy, struct mc_vm **out, struct mc_error *e)
{
    struct mc_vm_config vc = {.vcpus = 1, .mem_size = MEM, .policy = policy};
    struct mc_vm *vm = NULL;
    uint8_t img[4096], m[0x30];
    memset(img, 0xF4, sizeof img);
    struct mc_fault f;
    mc_status s = mc_vm_create(mc_board_vmm(c->b), &vc, &vm, NULL, e);
    if (!s)
        s = mc_vm_launch_update(vm, 0, img, sizeof img, 0, NULL, NULL, e);
    if (!s)
        s = mc_vm_launch_measure(vm, m, e);
    if (!s)
        s = mc_vm_launch_finish(vm, e);
    if (!s)
        s = mc_guest_paging_init(vm, G_PT, 0x10000, e);
    if (!s)
        s = mc_guest_map(vm, VA, G_DATA, 0x1000, MC_GUEST_MAP_WRITE, e);
    if (!s)
        s = mc_guest_map(vm, VA + 0x1000, G_SHARED, 0x1000, MC_GUEST_MAP_WRITE | MC_GUEST_MAP_SHARED, e);
    if (!s)
        s = mc_guest_store(mc_vm_vcpu(vm, 0), VA, SECRET, sizeof SECRET, false, &f, e);
    if (!s)
        s = mc_guest_store(mc_vm_vcpu(vm, 0), VA + 0x1000, "shared", 6, false, &f, e);
    if (s)
        mc_vm_destroy(vm);
    else
        *out = vm;
    return s;
}

static const uint64_t shared[][2] = {{G_SHARED, 0x1000}};
static const struct mc_migrate_opts mopts = {.shared = shared, .nshared = 1};

struct outcome {
    const char *name, *what, *expect;
    bool ok;         /* the case came out as expected */
    char detail[320];
};

static bool contains(const uint8_t *h, size_t n, const void *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (!memcmp(h + i, needle, m))
            return true;
    return false;
}

/* The stream a migration sends, with an optional change before the target receives it. */
enum alter { NONE, TAMPER, REPLAY };

static size_t rec_at(const struct mc_migrate_buf *s, unsigned n)
{
    size_t off = MC_MIGRATE_HDR_FIXED + 32 * (size_t)mc_le32(s->data + 0x20);
    for (unsigned i = 0; i < n && off + MC_MIGRATE_REC_HDR <= s->len; i++)
        off += MC_MIGRATE_REC_HDR + mc_le32(s->data + off + 4) + mc_le32(s->data + off + 16);
    return off;
}

static void run_case(const char *platform, const char *seed, unsigned k, struct outcome *o)
{
    struct mc_error e = {0};
    struct chip a = {0}, b = {0};
    struct mc_vm *vm = NULL, *moved = NULL;
    struct mc_migrate_buf s = {0};
    uint32_t policy = k == 3 ? MC_SEV_POLICY_DOMAIN : k == 4 ? MC_SEV_POLICY_NOSEND : MC_SEV_POLICY_SEV;
    mc_status st = chip_up(platform, seed, "source", &a, &e);
    if (!st)
        st = chip_up(platform, seed, "target", &b, &e);
    if (!st)
        st = guest_up(&a, policy, &vm, &e);
    if (st) {
        snprintf(o->detail, sizeof o->detail, "set-up failed: %.280s", e.msg);
        goto out;
    }
    struct mc_migrate_target t;
    if ((st = mc_migrate_target_info(b.b, &t, &e))) {
        snprintf(o->detail, sizeof o->detail, "set-up failed: %.280s", e.msg);
        goto out;
    }
    if (k == 5)
        t.pdh[0x41C + 7] ^= 0x10; /* the PEK's signature over the target's PDH no longer verifies */
    uint32_t handle = mc_vm_handle(vm);
    st = mc_migrate_send(a.b, &vm, &t, &mopts, mc_migrate_buf_write, &s, NULL, &e);
    if (st) {
        /* refused at the source: the guest must still run there with its memory */
        struct mc_fault f;
        char line[64];
        bool runs = vm && mc_guest_load(mc_vm_vcpu(vm, 0), VA, line, sizeof line, false, &f, NULL) == MC_OK &&
                    !memcmp(line, SECRET, sizeof line);
        o->ok = (k == 3 || k == 4 || k == 5) && runs;
        snprintf(o->detail, sizeof o->detail, "%.240s; the guest runs on at the source: %s", e.msg,
                 runs ? "yes" : "NO");
        goto out;
    }
    bool leak = contains(s.data, s.len, SECRET, 32);
    if (k == 1) { /* flip one bit of a packet's ciphertext: the page holding the secret */
        unsigned n = 0;
        size_t off;
        while ((off = rec_at(&s, n)) + MC_MIGRATE_REC_HDR <= s.len &&
               !(mc_le32(s.data + off) == MC_MIGRATE_REC_DATA && mc_le64(s.data + off + 8) == G_DATA))
            n++;
        s.data[off + MC_MIGRATE_REC_HDR + mc_le32(s.data + off + 4) + 5] ^= 0x01;
    } else if (k == 2) { /* packet 2 sent twice, in the place of packet 3 (same size) */
        size_t p2 = rec_at(&s, 2), p3 = rec_at(&s, 3);
        memcpy(s.data + p3, s.data + p2, p3 - p2);
    }
    struct mc_migrate_stats ms;
    st = mc_migrate_receive(b.b, mc_migrate_buf_read, &s, &moved, &ms, &e);
    if (k == 0) {
        struct mc_fault f;
        char line[64];
        uint8_t gs[sizeof(struct mc_sev_guest_status)] = {0};
        mc_put_le32(gs, handle);
        bool gone = mc_board_fw(a.b, MC_SEV_CMD_GUEST_STATUS, gs, sizeof gs, NULL, NULL) == MC_OK && gs[0x0C] == 0;
        bool read = !st && mc_guest_load(mc_vm_vcpu(moved, 0), VA, line, sizeof line, false, &f, &e) == MC_OK &&
                    !memcmp(line, SECRET, sizeof line);
        o->ok = !st && read && gone && !leak;
        snprintf(o->detail, sizeof o->detail,
                 "%llu packets (%llu bytes) under the transport keys; the stream holds the secret line in clear: "
                 "%s; the guest reads it on the target: %s; the source guest: %s%s%.120s",
                 (unsigned long long)ms.packets, (unsigned long long)ms.bytes, leak ? "YES" : "no",
                 read ? "yes" : "NO", gone ? "gone" : "STILL THERE", st ? "; " : "", st ? e.msg : "");
    } else {
        o->ok = st == MC_E_FIRMWARE && !moved && ms.last_fw_status == MC_FW_BAD_MEASUREMENT;
        snprintf(o->detail, sizeof o->detail, "%.260s; a guest left on the target: %s", st ? e.msg : "ACCEPTED",
                 moved ? "YES" : "no");
    }
out:
    mc_vm_destroy(vm);
    mc_vm_destroy(moved);
    mc_migrate_buf_free(&s);
    mc_board_destroy(a.b);
    mc_board_destroy(b.b);
}

static int run_demo_migrate(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    int rc = mc_args_all(&a, cmd, argc, argv);
    if (rc)
        return rc;
    struct outcome o[6] = {
        {"success", "an SEV guest (policy SEV: the target's chain up to AMD's root is checked) moves to another chip",
         "migrated"},
        {"tampered-packet", "the hypervisor flips one bit of the packet carrying the guest's private page",
         "refused by the packet MAC (RECEIVE_UPDATE_DATA: BAD_MEASUREMENT)"},
        {"replayed-packet", "the hypervisor sends packet 2 again in place of packet 3",
         "refused (RECEIVE_UPDATE_DATA: BAD_MEASUREMENT, out of order)"},
        {"wrong-owner", "policy DOMAIN, the target chip has another owner (OCA)", "refused at SEND_START (POLICY_FAILURE)"},
        {"nosend", "policy NOSEND", "refused at SEND_START (POLICY_FAILURE)"},
        {"bad-target-chain", "policy SEV, the target's PDH is not signed by its PEK",
         "refused at SEND_START (BAD_SIGNATURE)"},
    };
    bool all = true;
    for (unsigned k = 0; k < 6; k++) {
        run_case(a.platform, a.seed, k, &o[k]);
        all &= o[k].ok;
    }
    if (a.json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "platform", a.platform);
        mc_json_arr(&j, "cases");
        for (unsigned k = 0; k < 6; k++) {
            mc_json_obj(&j, NULL);
            mc_json_str(&j, "case", o[k].name);
            mc_json_str(&j, "what", o[k].what);
            mc_json_str(&j, "expected", o[k].expect);
            mc_json_bool(&j, "as_expected", o[k].ok);
            mc_json_str(&j, "detail", o[k].detail);
            mc_json_end(&j);
        }
        mc_json_end(&j);
        mc_json_bool(&j, "all_as_expected", all);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("SEV live migration between two emulated %s chips\n", a.platform);
        for (unsigned k = 0; k < 6; k++)
            printf("\n%u. %s: %s\n   expected: %s\n   %s: %s\n", k + 1, o[k].name, o[k].what, o[k].expect,
                   o[k].ok ? "as expected" : "NOT AS EXPECTED", o[k].detail);
        printf("\nThe hypervisors move ciphertext only: the source firmware re-encrypts each page under the\n"
               "transport keys it wrapped for the target's PDH, and the target's firmware checks every packet\n"
               "before it writes a byte into the new guest.\n");
    }
    return all ? MC_EXIT_OK : MC_EXIT_CHECK;
}

const struct mc_cli_cmd mc_cli_demo_migrate[] = {
    {.path = "demo migrate",
     .summary = "SEV live migration between two chips: success, tampered and replayed packets, DOMAIN, NOSEND, a bad chain",
     .synopsis = "[--seed S] [--platform P] [--json]",
     .about = "Six cases, each on two fresh emulated chips: a guest migrated with its memory intact and the\n"
              "stream ciphertext only; a tampered packet refused by its MAC; a replayed packet refused; a\n"
              "target with another owner refused under policy DOMAIN; policy NOSEND refused at SEND_START; a\n"
              "target whose PDH chain does not verify refused under policy SEV.\n",
     .common = MC_CO_SEED | MC_CO_PLATFORM | MC_CO_JSON,
     .platform_default = "milan",
     .notes = "Exit status: 0 every case came out as expected, 1 one did not.\n",
     .examples = "memcrypt demo migrate --seed 1\n"
                 "memcrypt demo migrate --seed 1 --platform rome --json\n",
     .run = run_demo_migrate},
    {0},
};
