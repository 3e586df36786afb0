/* memcrypt migrate — move a saved SEV / SEV-ES guest from one emulated chip to another
 * (memcrypt/migrate.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/crypto.h>
#include <memcrypt/fileio.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/guest.h>
#include <memcrypt/json.h>
#include <memcrypt/migrate.h>
#include <memcrypt/sev_api.h>

#include "cli.h"
#include "cli_progress.h"
#include "cli_util.h"

#define POOL_BASE (4ull << 20)
#define GUEST_FILE_MAX (64ull << 30)

enum { O_GUEST = 1, O_STREAM, O_TARGET_PLATFORM };

static const struct mc_opt migrate_opts[] = {
    {"guest", 0, "FILE", "the saved guest (memcrypt run --save); rewritten as saved on the target", O_GUEST,
     MC_OPT_FILE | MC_OPT_REQUIRED},
    {"stream", 0, "FILE", "send the stream to this file, then receive it from there (as QEMU's\n"
     "migration to a file); default: in memory", O_STREAM, MC_OPT_FILE},
    {"target-platform", 0, "NAME", "the target's CPU profile (default: the source's)", O_TARGET_PLATFORM, 0},
    {0},
};

/* A chip from its state file, brought up as the Linux driver does (INIT, WBINVD + DF_FLUSH); with
 * SEV-ES when the guest needs it (the TMR from the hypervisor's pool). */
static mc_status open_chip(const char *platform, const char *state, const char *seed, uint64_t mem, bool es,
                           struct mc_board **out, struct mc_error *e)
{
    struct mc_board_config c;
    mc_status s = mc_board_config_init(&c, platform, e);
    if (s)
        return s;
    if (!c.firmware || !c.hypervisor)
        return mc_seterr(e, MC_E_UNSUPPORTED, "platform '%s' has no AMD SEV", platform);
    c.machine.dram_size = POOL_BASE + 2 * mem + (64ull << 20);
    if (seed) {
        c.machine.seed = (const uint8_t *)seed;
        c.machine.seed_len = strlen(seed);
    }
    c.pool_base = POOL_BASE;
    c.fw.state_path = state;
    c.fw.state_wait_ms = mc_cli_state_wait_ms();
    struct mc_board *b = NULL;
    if ((s = mc_board_create(&c, &b, e)))
        return s;
    uint8_t init[sizeof(struct mc_sev_init)] = {0};
    if (es) {
        uint64_t tmr;
        if ((s = mc_vmm_alloc(mc_board_vmm(b), 2 * MC_SEV_TMR_LEN, &tmr, e))) {
            mc_board_destroy(b);
            return s;
        }
        tmr = (tmr + MC_SEV_TMR_LEN - 1) & ~(uint64_t)(MC_SEV_TMR_LEN - 1);
        mc_put_le32(init + offsetof(struct mc_sev_init, flags), MC_SEV_INIT_FLAG_ES);
        mc_put_le64(init + offsetof(struct mc_sev_init, tmr_paddr), tmr);
        mc_put_le32(init + offsetof(struct mc_sev_init, tmr_len), MC_SEV_TMR_LEN);
    }
    if ((s = mc_board_fw(b, MC_SEV_CMD_INIT, init, sizeof init, NULL, e)) || (s = mc_board_df_flush(b, NULL, e))) {
        mc_board_destroy(b);
        return s;
    }
    *out = b;
    return MC_OK;
}

static bool is_shared(const struct mc_guest_file_info *g, uint64_t gpa)
{
    for (size_t i = 0; i < g->nshared; i++)
        if (gpa >= g->shared[i][0] && gpa - g->shared[i][0] < g->shared[i][1])
            return true;
    return false;
}

/* The guest reads all of its memory (private pages with its key, shared ones in the clear) and
 * hashes it page by page: *digest over everything, pages[] (may be NULL) one SHA-256 per page. */
