/* Fuzz target: RECEIVE_UPDATE_DATA / RECEIVE_UPDATE_VMSA packets as a migration target's
 * firmware meets them. The board is prepared once: INIT with SEV-ES, a guest received with a known
 * session (RECEIVE_START with a sender key and TEK/TIK this harness holds, so RUPDATE), its ASID
 * bound; then snapshotted. Every input runs from the snapshot as a sequence of records
 *     ctl u8 · hdr_len u8 · glen u16 · tlen u16 · off u16 · payload (glen bytes, or what is left)
 * ctl bit0: the harness seals the payload correctly (IV from the record, MAC and — bit1 — the
 * extended trailer with the next sequence number, FINAL when bit2), so the decrypt-and-write path is
 * reached; then bit3 flips one byte of the header at off & 0x7F (and bit4 one of the ciphertext).
 * Without bit0 the payload's first bytes are the raw header. bit5: VMSA instead of data; bit6:
 * RECEIVE_FINISH after the record. hdr_len, glen, tlen and the guest offset come from the record.
 *
 * Invariants: no crash or sanitizer report; a refused command changes neither the firmware state
 * nor a byte of guest memory (DRAM); an accepted data packet leaves exactly its plaintext in the
 * guest (DBG_DECRYPT); the firmware accepts a packet only when the harness sealed it unaltered. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/board.h>
#include <memcrypt/bytes.h>
#include <memcrypt/crypto.h>
#include <memcrypt/fw_status.h>
#include <memcrypt/machine.h>
#include <memcrypt/psp.h>
#include <memcrypt/sev_session.h>

#include "crypto/aes.h"
#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "sev/cert_key.h"

#define DRAM (16ull << 20)
#define HDR_PA 0x40000ull
#define TRANS_PA 0x41000ull
#define PLAIN_PA 0x48000ull
#define DATA_PA 0x50000ull
#define GUEST_PA 0x100000ull /* 64 KiB of guest memory the packets may land in */
#define GUEST_LEN 0x10000ull

static struct mc_board *g_board;
static struct mc_board_snapshot *g_snap;
static uint32_t g_handle;
static struct mc_sev_tks g_tks;

static void must(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_migrate_packet: %s\n", what);
        abort();
    }
}

static uint32_t fw(uint32_t cmd, void *buf, size_t len)
{
    uint32_t st = 0xFFFF;
    mc_board_fw(g_board, cmd, buf, len, &st, NULL);
    return st;
}

static void phys_write(uint64_t pa, const void *b, size_t n)
{
    struct mc_fault f;
    must(mc_machine_phys_write(mc_board_machine(g_board), pa, b, n, &f, NULL) == MC_OK, "host write");
}

static void phys_read(uint64_t pa, void *b, size_t n)
{
    struct mc_fault f;
    must(mc_machine_phys_read(mc_board_machine(g_board), pa, b, n, &f, NULL) == MC_OK, "host read");
}

