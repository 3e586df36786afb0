/* Fuzz target: the SEV firmware mailbox. The input is a sequence of records
 *     op u8 · n u8 · n bytes (the command buffer, zero-padded to the command's size)
 * op 0xF0..0xF7 = every core executes WBINVD; op 0xF8..0xFF = an SEV-SNP record: its first byte b
 * picks an entry of snp_ops below (b & 0x3F) — an SNP command, or one of the host's SNP actions
 * (Linux's SNP bring-up; an RMPUPDATE whose SPA and state block are the buffer's first 24 bytes) —
 * and b & 0x80 folds every 8-byte field of the rest into a page address of DRAM (bit 0 kept: a page
 * size flag). Otherwise op selects a command ID from the table below (op & 0x3F), and op & 0x80
 * folds every 8-byte address field of the buffer into DRAM so that deep paths are reached. Host data for certificates/sessions is whatever DRAM holds
 * (earlier records may have put it there through DBG_ENCRYPT or measurements).
 *
 * Set up once per process: a board whose firmware already has its identity (created on first
 * use, which costs RSA and ECDSA key generation) is snapshotted; every input runs from that
 * snapshot and the board is restored afterwards (memcrypt/board.h).
 *
 * Invariants: no crash or sanitizer report; the firmware state is unchanged whenever a command
 * fails. The restore itself is checked: after it the firmware state and DRAM equal the
 * snapshot's, and an input run twice from the snapshot gives the same statuses, DRBG stream and
 * (unless a command signed something: ECDSA/RSA-PSS signatures take OpenSSL's own randomness)
 * the same firmware state and DRAM. The corpus replay checks every input; the fuzzer every 64th
 * (a checked input costs three times as much). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/dram.h>
#include <memcrypt/engine.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/rmp.h>

#include "crypto/crypto.h"
#include "crypto/hashctx.h"

#define DRAM (8ull << 20)

/* The op -> command mapping is part of what the corpus files mean: keep it. */
static const uint32_t ids[] = {
    0x001, 0x002, 0x003, 0x004, 0x005, 0x006, 0x007, 0x008, 0x009, 0x00A, 0x00B, 0x00C, 0x00D, 0x00E,
    0x00F, 0x020, 0x021, 0x022, 0x023, 0x024, 0x025, 0x030, 0x031, 0x032, 0x033, 0x034, 0x035, 0x036,
    0x040, 0x041, 0x050, 0x053, 0x060, 0x061, 0x070, 0x081, 0x7FF,
    /* weight the guest commands */
    0x030, 0x021, 0x031, 0x033, 0x034, 0x035, 0x036, 0x060, 0x061, 0x022, 0x020, 0x024, 0x023, 0x001, 0x00A,
};

/* SEV-SNP records (op 0xF8..0xFF): host actions first, then the SNP commands. */
enum { SNP_HOST_ENABLE = 0, SNP_HOST_RMPUPDATE = 1 };
static const uint32_t snp_ops[] = {
    SNP_HOST_ENABLE, SNP_HOST_RMPUPDATE,
    0x081, 0x082, 0x083, 0x084, 0x085, 0x086, 0x090, 0x091, 0x092, 0x093, 0x094, 0x095, 0x0A0, 0x0A1,
    0x0A2, 0x0B0, 0x0B1, 0x0C0, 0x0C1, 0x0C2, 0x0C3, 0x0C6, 0x0C7, 0x0C8, 0x0C9, 0x0CA, 0x0CB, 0x0CD,
    0x0CE,
    /* weight the launch and page commands and the host's RMPUPDATE */
    SNP_HOST_RMPUPDATE, SNP_HOST_RMPUPDATE, 0x093, 0x091, 0x0A0, 0x0A1, 0x0A1, 0x0A2, 0x094, 0x0C7,
};

static struct mc_board *g_board;
static struct mc_board_snapshot *g_snap;
static uint8_t g_state0[32]; /* firmware state and DRAM at the snapshot */
static unsigned long g_inputs;

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_mailbox: %s\n", what);
        abort();
    }
}

/* SHA-256 over the firmware's state digest and every DRAM frame that exists (raw bytes). */
static void state_digest(uint8_t out[32])
{
    struct mc_hashctx *d;
    uint8_t fw[32];
    must(mc_psp_snapshot(mc_board_psp(g_board), fw, NULL) == MC_OK, "firmware digest");
    must(mc_hashctx_create("SHA256", &d, NULL) == MC_OK, "digest");
    mc_hashctx_update(d, fw, sizeof fw, NULL);
    struct mc_dram *dram = mc_machine_dram(mc_board_machine(g_board));
    for (uint64_t pfn = 0; pfn < DRAM >> 12; pfn++) {
        const uint8_t *f = mc_dram_frame(dram, pfn, false);
        if (f) {
            uint8_t p[8];
            mc_put_le64(p, pfn);
            mc_hashctx_update(d, p, 8, NULL);
            mc_hashctx_update(d, f, 4096, NULL);
        }
    }
    must(mc_hashctx_final(d, out, NULL) == MC_OK, "digest");
    mc_hashctx_destroy(d);
}