static mc_status guest_read_all(struct mc_vm *vm, const struct mc_guest_file_info *g, uint8_t digest[32],
                                uint8_t (*pages)[32], struct mc_error *e)
{
    struct mc_hashctx *d;
    mc_status s = mc_hashctx_create("SHA256", &d, e);
    if (s)
        return s;
    uint8_t page[4096];
    struct mc_fault f;
    struct mc_vcpu *v = mc_vm_vcpu(vm, 0);
    for (uint64_t gpa = 0; !s && gpa < mc_vm_mem_size(vm); gpa += 4096) {
        s = mc_guest_phys_read(v, gpa, !is_shared(g, gpa), page, sizeof page, &f, e);
        if (!s)
            s = mc_hashctx_update(d, page, sizeof page, e);
        if (!s && pages)
            s = mc_sha256(page, sizeof page, pages[gpa / 4096], e);
    }
    if (!s)
        s = mc_hashctx_final(d, digest, e);
    mc_hashctx_destroy(d);
    mc_wipe(page, sizeof page);
    return s;
}

/* What the hypervisor holds of the stream: no DATA packet carries the plaintext of its page. */
static mc_status stream_leaks(const struct mc_migrate_buf *s, uint8_t (*pages)[32], uint64_t mem, uint64_t *packets,
                              uint64_t *leaks, struct mc_error *e)
{
    size_t off = MC_MIGRATE_HDR_FIXED + 32 * (size_t)mc_le32(s->data + 0x20);
    *packets = *leaks = 0;
    while (off + MC_MIGRATE_REC_HDR <= s->len) {
        uint32_t type = mc_le32(s->data + off), hlen = mc_le32(s->data + off + 4), len = mc_le32(s->data + off + 16);
        uint64_t where = mc_le64(s->data + off + 8);
        const uint8_t *p = s->data + off + MC_MIGRATE_REC_HDR + hlen;
        if (type == MC_MIGRATE_REC_DATA) {
            for (uint32_t o = 0; o + 4096 <= len && where + o < mem; o += 4096) {
                uint8_t h[32];
                mc_status st = mc_sha256(p + o, 4096, h, e);
                if (st)
                    return st;
                *leaks += !memcmp(h, pages[(where + o) / 4096], 32);
            }
            ++*packets;
        }
        off += MC_MIGRATE_REC_HDR + hlen + len;
    }
    return MC_OK;
}

static uint8_t guest_state(struct mc_board *b, uint32_t handle)
{
    uint8_t gs[sizeof(struct mc_sev_guest_status)] = {0};
    mc_put_le32(gs, handle);
    if (mc_board_fw(b, MC_SEV_CMD_GUEST_STATUS, gs, sizeof gs, NULL, NULL))
        return 0xFF;
    return gs[offsetof(struct mc_sev_guest_status, state)];
}