static void prepare(void)
{
    if (g_board)
        return;
    mc_crypto_init();
    struct mc_board_config c;
    must(mc_board_config_init(&c, "milan", NULL) == MC_OK, "config");
    c.machine.dram_size = DRAM;
    c.machine.seed = (const uint8_t *)"fuzz migrate packet";
    c.machine.seed_len = 19;
    c.fw.root_bits = 2048;
    c.fw.num_cores = 1;
    c.hypervisor = false;
    must(mc_board_create(&c, &g_board, NULL) == MC_OK, "board");
    uint8_t b[0x24] = {0};
    mc_put_le32(b, MC_SEV_INIT_FLAG_ES);
    mc_put_le64(b + 8, 0x200000);
    mc_put_le32(b + 0x10, MC_SEV_TMR_LEN);
    must(fw(MC_SEV_CMD_INIT, b, 0x14) == 0 && mc_board_df_flush(g_board, NULL, NULL) == MC_OK, "INIT");
    /* The platform's PDH, and a sender key: the session for an SEV-ES guest. */
    memset(b, 0, sizeof b);
    mc_put_le64(b, DATA_PA);
    mc_put_le32(b + 8, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x10, DATA_PA + 0x1000);
    mc_put_le32(b + 0x18, MC_SEV_CHAIN_LEN);
    must(fw(MC_SEV_CMD_PDH_CERT_EXPORT, b, 0x1C) == 0, "PDH_CERT_EXPORT");
    uint8_t pdh[MC_SEV_CERT_LEN], godh[MC_SEV_CERT_LEN], z[48], nonce[16] = {1}, iv[16] = {2}, ses[0x80];
    phys_read(DATA_PA, pdh, sizeof pdh);
    struct mc_rng *rng;
    struct mc_pk *me = NULL, *peer = NULL;
    struct mc_sev_cert pc, gc;
    struct mc_sev_session s;
    for (int i = 0; i < 16; i++) {
        g_tks.tek[i] = (uint8_t)(0x20 + i);
        g_tks.tik[i] = (uint8_t)(0x40 + i);
    }
    must(mc_rng_create((const uint8_t *)"sender", 6, &rng, NULL) == MC_OK && mc_p384_generate(rng, &me, NULL) == MC_OK &&
             mc_sev_cert_parse(pdh, sizeof pdh, &pc, NULL) == MC_OK &&
             mc_sev_cert_get_pubkey(&pc, &peer, NULL) == MC_OK && mc_ecdh_p384(me, peer, z, NULL) == MC_OK &&
             mc_sev_cert_init(&gc, MC_SEV_USAGE_PDH, MC_SEV_ALGO_ECDH_SHA256, 0, 0, me, NULL) == MC_OK &&
             mc_sev_session_wrap(z, 48, nonce, iv, &g_tks, MC_SEV_POLICY_ES, &s, NULL) == MC_OK,
         "sender session");
    mc_sev_cert_serialize(&gc, godh);
    mc_sev_session_encode(&s, ses);
    mc_pk_free(me);
    mc_pk_free(peer);
    mc_rng_destroy(rng);
    phys_write(DATA_PA + 0x4000, godh, sizeof godh);
    phys_write(DATA_PA + 0x5000, ses, sizeof ses);
    memset(b, 0, sizeof b);
    mc_put_le32(b + 4, MC_SEV_POLICY_ES);
    mc_put_le64(b + 8, DATA_PA + 0x4000);
    mc_put_le32(b + 0x10, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x18, DATA_PA + 0x5000);
    mc_put_le32(b + 0x20, 0x80);
    must(fw(MC_SEV_CMD_RECEIVE_START, b, 0x24) == 0, "RECEIVE_START");
    g_handle = mc_le32(b);
    uint8_t a[8];
    mc_put_le32(a, g_handle);
    mc_put_le32(a + 4, 1);
    must(fw(MC_SEV_CMD_ACTIVATE, a, 8) == 0, "ACTIVATE");
    must(mc_board_snapshot(g_board, &g_snap, NULL) == MC_OK, "snapshot");
}