static void prepare(void)
{
    if (g_board)
        return;
    struct mc_board_config bc;
    must(mc_board_config_init(&bc, "milan", NULL) == MC_OK, "config");
    bc.machine.dram_size = DRAM;
    bc.machine.seed = (const uint8_t *)"fuzz";
    bc.machine.seed_len = 4;
    bc.fw.root_bits = 2048;
    bc.fw.num_cores = 2;
    bc.fw.max_guests = 8;
    bc.hypervisor = false;
    bc.rmp_size = MC_BOARD_RMP_AUTO; /* the BIOS reserves an RMP; SNP stays off until a record enables it */
    must(mc_board_create(&bc, &g_board, NULL) == MC_OK, "board");
    uint8_t b[0x0C] = {0};
    mc_put_le64(b, 0x2000);
    mc_put_le32(b + 8, 0x40);
    must(mc_board_fw(g_board, 0x00C, b, sizeof b, NULL, NULL) == MC_OK, "GET_ID"); /* creates the identity */
    /* The SNP identity too (created on first use like the legacy one: a first use that then fails
     * would look like a failing command that changed the state). */
    must(mc_psp_snp_identity(mc_board_psp(g_board), NULL) != NULL, "SNP identity");
    must(mc_board_snapshot(g_board, &g_snap, NULL) == MC_OK, "snapshot");
    state_digest(g_state0);
}

/* What one run of the input did: every (command, status), 16 bytes of the DRBG afterwards, and
 * whether a command signed with OpenSSL's randomness. */
struct result {
    uint8_t steps[64][2 * 4];
    unsigned nsteps;
    uint8_t rng[16];
    mc_slot slot; /* the handle a new engine key slot gets: the slot table as the run left it */
    uint8_t state[32];
    int signed_something;
};

static int signs(uint32_t cmd)
{
    return cmd == 0x003 || cmd == 0x005 || cmd == 0x007 || cmd == 0x009 || cmd == 0x036;
}

/* Re-keying commands (PLATFORM_RESET of a platform with an identity, PEK_GEN, PEK_CERT_IMPORT,
 * PDH_GEN) make P-384 keys and ECDSA signatures: a PEK_GEN costs ~7 ms of CPU here, some 30
 * times an average input. They run in one input out of REKEY_ONE_IN, chosen by a hash of the
 * whole input (a found input replays the same way), and are skipped in the others: at 1000
 * inputs/s that is still ~15 re-keying inputs/s (the target as first written ran 40 inputs/s
 * in all). Corpus files that must re-key carry a trailing byte that opens the gate. */
#define REKEY_ONE_IN 64u

static int rekeys(uint32_t cmd) { return cmd == 0x003 || cmd == 0x005 || cmd == 0x007 || cmd == 0x009; }

static int may_rekey(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return h % REKEY_ONE_IN == 0;
}