static int run_migrate(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *guest_path = NULL, *stream_path = NULL, *target_platform = NULL;
    struct mc_args a;
    int ch;
    mc_args_init(&a, cmd, argc, argv);
    while ((ch = mc_args_next(&a)) > 0) {
        switch (ch) {
        case O_GUEST: guest_path = a.val; break;
        case O_STREAM: stream_path = a.val; break;
        case O_TARGET_PLATFORM: target_platform = a.val; break;
        }
    }
    if (ch < 0)
        return a.rc;
    const char *src_state = a.pos[0], *dst_state = a.pos[1];
    if (!strcmp(src_state, dst_state))
        return mc_cli_usage_error(argv[0], "the source and target state files must be two chips");
    struct mc_error e = {0};
    uint8_t *file = NULL;
    size_t flen = 0;
    struct mc_guest_file_info gi;
    if (mc_file_read(guest_path, GUEST_FILE_MAX, &file, &flen, &e)) {
        free(file);
        return mc_cli_fail(argv[0], &e);
    }
    if (flen == 0 ? mc_seterr(&e, MC_E_FORMAT, "the file is empty") : mc_guest_file_info(file, flen, &gi, &e)) {
        free(file);
        return mc_cli_error(argv[0], MC_EXIT_ERROR, "--guest %s: %s (it must be a guest saved by memcrypt run "
                            "DOMAIN.xml --state FILE --save GUEST)", guest_path, e.msg);
    }
    if (gi.kind == MC_GUEST_KIND_SNP) {
        free(file);
        mc_seterr(&e, MC_E_UNSUPPORTED,
                  "%s is a saved SEV-SNP guest: SNP has no SEND_*/RECEIVE_* (its live migration needs a migration "
                  "agent, not modelled); it continues only on the chip that saved it",
                  guest_path);
        return mc_cli_fail(argv[0], &e);
    }
    const bool es = gi.kind == MC_MIGRATE_KIND_SEV_ES;
    const char *tp = target_platform ? target_platform : gi.platform;
    const struct mc_cpu_profile *prof;
    if (target_platform && mc_cpu_profile_find(target_platform, &prof, &e)) {
        free(file);
        return mc_cli_usage_error(argv[0], "--target-platform: %s", e.msg);
    }
    struct mc_board *src = NULL, *dst = NULL;
    struct mc_vm *vm = NULL, *moved = NULL;
    struct mc_migrate_buf stream = {0};
    uint8_t (*pages)[32] = NULL, before[32], after[32], *saved = NULL;
    size_t saved_len = 0;
    uint64_t packets = 0, leaks = 0;
    uint32_t src_handle = 0;
    struct mc_migrate_stats st = {0};
    struct mc_cli_progress pr;
    mc_cli_progress_begin(&pr, argv[0], "opening the chips");
    mc_status s = open_chip(gi.platform, src_state, a.seed, gi.mem_size, es, &src, &e);
    if (!s)
        s = open_chip(tp, dst_state, a.seed, gi.mem_size, es, &dst, &e);
    /* 1. The guest continues on the source chip, and reads its memory. */
    struct mc_guest_file_info again;
    if (!s)
        s = mc_guest_restore(src, file, flen, &vm, &again, &e);
    if (!s && !(pages = calloc(gi.mem_size / 4096, 32)))
        s = mc_seterr(&e, MC_E_NOMEM, "out of memory");
    if (!s)
        s = guest_read_all(vm, &gi, before, pages, &e);
    /* 2. The stream, through a file when asked. */
    struct mc_migrate_target t;
    struct mc_migrate_opts mo = {.shared = (const uint64_t(*)[2])gi.shared, .nshared = gi.nshared};
    if (!s) {
        src_handle = mc_vm_handle(vm);
        s = mc_migrate_target_info(dst, &t, &e);
    }
    if (!s)
        s = mc_migrate_send(src, &vm, &t, &mo, mc_migrate_buf_write, &stream, NULL, &e);
    if (!s)
        s = stream_leaks(&stream, pages, gi.mem_size, &packets, &leaks, &e);
    if (!s && stream_path) {
        s = mc_file_write_atomic(stream_path, stream.data, stream.len, &e);
        mc_migrate_buf_free(&stream);
        if (!s)
            s = mc_file_read(stream_path, GUEST_FILE_MAX, &stream.data, &stream.len, &e);
        stream.cap = stream.len;
    }
    /* 3. The target receives it; the guest reads its memory there. */
    if (!s)
        s = mc_migrate_receive(dst, mc_migrate_buf_read, &stream, &moved, &st, &e);
    if (!s)
        s = guest_read_all(moved, &gi, after, NULL, &e);
    bool intact = !s && mc_ct_equal(before, after, 32);
    uint8_t src_after = src_handle ? guest_state(src, src_handle) : 0xFF;
    uint32_t dst_handle = moved ? mc_vm_handle(moved) : 0;
    uint8_t dst_state_now = moved ? guest_state(dst, dst_handle) : 0;
    /* 4. Saved again, now on the target chip. */
    if (!s && intact)
        s = mc_guest_save(dst, &moved, &mo, &saved, &saved_len, &e);
    if (!s && intact)
        s = mc_file_write_atomic(guest_path, saved, saved_len, &e);
    mc_cli_progress_end(&pr);
    mc_vm_destroy(vm);
    mc_vm_destroy(moved);
    mc_board_destroy(src);
    mc_board_destroy(dst);
    mc_migrate_buf_free(&stream);
    free(pages);
    free(saved);
    free(file);
    if (s)
        return mc_cli_fail(argv[0], &e);
    bool ok = intact && leaks == 0 && src_after == 0;
    if (a.json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "kind", es ? "SEV-ES" : "SEV");
        mc_json_str(&j, "source_platform", gi.platform);
        mc_json_str(&j, "target_platform", tp);
        mc_json_hex64(&j, "policy", gi.policy);
        mc_json_u64(&j, "memory_bytes", gi.mem_size);
        mc_json_u64(&j, "vcpus", gi.vcpus);
        mc_json_u64(&j, "packets", st.packets);
        mc_json_u64(&j, "packet_bytes", st.bytes);
        mc_json_u64(&j, "shared_bytes", st.shared_bytes);
        mc_json_str(&j, "stream_file", stream_path);
        mc_json_u64(&j, "packets_holding_their_plaintext", leaks);
        mc_json_bool(&j, "memory_intact", intact);
        mc_json_str(&j, "source_guest_state", src_after == 0 ? "gone" : mc_sev_gstate_name(src_after));
        mc_json_str(&j, "target_guest_state", mc_sev_gstate_name(dst_state_now));
        mc_json_str(&j, "guest_file", guest_path);
        mc_json_u64(&j, "guest_file_bytes", saved_len);
        mc_json_end(&j);
        mc_json_finish(&j);
    } else {
        printf("migrated an %s guest (%llu MiB, %u vCPU%s, policy 0x%x) from %s (%s) to %s (%s)\n", es ? "SEV-ES" : "SEV",
               (unsigned long long)(gi.mem_size >> 20), gi.vcpus, gi.vcpus == 1 ? "" : "s", gi.policy, src_state,
               gi.platform, dst_state, tp);
        printf("  %-24s %llu packets, %llu bytes through SEND/RECEIVE_UPDATE_*, %llu shared bytes as they are%s%s\n",
               "stream", (unsigned long long)st.packets, (unsigned long long)st.bytes,
               (unsigned long long)st.shared_bytes, stream_path ? ", through " : "", stream_path ? stream_path : "");
        printf("  %-24s %s (%llu of %llu data packets hold their page's plaintext)\n", "the hypervisor's view",
               leaks ? "PLAINTEXT" : "ciphertext only", (unsigned long long)leaks, (unsigned long long)packets);
        printf("  %-24s %s (the guest read all of it on both chips)\n", "guest memory",
               intact ? "intact" : "DIFFERS");
        printf("  %-24s %s\n", "source guest", src_after == 0 ? "gone" : mc_sev_gstate_name(src_after));
        printf("  %-24s %s, saved to %s (%zu bytes)\n", "target guest", mc_sev_gstate_name(dst_state_now), guest_path,
               saved_len);
    }
    return ok ? MC_EXIT_OK : MC_EXIT_CHECK;
}