static void guest_digest(uint8_t out[32])
{
    static uint8_t mem[GUEST_LEN];
    phys_read(GUEST_PA, mem, sizeof mem);
    uint8_t fwd[32];
    must(mc_psp_snapshot(mc_board_psp(g_board), fwd, NULL) == MC_OK, "firmware digest");
    struct mc_hashctx *d;
    must(mc_hashctx_create("SHA256", &d, NULL) == MC_OK, "digest");
    mc_hashctx_update(d, fwd, 32, NULL);
    mc_hashctx_update(d, mem, sizeof mem, NULL);
    mc_hashctx_final(d, out, NULL);
    mc_hashctx_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    prepare();
    uint32_t seq = 0;
    uint8_t rm[32] = {0};
    static uint8_t payload[0x5000], trans[0x5000], hdr[0x100], got[0x5000];
    for (unsigned rec = 0; rec < 16 && size >= 8; rec++) {
        uint8_t ctl = data[0], hlen = data[1];
        uint32_t glen = mc_le16(data + 2), tlen = mc_le16(data + 4), off = mc_le16(data + 6);
        data += 8;
        size -= 8;
        bool sealed = ctl & 1, ext = ctl & 2, vmsa = ctl & 0x20;
        size_t n = glen < size ? glen : size;
        if (n > sizeof payload)
            n = sizeof payload;
        memset(payload, 0, sizeof payload);
        memcpy(payload, data, n);
        data += n;
        size -= n;
        uint64_t gpa = GUEST_PA + (off % (GUEST_LEN - 0x1000));
        uint32_t plen = glen > sizeof payload ? (uint32_t)sizeof payload : glen;
        memset(hdr, 0, sizeof hdr);
        bool honest = false;
        if (sealed && plen) {
            uint8_t iv[16];
            memset(iv, rec + 1, sizeof iv);
            must(mc_aes128_ctr(g_tks.tek, iv, payload, trans, plen, NULL) == MC_OK, "ctr");
            uint8_t *m = malloc(MC_SEV_PACKET_MAC_PREFIX + plen);
            must(m != NULL, "oom");
            mc_sev_packet_mac_prefix(m, MC_SEV_PACKET_CTX_DATA, 0, iv, plen, plen);
            memcpy(m + MC_SEV_PACKET_MAC_PREFIX, trans, plen);
            must(mc_hmac_sha256(g_tks.tik, 16, m, MC_SEV_PACKET_MAC_PREFIX + plen, hdr + 0x14, NULL) == MC_OK, "mac");
            free(m);
            memcpy(hdr + 4, iv, 16);
            uint32_t xf = (ctl & 4) ? 1u : 0u;
            if (ext) {
                mc_put_le32(hdr + 0x34, seq + 1);
                mc_put_le32(hdr + 0x38, xf);
                mc_put_le64(hdr + 0x3C, gpa);
                must(mc_sev_xfer_measure(g_tks.tik, seq + 1, xf, gpa, rm, hdr + 0x14, hdr + 0x44, NULL) == MC_OK,
                     "rm");
            }
            /* a flipped header byte the firmware does not read leaves the packet honest */
            uint32_t used = hlen >= 0x64 ? 0x64u : 0x34u;
            honest = !(ctl & 0x10) && (!(ctl & 8) || (off & 0x7F) >= used);
            if (ctl & 8)
                hdr[off & 0x7F] ^= (uint8_t)(1u << (off >> 13));
            if (ctl & 0x10)
                trans[off % plen] ^= 0x80;
        } else {
            memcpy(hdr, payload, sizeof hdr < plen ? sizeof hdr : plen);
            memcpy(trans, payload, plen);
        }
        phys_write(HDR_PA, hdr, sizeof hdr);
        phys_write(TRANS_PA, trans, sizeof trans);
        uint8_t b[0x34] = {0}, before[32], after[32];
        mc_put_le32(b, g_handle);
        mc_put_le64(b + 0x08, HDR_PA);
        mc_put_le32(b + 0x10, hlen);
        mc_put_le64(b + 0x18, gpa);
        mc_put_le32(b + 0x20, glen);
        mc_put_le64(b + 0x28, TRANS_PA);
        mc_put_le32(b + 0x30, tlen);
        guest_digest(before);
        uint32_t st = fw(vmsa ? MC_SEV_CMD_RECEIVE_UPDATE_VMSA : MC_SEV_CMD_RECEIVE_UPDATE_DATA, b, sizeof b);
        if (st != MC_FW_SUCCESS) {
            guest_digest(after);
            must(memcmp(before, after, 32) == 0, "a refused packet changed the firmware or guest memory");
        } else {
            must(honest, "the firmware accepted a packet the harness did not seal unaltered");
            /* exactly the plaintext, where the packet said */
            uint8_t d[0x1C] = {0};
            mc_put_le32(d, g_handle);
            mc_put_le64(d + 0x08, gpa);
            mc_put_le64(d + 0x10, PLAIN_PA);
            mc_put_le32(d + 0x18, glen);
            must(fw(MC_SEV_CMD_DBG_DECRYPT, d, sizeof d) == 0, "DBG_DECRYPT");
            phys_read(PLAIN_PA, got, glen);
            must(memcmp(got, payload, glen) == 0, "the guest does not hold the packet's plaintext");
            if (ext && hlen >= 0x64) {
                seq++;
                memcpy(rm, hdr + 0x44, 32);
            }
        }
        if (ctl & 0x40) {
            uint8_t h4[4];
            mc_put_le32(h4, g_handle);
            guest_digest(before);
            if (fw(MC_SEV_CMD_RECEIVE_FINISH, h4, 4) != MC_FW_SUCCESS) {
                guest_digest(after);
                must(memcmp(before, after, 32) == 0, "a refused RECEIVE_FINISH changed the firmware");
            } else {
                break; /* RUNNING: the packet path is closed */
            }
        }
    }
    must(mc_board_restore(g_board, g_snap, NULL) == MC_OK, "restore");
    return 0;
}