static void run(const uint8_t *data, size_t size, struct result *r)
{
    struct mc_board *b = g_board;
    struct mc_psp *psp = mc_board_psp(b);
    memset(r, 0, sizeof *r);
    uint8_t now[32];
    int known = 0; /* now holds the current firmware digest */
    size_t i = 0;
    const int rekey = may_rekey(data, size);
    while (i + 2 <= size && r->nsteps < 64) {
        uint8_t op = data[i], n = data[i + 1];
        i += 2;
        if (n > size - i)
            n = (uint8_t)(size - i);
        if (op >= 0xF0 && op < 0xF8) {
            mc_board_wbinvd(b, NULL);
            known = 0;
            i += n;
            continue;
        }
        uint8_t buf[0x80] = {0};
        uint32_t cmd;
        if (op >= 0xF8) { /* SEV-SNP */
            const uint8_t sel = n ? data[i] : 0;
            memcpy(buf, data + i + (n ? 1 : 0), n > sizeof buf ? sizeof buf : (n ? n - 1u : 0u));
            i += n;
            if (sel & 0x80)
                for (size_t off = 0; off + 8 <= sizeof buf; off += 8) {
                    const uint64_t v = mc_le64(buf + off);
                    mc_put_le64(buf + off, ((v % DRAM) & ~0xFFFull) | (v & 1));
                }
            cmd = snp_ops[(sel & 0x3F) % (sizeof snp_ops / sizeof snp_ops[0])];
            if (cmd == SNP_HOST_ENABLE || cmd == SNP_HOST_RMPUPDATE) {
                struct mc_machine *m = mc_board_machine(b);
                struct mc_fault f;
                uint64_t v = 0;
                if (cmd == SNP_HOST_ENABLE) {
                    if (mc_board_snp_enable(b, NULL) == MC_OK && mc_machine_rdmsr(m, MC_MSR_HWCR, &v, &f, NULL) == MC_OK)
                        mc_machine_wrmsr(m, MC_MSR_HWCR, v | MC_HWCR_SMMLOCK, &f, NULL);
                } else {
                    struct mc_rmp_state rs;
                    uint32_t eax;
                    mc_rmp_state_decode(buf + 8, &rs);
                    mc_rmp_rmpupdate(mc_board_rmp(b), mc_le64(buf) & ~0xFFFull, &rs, &eax, &f, NULL);
                }
                known = 0;
                continue;
            }
        } else {
            memcpy(buf, data + i, n > sizeof buf ? sizeof buf : n);
            i += n;
            if (op & 0x80)
                for (size_t off = 8; off + 8 <= sizeof buf; off += 16)
                    mc_put_le64(buf + off, mc_le64(buf + off) % (DRAM - 0x1000));
            cmd = ids[(op & 0x3F) % (sizeof ids / sizeof ids[0])];
        }
        if (rekeys(cmd) && !rekey)
            continue;
        if (!known)
            mc_psp_snapshot(psp, now, NULL);
        uint32_t st = 0;
        struct mc_error e = {0};
#ifdef MC_FUZZ_REPLAY
        struct mc_error *ep = &e; /* the firmware's sentence, for the report below */
#else
        struct mc_error *ep = NULL; /* formatting it costs; a finding replays with it */
#endif
        mc_status s = mc_board_fw(b, cmd, buf, sizeof buf, &st, ep);
        must(s == MC_OK || s == MC_E_FIRMWARE, "the mailbox itself failed");
        uint8_t after[32];
        mc_psp_snapshot(psp, after, NULL);
        if (getenv("MC_FUZZ_TRACE"))
            fprintf(stderr, "%-20s -> %s\n", mc_sev_cmd_name(cmd), mc_fw_status_name(st));
        if (st != 0 && memcmp(now, after, 32) != 0) {
            fprintf(stderr, "command 0x%x failed with 0x%x but changed the firmware state: %s\n", cmd, st, e.msg);
            abort();
        }
        memcpy(now, after, 32);
        known = 1;
        mc_put_le32(r->steps[r->nsteps], cmd);
        mc_put_le32(r->steps[r->nsteps] + 4, st);
        r->nsteps++;
        r->signed_something |= st == 0 && signs(cmd);
    }
}

/* After a run: what the state looks like (cache written back first), the DRBG's next bytes and
 * the next key slot's handle. */
static void observe(struct result *r)
{
    struct mc_machine *m = mc_board_machine(g_board);
    mc_machine_wbinvd(m, NULL);
    state_digest(r->state);
    mc_rng_bytes(mc_machine_rng(m), r->rng, sizeof r->rng, NULL);
    must(mc_engine_slot_generate(mc_machine_engine(m), MC_CIPHER_AES128_XTS, &r->slot, NULL) == MC_OK, "slot");
}

static void restore(void)
{
    must(mc_board_restore(g_board, g_snap, NULL) == MC_OK, "restore");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prepare();
#ifdef MC_FUZZ_REPLAY
    const int check = 1;
#else
    const int check = g_inputs % 64 == 0;
#endif
    g_inputs++;
    struct result r1, r2;
    run(data, size, &r1);
    if (!check) {
        restore();
        return 0;
    }
    observe(&r1);
    restore();
    uint8_t st[32];
    state_digest(st);
    must(memcmp(st, g_state0, 32) == 0, "the restore did not bring back the firmware state and DRAM");
    run(data, size, &r2);
    observe(&r2);
    restore();
    must(r1.nsteps == r2.nsteps && memcmp(r1.steps, r2.steps, sizeof r1.steps) == 0,
         "the same input from the same snapshot gave other statuses");
    must(memcmp(r1.rng, r2.rng, sizeof r1.rng) == 0, "the DRBG was not restored");
    must(r1.slot == r2.slot, "the engine's key slots were not restored");
    must(r1.signed_something || memcmp(r1.state, r2.state, 32) == 0,
         "the same input from the same snapshot left another firmware state or DRAM");
    return 0;
}