const struct mc_cli_cmd mc_cli_migrate[] = {
    {.path = "migrate",
     .summary = "move a saved SEV/SEV-ES guest from one emulated chip to another (SEND_*/RECEIVE_*)",
     .synopsis = "SRC.state DST.state --guest FILE [--stream FILE] [--target-platform NAME] [--seed S] [--json]",
     .about = "Continues the guest saved in FILE (memcrypt run --state SRC.state --save FILE) on the chip of\n"
              "SRC.state, and migrates it to the chip of DST.state as QEMU and KVM do: the target's PDH\n"
              "and certificates to SEND_START (the guest policy's NOSEND, DOMAIN and SEV rules apply), every\n"
              "page as a SEND_UPDATE_DATA packet (SEV-ES: the VMSAs too), SEND_FINISH; RECEIVE_START,\n"
              "RECEIVE_UPDATE_*, RECEIVE_FINISH on the target. The guest reads all of its memory on both\n"
              "chips and compares; every data packet is checked not to hold its page's plaintext; the\n"
              "source guest is gone afterwards. FILE is then rewritten as saved on the target chip, so the\n"
              "guest can be migrated on (or back).\n",
     .opts = migrate_opts,
     .common = MC_CO_SEED | MC_CO_JSON,
     .args = "SRC.state DST.state",
     .min_args = 2,
     .max_args = 2,
     .notes = "Exit status: 0 migrated with every check passed, 1 a check failed, 2 usage, 3 refused or error\n"
              "(the message names the firmware command and status, e.g. SEND_START: POLICY_FAILURE).\n",
     .examples = "d=$(mktemp -d)\n"
                 "sed 's/>256</>32</' examples/sev-guest.xml >$d/small.xml   # the example guest with 32 MiB\n"
                 "memcrypt run $d/small.xml --seed 1 --state $d/a.state --save $d/guest.sev\n"
                 "memcrypt migrate $d/a.state $d/b.state --guest $d/guest.sev --stream $d/stream.bin\n",
     .run = run_migrate},
    {0},
};
