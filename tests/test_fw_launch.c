/* A whole legacy-SEV launch through the firmware's mailbox, checked against the known answers
 * of shared/vectors/sev-launch-kat.md and against the guest owner's independent computations:
 * PDH export and chain, session (GODH + wrapped TEK/TIK), LAUNCH_UPDATE_DATA encrypting in
 * place under the ASID key, LAUNCH_MEASURE, LAUNCH_SECRET, LAUNCH_FINISH, ATTESTATION; identity
 * commands; the ASID flush rules; bad input leaving the firmware state unchanged; every policy
 * bit the launch path enforces. */
#include <memcrypt/fw_status.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/sev_owner.h>
#include <memcrypt/sev_session.h>

#include "check.h"
#include "crypto/crypto.h"
#include "crypto/pk.h"
#include "sev/cert_key.h"
#include "test_fw_harness.h"

static void tweak_fast(struct mc_psp_config *c) { c->root_bits = 2048; }
static void tweak_kat(struct mc_psp_config *c)
{
    c->root_bits = 2048;
    c->api_major = 0;
    c->api_minor = 18;
    c->build = 15;
}

static void unhex(const char *h, uint8_t *out, size_t n)
{
    size_t got;
    if (mc_hex_decode(h, out, n, &got, NULL) != MC_OK || got != n)
        memset(out, 0xEE, n);
}

/* ---- the reference constructions pass the published known answers ------------------------ */

static void test_reference_kats(void)
{
    uint8_t z[16] = {0}, zero16[16] = {0}, want[32], wrap_tk[32];
    struct mc_sev_tks tks = {{0}, {0}};
    struct mc_sev_session s;
    CHECK(mc_sev_session_wrap(z, 16, zero16, zero16, &tks, 0, &s, NULL) == MC_OK);
    unhex("2137bc7f9bb8bd7c3e55a576a15d3454b3856b8ba27afadf46dcfee9f02c02c4", wrap_tk, 32);
    CHECK_MEM(s.wrap_tk, wrap_tk, 32);
    unhex("3176c0752738bd9d5e86689534020f528c088f16238826b000b327dee6aeed7d", want, 32);
    CHECK_MEM(s.wrap_mac, want, 32);
    unhex("aa7855e13839dd767cd5da7c1ff5036540c9264b7a803029315e55375287b4af", want, 32);
    CHECK_MEM(s.policy_mac, want, 32);

    uint8_t tik[16], ld[32], mnonce[16], m[32];
    unhex("66320db73158a35a255d051758e95ed4", tik, 16);
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ld, 32);
    unhex("4fbe0bedbad6c86ae8f68971d103e554", mnonce, 16);
    CHECK(mc_sev_launch_measure(tik, 0, 18, 15, 0, ld, mnonce, m, NULL) == MC_OK);
    unhex("6faab2daae389bcd3405a05d6cafe33c0414f7bedd0bae19ba5f38b7fd1664ea", want, 32);
    CHECK_MEM(m, want, 32);

    struct mc_sev_tks k3;
    uint8_t iv[16], plain[32], measure[32] = {0}, trans[32];
    for (int i = 0; i < 16; i++) {
        k3.tek[i] = (uint8_t)i;
        k3.tik[i] = (uint8_t)(0x10 + i);
        iv[i] = (uint8_t)(0x20 + i);
    }
    memset(plain, 0x41, sizeof plain);
    struct mc_sev_secret_hdr h;
    CHECK(mc_sev_secret_seal(&k3, true, iv, plain, 32, measure, &h, trans, NULL) == MC_OK);
    unhex("1aa93f6f1a053dd50a6088ee361781990ae55d6363cf79e943227fb931de89b6", want, 32);
    CHECK_MEM(trans, want, 32);
    unhex("4e7658bee48a9c5382077849829b0ccd916e7bcb094ef9528179a3b656db0382", want, 32);
    CHECK_MEM(h.mac, want, 32);
}

/* ---- guest-owner helpers ----------------------------------------------------------------- */

static uint32_t export_pdh(struct fwt *t, uint8_t pdh[MC_SEV_CERT_LEN], uint8_t chain[MC_SEV_CHAIN_LEN])
{
    uint8_t b[0x1C] = {0};
    mc_put_le64(b + 0x00, DATA_PA);
    mc_put_le32(b + 0x08, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x10, DATA_PA + 0x1000);
    mc_put_le32(b + 0x18, MC_SEV_CHAIN_LEN);
    uint32_t st = fw(t, MC_SEV_CMD_PDH_CERT_EXPORT, b, sizeof b);
    hw_read(t, DATA_PA, pdh, MC_SEV_CERT_LEN);
    hw_read(t, DATA_PA + 0x1000, chain, MC_SEV_CHAIN_LEN);
    return st;
}

/* GODH + session for policy with chosen TEK/TIK (ECDH with the platform's PDH). */
static int owner_session(struct fwt *t, const uint8_t pdh_raw[MC_SEV_CERT_LEN], uint32_t policy,
                         const struct mc_sev_tks *tks, uint8_t godh[MC_SEV_CERT_LEN], uint8_t ses[MC_SEV_SESSION_LEN])
{
    struct mc_rng *rng;
    struct mc_pk *me = NULL, *peer = NULL;
    struct mc_sev_cert pdh, gc;
    uint8_t z[48], nonce[16], iv[16];
    int rc = -1;
    if (mc_rng_create((const uint8_t *)"owner", 5, &rng, NULL))
        return -1;
    if (!mc_sev_cert_parse(pdh_raw, MC_SEV_CERT_LEN, &pdh, NULL) && !mc_sev_cert_get_pubkey(&pdh, &peer, NULL) &&
        !mc_p384_generate(rng, &me, NULL) && !mc_ecdh_p384(me, peer, z, NULL) &&
        !mc_sev_cert_init(&gc, MC_SEV_USAGE_PDH, MC_SEV_ALGO_ECDH_SHA256, 0, 0, me, NULL) &&
        !mc_rng_bytes(rng, nonce, 16, NULL) && !mc_rng_bytes(rng, iv, 16, NULL)) {
        struct mc_sev_session s;
        if (!mc_sev_session_wrap(z, 48, nonce, iv, tks, policy, &s, NULL)) {
            mc_sev_cert_serialize(&gc, godh);
            mc_sev_session_encode(&s, ses);
            rc = 0;
        }
    }
    (void)t;
    mc_pk_free(me);
    mc_pk_free(peer);
    mc_rng_destroy(rng);
    return rc;
}

static uint32_t launch_with_session(struct fwt *t, uint32_t policy, const uint8_t godh[MC_SEV_CERT_LEN],
                                    const uint8_t ses[MC_SEV_SESSION_LEN], uint32_t *handle)
{
    hw_write(t, DATA_PA + 0x4000, godh, MC_SEV_CERT_LEN);
    hw_write(t, DATA_PA + 0x5000, ses, MC_SEV_SESSION_LEN);
    uint8_t b[0x24] = {0};
    mc_put_le32(b + 4, policy);
    mc_put_le64(b + 8, DATA_PA + 0x4000);
    mc_put_le32(b + 0x10, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x18, DATA_PA + 0x5000);
    mc_put_le32(b + 0x20, MC_SEV_SESSION_LEN);
    uint32_t st = fw(t, MC_SEV_CMD_LAUNCH_START, b, sizeof b);
    *handle = st == 0 ? mc_le32(b) : 0;
    return st;
}

static uint32_t secret_cmd(struct fwt *t, uint32_t h, const uint8_t hdr[0x34], const uint8_t *trans, uint32_t len,
                           uint64_t gpa)
{
    hw_write(t, DATA_PA + 0x6000, hdr, 0x34);
    hw_write(t, DATA_PA + 0x7000, trans, len);
    uint8_t b[0x34] = {0};
    mc_put_le32(b, h);
    mc_put_le64(b + 0x08, DATA_PA + 0x6000);
    mc_put_le32(b + 0x10, 0x34);
    mc_put_le64(b + 0x18, gpa);
    mc_put_le32(b + 0x20, len);
    mc_put_le64(b + 0x28, DATA_PA + 0x7000);
    mc_put_le32(b + 0x30, len);
    return fw(t, MC_SEV_CMD_LAUNCH_SECRET, b, sizeof b);
}

static uint32_t dbg_cmd(struct fwt *t, uint32_t cmd, uint32_t h, uint64_t src, uint64_t dst, uint32_t len)
{
    uint8_t b[0x1C] = {0};
    mc_put_le32(b, h);
    mc_put_le64(b + 0x08, src);
    mc_put_le64(b + 0x10, dst);
    mc_put_le32(b + 0x18, len);
    return fw(t, cmd, b, sizeof b);
}

/* Read guest memory as the guest's CPU would (C=1 under ASID asid). */
static void guest_view(struct fwt *t, uint32_t asid, uint64_t pa, void *buf, size_t len)
{
    struct memctl_access a = {.addr = pa, .size = len, .kind = MEMCTL_ACC_READ, .req = MEMCTL_REQ_GUEST, .asid = asid,
                          .guest_c = true};
    struct mc_fault f;
    if (memctl_read(mc_machine_memctl(t->m), &a, buf, &f, NULL) != MC_OK)
        memset(buf, 0xEE, len);
}

/* ---- the whole launch -------------------------------------------------------------------- */

static void test_full_launch(void)
{
    struct fwt t;
    CHECK(fwt_open(&t, "rome", NULL, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0);

    /* Size query first (as QEMU does), then the certificates. */
    uint8_t q[0x1C] = {0};
    CHECK(fw(&t, MC_SEV_CMD_PDH_CERT_EXPORT, q, sizeof q) == MC_FW_INVALID_LENGTH);
    CHECK(mc_le32(q + 8) == MC_SEV_CERT_LEN && mc_le32(q + 0x18) == MC_SEV_CHAIN_LEN);
    static uint8_t pdh[MC_SEV_CERT_LEN], chain[MC_SEV_CHAIN_LEN];
    CHECK(export_pdh(&t, pdh, chain) == 0);
    struct mc_sev_cert cp, ck, co, cc;
    CHECK(mc_sev_cert_parse(pdh, sizeof pdh, &cp, NULL) == MC_OK && cp.usage == MC_SEV_USAGE_PDH);
    CHECK(mc_sev_cert_parse(chain, MC_SEV_CERT_LEN, &ck, NULL) == MC_OK && ck.usage == MC_SEV_USAGE_PEK);
    CHECK(mc_sev_cert_parse(chain + MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &co, NULL) == MC_OK &&
          co.usage == MC_SEV_USAGE_OCA);
    CHECK(mc_sev_cert_parse(chain + 2 * MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &cc, NULL) == MC_OK &&
          cc.usage == MC_SEV_USAGE_CEK);
    CHECK(mc_sev_cert_verify(&cp, &ck, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify(&ck, &co, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify(&co, &co, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify(&ck, &cc, NULL) == MC_OK); /* the PEK's CEK signature */
    CHECK(!mc_sev_cert_slot_used(&cc, 0) && !mc_sev_cert_slot_used(&cc, 1)); /* exported CEK unsigned */

    struct mc_sev_tks tks;
    for (int i = 0; i < 16; i++) {
        tks.tek[i] = (uint8_t)(0xA0 + i);
        tks.tik[i] = (uint8_t)(0xC0 + i);
    }
    const uint32_t policy = MC_SEV_POLICY_NOKS; /* debugging allowed so the test can look */
    uint8_t godh[MC_SEV_CERT_LEN], ses[MC_SEV_SESSION_LEN];
    CHECK(owner_session(&t, pdh, policy, &tks, godh, ses) == 0);
    uint32_t h;
    CHECK(launch_with_session(&t, policy, godh, ses, &h) == 0 && h == 1);
    CHECK(fwt_activate(&t, h, 3) == 0);

    /* The host places 12 KiB of "firmware image" in plain memory; LAUNCH_UPDATE_DATA encrypts it in place. */
    static uint8_t img[12288], back[12288], raw[12288];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (uint8_t)(i * 7 + (i >> 8));
    hw_write(&t, GUEST_PA, img, sizeof img);
    mc_machine_wbinvd(t.m, NULL); /* KVM flushes the pages (sev_clflush_pages) before LAUNCH_UPDATE_DATA */
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, GUEST_PA, 8192) == 0);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, GUEST_PA + 8192, 4096) == 0);
    mc_machine_wbinvd(t.m, NULL);
    CHECK(mc_dram_read(mc_machine_dram(t.m), GUEST_PA, raw, sizeof raw, NULL) == MC_OK);
    CHECK(memcmp(raw, img, sizeof img) != 0); /* a bus snooper sees ciphertext */
    hw_read(&t, GUEST_PA, back, sizeof back);
    CHECK(memcmp(back, img, sizeof img) != 0); /* so does the host (C=0) */
    guest_view(&t, 3, GUEST_PA, back, sizeof back);
    CHECK_MEM(back, img, sizeof img); /* the guest sees its image */
    guest_view(&t, 4, GUEST_PA, back, 64);
    CHECK(memcmp(back, img, 64) != 0); /* another ASID: no key or garbage */

    /* LAUNCH_MEASURE: size query, then the real thing against the owner's computation. */
    uint8_t mq[0x14] = {0};
    mc_put_le32(mq, h);
    CHECK(fw(&t, MC_SEV_CMD_LAUNCH_MEASURE, mq, sizeof mq) == MC_FW_INVALID_LENGTH && mc_le32(mq + 0x10) == 0x30);
    uint8_t meas[0x30], ld[32], expect[32];
    CHECK(fwt_measure(&t, h, meas) == 0);
    CHECK(mc_sha256(img, sizeof img, ld, NULL) == MC_OK);
    CHECK(mc_sev_launch_measure(tks.tik, 0, 24, 3, policy, ld, meas + 32, expect, NULL) == MC_OK);
    CHECK_MEM(meas, expect, 32);
    CHECK(mc_sev_owner_verify_measurement(tks.tik, meas, 0, 24, 3, policy, ld, NULL, NULL) == MC_OK);

    /* LAUNCH_SECRET: a bad MAC changes nothing; the good one lands in guest memory. */
    uint8_t secret[64], trans[64], hdr[0x34], iv[16] = {9, 8, 7};
    for (int i = 0; i < 64; i++)
        secret[i] = (uint8_t)(0x30 + i);
    struct mc_sev_secret_hdr sh;
    CHECK(mc_sev_secret_seal(&tks, true, iv, secret, 64, meas, &sh, trans, NULL) == MC_OK);
    mc_sev_secret_hdr_encode(&sh, hdr);
    uint8_t s0[32], s1[32], before[64], after[64];
    guest_view(&t, 3, GUEST_PA + 0x4000, before, 64);
    hdr[0x20] ^= 1;
    fwt_snap(&t, s0);
    CHECK(secret_cmd(&t, h, hdr, trans, 64, GUEST_PA + 0x4000) == MC_FW_BAD_MEASUREMENT);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    guest_view(&t, 3, GUEST_PA + 0x4000, after, 64);
    CHECK_MEM(before, after, 64);
    hdr[0x20] ^= 1;
    CHECK(secret_cmd(&t, h, hdr, trans, 64, GUEST_PA + 0x4008) == MC_FW_INVALID_ADDRESS);
    CHECK(secret_cmd(&t, h, hdr, trans, 48, GUEST_PA + 0x4000) == MC_FW_BAD_MEASUREMENT);
    CHECK(secret_cmd(&t, h, hdr, trans, 64, GUEST_PA + 0x4000) == 0);
    guest_view(&t, 3, GUEST_PA + 0x4000, after, 64);
    CHECK_MEM(after, secret, 64);
    /* DBG_DECRYPT shows the same plaintext to the host (policy allows debugging). */
    CHECK(dbg_cmd(&t, MC_SEV_CMD_DBG_DECRYPT, h, GUEST_PA + 0x4000, DATA2_PA, 64) == 0);
    hw_read(&t, DATA2_PA, after, 64);
    CHECK_MEM(after, secret, 64);

    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_LAUNCH_FINISH, h) == 0);
    CHECK(secret_cmd(&t, h, hdr, trans, 64, GUEST_PA + 0x4000) == MC_FW_INVALID_GUEST_STATE);

    /* ATTESTATION: size query, then a report signed by the PEK over bytes 0x00..0x33. */
    uint8_t ab[0x24] = {0}, rep[0xD0];
    mc_put_le32(ab, h);
    mc_put_le64(ab + 8, DATA2_PA);
    for (int i = 0; i < 16; i++)
        ab[0x10 + i] = (uint8_t)(0x55 + i);
    CHECK(fw(&t, MC_SEV_CMD_ATTESTATION, ab, sizeof ab) == MC_FW_INVALID_LENGTH && mc_le32(ab + 0x20) == 0xD0);
    CHECK(fw(&t, MC_SEV_CMD_ATTESTATION, ab, sizeof ab) == 0 && mc_le32(ab + 0x20) == 0xD0);
    hw_read(&t, DATA2_PA, rep, sizeof rep);
    CHECK_MEM(rep, ab + 0x10, 16);
    CHECK_MEM(rep + 0x10, ld, 32);
    CHECK(mc_le32(rep + 0x30) == policy && mc_le32(rep + 0x34) == 0x1002 && mc_le32(rep + 0x38) == 0x0002);
    CHECK(mc_sev_report_verify(rep, sizeof rep, &ck, NULL) == MC_OK);
    struct mc_pk *pek;
    uint8_t r[48], s[48];
    memcpy(r, rep + 0x40, 48);
    memcpy(s, rep + 0x88, 48);
    mc_reverse(r, 48);
    mc_reverse(s, 48);
    CHECK(mc_sev_cert_get_pubkey(&ck, &pek, NULL) == MC_OK);
    CHECK(mc_ecdsa_verify(pek, "SHA256", rep, 0x34, r, s, NULL) == MC_OK);
    rep[0x10] ^= 1;
    CHECK(mc_ecdsa_verify(pek, "SHA256", rep, 0x34, r, s, NULL) == MC_E_VERIFY);
    mc_pk_free(pek);

    /* Teardown as KVM does it. */
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DEACTIVATE, h) == 0);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DECOMMISSION, h) == 0);
    CHECK(mc_psp_platform_state(t.psp) == MC_SEV_PSTATE_INIT);
    fwt_close(&t);
}

/* L1 through the firmware: API 0.18 build 15, policy 0, empty launch digest, the KAT's TIK
 * delivered in a real session; the firmware's MEASURE equals the reference (which reproduces the
 * published value for the published MNONCE). */
static void test_kat_measure_through_firmware(void)
{
    struct fwt t;
    CHECK(fwt_open(&t, "rome", NULL, tweak_kat) == 0);
    CHECK(fwt_init(&t, 0) == 0);
    static uint8_t pdh[MC_SEV_CERT_LEN], chain[MC_SEV_CHAIN_LEN];
    CHECK(export_pdh(&t, pdh, chain) == 0);
    struct mc_sev_tks tks;
    memset(tks.tek, 0x11, 16);
    unhex("66320db73158a35a255d051758e95ed4", tks.tik, 16);
    uint8_t godh[MC_SEV_CERT_LEN], ses[MC_SEV_SESSION_LEN], meas[0x30], ld[32], want[32];
    CHECK(owner_session(&t, pdh, 0, &tks, godh, ses) == 0);
    uint32_t h;
    CHECK(launch_with_session(&t, 0, godh, ses, &h) == 0);
    CHECK(fwt_measure(&t, h, meas) == 0);
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ld, 32);
    uint8_t msg[4 + 4 + 32 + 16] = {0x04, 0x00, 0x12, 0x0f, 0, 0, 0, 0};
    memcpy(msg + 8, ld, 32);
    memcpy(msg + 40, meas + 32, 16);
    CHECK(mc_hmac_sha256(tks.tik, 16, msg, sizeof msg, want, NULL) == MC_OK);
    CHECK_MEM(meas, want, 32);
    fwt_close(&t);
}

/* ---- identity commands ------------------------------------------------------------------- */

static void test_identity_commands(void)
{
    struct fwt t;
    CHECK(fwt_open(&t, "rome", NULL, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0);
    uint8_t b[0x1C] = {0};
    /* PEK_CSR: size query with a zero address, then the CSR = PEK body with empty slots. */
    CHECK(fw(&t, MC_SEV_CMD_PEK_CSR, b, 0x0C) == MC_FW_INVALID_LENGTH && mc_le32(b + 8) == MC_SEV_CERT_LEN);
    mc_put_le64(b, DATA_PA);
    CHECK(fw(&t, MC_SEV_CMD_PEK_CSR, b, 0x0C) == 0 && mc_le32(b + 8) == MC_SEV_CERT_LEN);
    static uint8_t csr[MC_SEV_CERT_LEN], pdh[MC_SEV_CERT_LEN], chain[MC_SEV_CHAIN_LEN], pdh2[MC_SEV_CERT_LEN];
    hw_read(&t, DATA_PA, csr, sizeof csr);
    CHECK(export_pdh(&t, pdh, chain) == 0);
    CHECK_MEM(csr, chain, MC_SEV_CERT_SIGNED_LEN);
    struct mc_sev_cert c;
    CHECK(mc_sev_cert_parse(csr, sizeof csr, &c, NULL) == MC_OK);
    CHECK(!mc_sev_cert_slot_used(&c, 0) && !mc_sev_cert_slot_used(&c, 1));

    /* GET_ID: size query, then 64 stable bytes. */
    uint8_t gb[0x0C] = {0}, id1[64], id2[64];
    CHECK(fw(&t, MC_SEV_CMD_GET_ID, gb, sizeof gb) == MC_FW_INVALID_LENGTH && mc_le32(gb + 8) == 0x40);
    mc_put_le64(gb, DATA2_PA);
    mc_put_le32(gb + 8, 0x80);
    CHECK(fw(&t, MC_SEV_CMD_GET_ID, gb, sizeof gb) == 0 && mc_le32(gb + 8) == 0x40);
    hw_read(&t, DATA2_PA, id1, 64);
    CHECK(fw(&t, MC_SEV_CMD_GET_ID, gb, sizeof gb) == 0);
    hw_read(&t, DATA2_PA, id2, 64);
    CHECK_MEM(id1, id2, 64);

    /* An external owner signs the CSR. */
    struct mc_rng *rng;
    struct mc_pk *ok;
    struct mc_sev_cert oca;
    CHECK(mc_rng_create((const uint8_t *)"oca", 3, &rng, NULL) == MC_OK);
    CHECK(mc_p384_generate(rng, &ok, NULL) == MC_OK);
    CHECK(mc_sev_cert_init(&oca, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, 0, 24, ok, NULL) == MC_OK);
    CHECK(mc_sev_cert_sign(&oca, 0, ok, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, NULL) == MC_OK);
    CHECK(mc_sev_cert_sign(&c, 0, ok, MC_SEV_USAGE_OCA, MC_SEV_ALGO_ECDSA_SHA256, NULL) == MC_OK);
    static uint8_t oca_raw[MC_SEV_CERT_LEN], pek_raw[MC_SEV_CERT_LEN];
    mc_sev_cert_serialize(&oca, oca_raw);
    mc_sev_cert_serialize(&c, pek_raw);
    hw_write(&t, DATA_PA, pek_raw, sizeof pek_raw);
    hw_write(&t, DATA_PA + 0x1000, oca_raw, sizeof oca_raw);
    uint8_t ib[0x1C] = {0};
    mc_put_le64(ib, DATA_PA);
    mc_put_le32(ib + 8, MC_SEV_CERT_LEN);
    mc_put_le64(ib + 0x10, DATA_PA + 0x1000);
    mc_put_le32(ib + 0x18, MC_SEV_CERT_LEN);

    /* Bad inputs first: each refused with the spec status and no state change. */
    uint8_t s0[32], s1[32];
    fwt_snap(&t, s0);
    mc_put_le32(ib + 8, MC_SEV_CERT_LEN - 1);
    CHECK(fw(&t, MC_SEV_CMD_PEK_CERT_IMPORT, ib, sizeof ib) == MC_FW_INVALID_LENGTH);
    mc_put_le32(ib + 8, MC_SEV_CERT_LEN);
    pek_raw[0x41C] ^= 1; /* first byte of SIG1 */
    hw_write(&t, DATA_PA, pek_raw, sizeof pek_raw);
    CHECK(fw(&t, MC_SEV_CMD_PEK_CERT_IMPORT, ib, sizeof ib) == MC_FW_BAD_SIGNATURE);
    pek_raw[0x41C] ^= 1;
    pek_raw[0x20] ^= 1; /* the body no longer certifies this platform's PEK */
    hw_write(&t, DATA_PA, pek_raw, sizeof pek_raw);
    CHECK(fw(&t, MC_SEV_CMD_PEK_CERT_IMPORT, ib, sizeof ib) == MC_FW_INVALID_CERTIFICATE);
    pek_raw[0x20] ^= 1;
    hw_write(&t, DATA_PA, pek_raw, sizeof pek_raw);
    mc_put_le64(ib + 0x10, 0x7FFFFFFFF000ull);
    CHECK(fw(&t, MC_SEV_CMD_PEK_CERT_IMPORT, ib, sizeof ib) == MC_FW_INVALID_ADDRESS);
    mc_put_le64(ib + 0x10, DATA_PA + 0x1000);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);

    CHECK(fw(&t, MC_SEV_CMD_PEK_CERT_IMPORT, ib, sizeof ib) == 0);
    uint8_t ps[0x0C] = {0};
    CHECK(fw(&t, MC_SEV_CMD_PLATFORM_STATUS, ps, sizeof ps) == 0 && (ps[3] & 1));
    CHECK(export_pdh(&t, pdh2, chain) == 0);
    CHECK(memcmp(pdh, pdh2, sizeof pdh) != 0); /* a new PDH after import */
    struct mc_sev_cert np, nk, no;
    CHECK(mc_sev_cert_parse(pdh2, sizeof pdh2, &np, NULL) == MC_OK);
    CHECK(mc_sev_cert_parse(chain, MC_SEV_CERT_LEN, &nk, NULL) == MC_OK);
    CHECK(mc_sev_cert_parse(chain + MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &no, NULL) == MC_OK);
    CHECK_MEM(chain + MC_SEV_CERT_LEN, oca_raw, MC_SEV_CERT_LEN);
    CHECK(mc_sev_cert_verify(&np, &nk, NULL) == MC_OK && mc_sev_cert_verify(&nk, &no, NULL) == MC_OK);
    fwt_snap(&t, s0);
    CHECK(fw(&t, MC_SEV_CMD_PEK_CERT_IMPORT, ib, sizeof ib) == MC_FW_ALREADY_OWNED);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);

    /* PDH_GEN: a new PDH under the same PEK; PEK_GEN: self-owned again, new PEK. */
    CHECK(fw(&t, MC_SEV_CMD_PDH_GEN, NULL, 0) == 0);
    static uint8_t pdh3[MC_SEV_CERT_LEN], chain3[MC_SEV_CHAIN_LEN];
    CHECK(export_pdh(&t, pdh3, chain3) == 0);
    CHECK(memcmp(pdh3, pdh2, sizeof pdh3) != 0 && !memcmp(chain3, chain, MC_SEV_CERT_LEN));
    CHECK(fw(&t, MC_SEV_CMD_PEK_GEN, NULL, 0) == 0);
    CHECK(fw(&t, MC_SEV_CMD_PLATFORM_STATUS, ps, sizeof ps) == 0 && !(ps[3] & 1));
    CHECK(export_pdh(&t, pdh3, chain3) == 0);
    CHECK(memcmp(chain3, chain, MC_SEV_CERT_SIGNED_LEN) != 0);
    /* PLATFORM_RESET only in UNINIT; it keeps the CEK (fused) but replaces OCA/PEK/PDH. */
    CHECK(fw(&t, MC_SEV_CMD_PLATFORM_RESET, NULL, 0) == MC_FW_INVALID_PLATFORM_STATE);
    CHECK(fw(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0) == 0);
    CHECK(fw(&t, MC_SEV_CMD_PLATFORM_RESET, NULL, 0) == 0);
    CHECK(fwt_init(&t, 0) == 0);
    static uint8_t pdh4[MC_SEV_CERT_LEN], chain4[MC_SEV_CHAIN_LEN];
    CHECK(export_pdh(&t, pdh4, chain4) == 0);
    CHECK(memcmp(chain4, chain3, MC_SEV_CERT_SIGNED_LEN) != 0);
    CHECK_MEM(chain4 + 2 * MC_SEV_CERT_LEN, chain3 + 2 * MC_SEV_CERT_LEN, MC_SEV_CERT_LEN);
    mc_pk_free(ok);
    mc_rng_destroy(rng);
    fwt_close(&t);
}

/* ---- ASIDs, flush rules, DBG, COPY, wrong ASID --------------------------------------------- */

static void test_asid_rules(void)
{
    struct fwt t;
    CHECK(fwt_open(&t, "milan", NULL, tweak_fast) == 0); /* ES ASIDs 1..127, SEV 128..509 */
    uint8_t ib[0x14] = {0};
    CHECK(fw(&t, MC_SEV_CMD_INIT, ib, sizeof ib) == 0);
    uint32_t h1, h2, h3;
    CHECK(fwt_launch(&t, 0, 0, &h1) == 0);
    CHECK(fwt_activate(&t, h1, 200) == MC_FW_DF_FLUSH_REQUIRED); /* dirty after INIT */
    CHECK(fw(&t, MC_SEV_CMD_DF_FLUSH, NULL, 0) == MC_FW_WBINVD_REQUIRED);
    mc_psp_wbinvd(t.psp, 0);
    CHECK(fw(&t, MC_SEV_CMD_DF_FLUSH, NULL, 0) == MC_FW_WBINVD_REQUIRED); /* core 1 still owes one */
    mc_psp_wbinvd(t.psp, 1);
    CHECK(fw(&t, MC_SEV_CMD_DF_FLUSH, NULL, 0) == 0);
    uint8_t s0[32], s1[32];
    fwt_snap(&t, s0);
    CHECK(fwt_activate(&t, h1, 0) == MC_FW_INVALID_ASID);
    CHECK(fwt_activate(&t, h1, 510) == MC_FW_INVALID_ASID);
    CHECK(fwt_activate(&t, h1, 5) == MC_FW_INVALID_ASID); /* an ES ASID for a non-ES guest */
    CHECK(fwt_activate(&t, 9, 200) == MC_FW_INVALID_GUEST);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    CHECK(fwt_activate(&t, h1, 200) == 0);
    CHECK(fwt_activate(&t, h1, 201) == MC_FW_ACTIVE);
    CHECK(fwt_launch(&t, 0, 0, &h2) == 0);
    CHECK(fwt_activate(&t, h2, 200) == MC_FW_ASID_OWNED);
    CHECK(fwt_activate(&t, h2, 201) == 0);
    /* DEACTIVATE makes the ASID dirty: reuse needs WBINVD on every core + DF_FLUSH. */
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DEACTIVATE, h1) == 0);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DEACTIVATE, h1) == MC_FW_INACTIVE);
    CHECK(mc_psp_asid_dirty(t.psp, 200));
    CHECK(fwt_launch(&t, 0, 0, &h3) == 0);
    CHECK(fwt_activate(&t, h3, 200) == MC_FW_DF_FLUSH_REQUIRED);
    CHECK(fw(&t, MC_SEV_CMD_DF_FLUSH, NULL, 0) == MC_FW_WBINVD_REQUIRED);
    CHECK(fwt_flush(&t) == 0);
    CHECK(!mc_psp_asid_dirty(t.psp, 200));
    CHECK(fwt_activate(&t, h3, 200) == 0);

    /* Guest 2 (ASID 201): DBG_ENCRYPT writes under its key, COPY re-encrypts for the new
     * address, DBG_DECRYPT reads back; guest 3 (ASID 200) sees garbage at the same place. */
    uint8_t pt[8192], out[8192];
    for (size_t i = 0; i < sizeof pt; i++)
        pt[i] = (uint8_t)(i ^ 0x5A);
    hw_write(&t, DATA_PA, pt, sizeof pt);
    CHECK(dbg_cmd(&t, MC_SEV_CMD_DBG_ENCRYPT, h2, DATA_PA, GUEST_PA, 8192) == 0);
    guest_view(&t, 201, GUEST_PA, out, 8192);
    CHECK_MEM(out, pt, 8192);
    guest_view(&t, 200, GUEST_PA, out, 64);
    CHECK(memcmp(out, pt, 64) != 0);
    uint8_t cb[0x18] = {0};
    mc_put_le32(cb, h2);
    mc_put_le32(cb + 4, 8192);
    mc_put_le64(cb + 8, GUEST_PA);
    mc_put_le64(cb + 16, GUEST_PA + 0x10000);
    CHECK(fw(&t, MC_SEV_CMD_COPY, cb, sizeof cb) == 0);
    guest_view(&t, 201, GUEST_PA + 0x10000, out, 8192);
    CHECK_MEM(out, pt, 8192);
    fwt_snap(&t, s0);
    mc_put_le32(cb + 4, 100);
    CHECK(fw(&t, MC_SEV_CMD_COPY, cb, sizeof cb) == MC_FW_INVALID_LENGTH);
    mc_put_le32(cb + 4, 4096);
    mc_put_le64(cb + 16, GUEST_PA + 0x10010);
    CHECK(fw(&t, MC_SEV_CMD_COPY, cb, sizeof cb) == MC_FW_INVALID_ADDRESS);
    CHECK(dbg_cmd(&t, MC_SEV_CMD_DBG_DECRYPT, h2, GUEST_PA + 8, DATA2_PA, 16) == MC_FW_INVALID_ADDRESS);
    CHECK(dbg_cmd(&t, MC_SEV_CMD_DBG_DECRYPT, h2, GUEST_PA, DATA2_PA, 15) == MC_FW_INVALID_LENGTH);
    CHECK(dbg_cmd(&t, MC_SEV_CMD_DBG_DECRYPT, h2, 0x3FFFFF0ull, DATA2_PA, 32) == MC_FW_INVALID_ADDRESS);
    CHECK(dbg_cmd(&t, MC_SEV_CMD_DBG_DECRYPT, h1, GUEST_PA, DATA2_PA, 16) == MC_FW_INACTIVE);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    CHECK(dbg_cmd(&t, MC_SEV_CMD_DBG_DECRYPT, h2, GUEST_PA + 0x10000, DATA2_PA, 8192) == 0);
    hw_read(&t, DATA2_PA, out, 8192);
    CHECK_MEM(out, pt, 8192);
    /* SHUTDOWN destroys every guest and unbinds their keys. */
    CHECK(fw(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0) == 0);
    CHECK(mc_psp_guest_count(t.psp) == 0 && memctl_asid_slot(mc_machine_memctl(t.m), 201) == 0);
    fwt_close(&t);
}

/* ---- bad input: spec status and no state change ------------------------------------------- */

static void test_bad_inputs(void)
{
    struct fwt t;
    CHECK(fwt_open(&t, "milan", NULL, tweak_fast) == 0);
    uint8_t s0[32], s1[32];
    uint8_t ib[0x24] = {0};
    fwt_snap(&t, s0);
    mc_put_le32(ib, 2); /* unknown INIT flag */
    CHECK(fw(&t, MC_SEV_CMD_INIT, ib, 0x14) == MC_FW_INVALID_CONFIG);
    mc_put_le32(ib, 0);
    mc_put_le32(ib + 4, 1); /* reserved */
    CHECK(fw(&t, MC_SEV_CMD_INIT, ib, 0x14) == MC_FW_INVALID_CONFIG);
    memset(ib, 0, sizeof ib);
    mc_put_le32(ib, 1);
    mc_put_le64(ib + 8, 0x1000000);
    mc_put_le32(ib + 0x10, 0x80000);
    CHECK(fw(&t, MC_SEV_CMD_INIT, ib, 0x14) == MC_FW_INVALID_LENGTH);
    mc_put_le64(ib + 8, 0x1080000);
    mc_put_le32(ib + 0x10, MC_SEV_TMR_LEN);
    CHECK(fw(&t, MC_SEV_CMD_INIT, ib, 0x14) == MC_FW_INVALID_ADDRESS);
    mc_put_le64(ib + 8, 0x4000000); /* beyond 64 MiB of DRAM */
    CHECK(fw(&t, MC_SEV_CMD_INIT, ib, 0x14) == MC_FW_INVALID_ADDRESS);
    /* INIT_EX: length field, NV alignment and size. */
    memset(ib, 0, sizeof ib);
    mc_put_le32(ib, 0x20);
    CHECK(fw(&t, MC_SEV_CMD_INIT_EX, ib, 0x24) == MC_FW_INVALID_LENGTH);
    mc_put_le32(ib, 0x24);
    mc_put_le64(ib + 0x18, 0x200800);
    mc_put_le32(ib + 0x20, MC_SEV_NV_LEN);
    CHECK(fw(&t, MC_SEV_CMD_INIT_EX, ib, 0x24) == MC_FW_INVALID_ADDRESS);
    mc_put_le64(ib + 0x18, 0x200000);
    mc_put_le32(ib + 0x20, 0x1000);
    CHECK(fw(&t, MC_SEV_CMD_INIT_EX, ib, 0x24) == MC_FW_INVALID_LENGTH);
    /* A command buffer outside DRAM. */
    uint32_t st = 0;
    CHECK(mc_psp_command(t.psp, MC_SEV_CMD_INIT, 0x3FFFFF0ull, &st, NULL) == MC_OK && st == MC_FW_INVALID_ADDRESS);
    CHECK(mc_psp_command(t.psp, MC_SEV_CMD_INIT, UINT64_MAX - 3, &st, NULL) == MC_OK && st == MC_FW_INVALID_ADDRESS);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);

    CHECK(fwt_init(&t, MC_SEV_INIT_FLAG_ES) == 0);
    uint32_t h;
    CHECK(fwt_launch(&t, 0, 0, &h) == 0);
    fwt_snap(&t, s0);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, GUEST_PA, 16) == MC_FW_INACTIVE);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    CHECK(fwt_activate(&t, h, 300) == 0);
    fwt_snap(&t, s0);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, GUEST_PA + 8, 16) == MC_FW_INVALID_ADDRESS);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, GUEST_PA, 0) == MC_FW_INVALID_LENGTH);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, GUEST_PA, 24) == MC_FW_INVALID_LENGTH);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, 0x3FFF000ull, 0x2000) == MC_FW_INVALID_ADDRESS);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, 1ull << 40, 16) == MC_FW_INVALID_ADDRESS);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, 55, GUEST_PA, 16) == MC_FW_INVALID_GUEST);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_VMSA, h, GUEST_PA, 4096) == MC_FW_UNSUPPORTED);
    uint8_t mb[0x14] = {0};
    mc_put_le32(mb, h);
    mc_put_le64(mb + 8, DATA_PA);
    mc_put_le32(mb + 0x10, 0x2F);
    CHECK(fw(&t, MC_SEV_CMD_LAUNCH_MEASURE, mb, sizeof mb) == MC_FW_INVALID_LENGTH && mc_le32(mb + 0x10) == 0x30);
    mc_put_le64(mb + 8, 0x3FFFFE0ull);
    mc_put_le32(mb + 0x10, 0x30);
    CHECK(fw(&t, MC_SEV_CMD_LAUNCH_MEASURE, mb, sizeof mb) == MC_FW_INVALID_ADDRESS);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_DECOMMISSION, h) == MC_FW_ACTIVE);
    CHECK(fwt_handle_cmd(&t, MC_SEV_CMD_LAUNCH_FINISH, h) == MC_FW_INVALID_GUEST_STATE);
    /* LAUNCH_START: a session with the wrong lengths; a GODH that is not a PDH cert. */
    uint8_t lb[0x24] = {0};
    mc_put_le64(lb + 8, DATA_PA);
    mc_put_le32(lb + 0x10, 0x800);
    mc_put_le64(lb + 0x18, DATA2_PA);
    mc_put_le32(lb + 0x20, 0x80);
    CHECK(fw(&t, MC_SEV_CMD_LAUNCH_START, lb, sizeof lb) == MC_FW_INVALID_LENGTH);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    fwt_close(&t);
}

static void test_session_tamper(void)
{
    struct fwt t;
    CHECK(fwt_open(&t, "rome", NULL, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0);
    static uint8_t pdh[MC_SEV_CERT_LEN], chain[MC_SEV_CHAIN_LEN];
    CHECK(export_pdh(&t, pdh, chain) == 0);
    struct mc_sev_tks tks;
    memset(&tks, 0x42, sizeof tks);
    uint8_t godh[MC_SEV_CERT_LEN], ses[MC_SEV_SESSION_LEN], s0[32], s1[32];
    CHECK(owner_session(&t, pdh, 0, &tks, godh, ses) == 0);
    uint32_t h;
    fwt_snap(&t, s0);
    ses[0x40] ^= 1; /* WRAP_MAC */
    CHECK(launch_with_session(&t, 0, godh, ses, &h) == MC_FW_BAD_MEASUREMENT);
    ses[0x40] ^= 1;
    ses[0x10] ^= 1; /* WRAP_TK: the wrap MAC no longer matches */
    CHECK(launch_with_session(&t, 0, godh, ses, &h) == MC_FW_BAD_MEASUREMENT);
    ses[0x10] ^= 1;
    CHECK(launch_with_session(&t, MC_SEV_POLICY_NODBG, godh, ses, &h) == MC_FW_BAD_MEASUREMENT); /* policy MAC */
    godh[8] ^= 1; /* usage */
    CHECK(launch_with_session(&t, 0, godh, ses, &h) == MC_FW_INVALID_CERTIFICATE);
    godh[8] ^= 1;
    godh[0x20] ^= 1; /* QX: off the curve */
    CHECK(launch_with_session(&t, 0, godh, ses, &h) == MC_FW_INVALID_CERTIFICATE);
    godh[0x20] ^= 1;
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    CHECK(launch_with_session(&t, 0, godh, ses, &h) == 0);
    fwt_close(&t);
}

/* ---- policy bits ------------------------------------------------------------------------- */

static void test_policy_bits(void)
{
    struct fwt t;
    CHECK(fwt_open(&t, "milan", NULL, tweak_fast) == 0);
    CHECK(fwt_init(&t, 0) == 0); /* no SEV-ES */
    uint32_t h, h2;
    uint8_t s0[32], s1[32];
    fwt_snap(&t, s0);
    CHECK(fwt_launch(&t, MC_SEV_POLICY_ES, 0, &h) == MC_FW_UNSUPPORTED);   /* ES needs INIT's ES flag */
    CHECK(fwt_launch(&t, 1u << 6, 0, &h) == MC_FW_POLICY_FAILURE);        /* reserved bit */
    CHECK(fwt_launch(&t, 0x8000u, 0, &h) == MC_FW_POLICY_FAILURE);        /* reserved bit 15 */
    CHECK(fwt_launch(&t, (2u << 16), 0, &h) == MC_FW_POLICY_FAILURE);     /* needs API 2.0 */
    CHECK(fwt_launch(&t, (1u << 16) | (56u << 24), 0, &h) == MC_FW_POLICY_FAILURE); /* needs 1.56 */
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    CHECK(fwt_launch(&t, (1u << 16) | (55u << 24), 0, &h) == 0); /* 1.55 is fine */
    CHECK(fw(&t, MC_SEV_CMD_SHUTDOWN, NULL, 0) == 0);
    CHECK(fwt_init(&t, MC_SEV_INIT_FLAG_ES) == 0);

    /* NODBG: DBG_DECRYPT and DBG_ENCRYPT refused. */
    CHECK(fwt_launch(&t, MC_SEV_POLICY_NODBG, 0, &h) == 0 && fwt_activate(&t, h, 130) == 0);
    fwt_snap(&t, s0);
    CHECK(dbg_cmd(&t, MC_SEV_CMD_DBG_DECRYPT, h, GUEST_PA, DATA_PA, 16) == MC_FW_POLICY_FAILURE);
    CHECK(dbg_cmd(&t, MC_SEV_CMD_DBG_ENCRYPT, h, DATA_PA, GUEST_PA, 16) == MC_FW_POLICY_FAILURE);
    /* NOKS: no other guest may share its key. */
    CHECK(fwt_launch(&t, MC_SEV_POLICY_NODBG | MC_SEV_POLICY_NOKS, 0, &h2) == 0);
    fwt_snap(&t, s0);
    CHECK(fwt_launch(&t, MC_SEV_POLICY_NODBG | MC_SEV_POLICY_NOKS, h2, NULL) == MC_FW_POLICY_FAILURE);
    CHECK(fwt_launch(&t, 0, h, NULL) == MC_FW_POLICY_FAILURE); /* sharing needs the same policy */
    CHECK(fwt_launch(&t, MC_SEV_POLICY_NODBG, 77, NULL) == MC_FW_INVALID_GUEST);
    fwt_snap(&t, s1);
    CHECK_MEM(s0, s1, 32);
    uint32_t h3;
    CHECK(fwt_launch(&t, MC_SEV_POLICY_NODBG, h, &h3) == 0); /* sharing allowed without NOKS */
    /* The shared key: guest h3 on another ASID decrypts what guest h encrypted at that address. */
    CHECK(fwt_activate(&t, h3, 131) == 0);
    uint8_t data[64], v1[64], v2[64];
    memset(data, 0x77, sizeof data);
    hw_write(&t, GUEST_PA + 0x20000, data, sizeof data);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_DATA, h, GUEST_PA + 0x20000, 64) == 0);
    guest_view(&t, 130, GUEST_PA + 0x20000, v1, 64);
    mc_machine_wbinvd(t.m, NULL); /* no coherency between ASIDs: write back before the other ASID reads */
    guest_view(&t, 131, GUEST_PA + 0x20000, v2, 64);
    CHECK_MEM(v1, data, 64);
    CHECK_MEM(v2, data, 64);
    /* ES: VMSA only with ES; an ES guest must use an ES ASID (1..127 on Milan). */
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_VMSA, h, GUEST_PA, 4096) == MC_FW_UNSUPPORTED);
    uint32_t he;
    CHECK(fwt_launch(&t, MC_SEV_POLICY_ES, 0, &he) == 0);
    CHECK(fwt_activate(&t, he, 200) == MC_FW_INVALID_ASID);
    CHECK(fwt_activate(&t, he, 7) == 0);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_VMSA, he, GUEST_PA, 4095 & ~15u) == MC_FW_INVALID_LENGTH);
    CHECK(fwt_update(&t, MC_SEV_CMD_LAUNCH_UPDATE_VMSA, he, GUEST_PA, 4096) == 0);
    fwt_close(&t);
}

/* ---- SEND_START: NOSEND, DOMAIN and SEV policy bits ----------------------------------------- */

static uint32_t running_guest(struct fwt *t, uint32_t policy)
{
    uint32_t h;
    if (fwt_launch(t, policy, 0, &h) || fwt_measure(t, h, NULL) || fwt_handle_cmd(t, MC_SEV_CMD_LAUNCH_FINISH, h))
        return 0;
    return h;
}

/* SEND_START to a target described by pdh, chain (PEK||OCA||CEK) and amd (ASK||ARK). */
static uint32_t send_start(struct fwt *t, uint32_t h, const uint8_t *pdh, const uint8_t *chain, const uint8_t *amd,
                           uint32_t amd_len, uint32_t ses_len)
{
    hw_write(t, DATA_PA, pdh, MC_SEV_CERT_LEN);
    hw_write(t, DATA_PA + 0x1000, chain, MC_SEV_CHAIN_LEN);
    hw_write(t, DATA_PA + 0x3000, amd, amd_len);
    uint8_t b[0x44] = {0};
    mc_put_le32(b, h);
    mc_put_le64(b + 0x08, DATA_PA);
    mc_put_le32(b + 0x10, MC_SEV_CERT_LEN);
    mc_put_le64(b + 0x18, DATA_PA + 0x1000);
    mc_put_le32(b + 0x20, MC_SEV_CHAIN_LEN);
    mc_put_le64(b + 0x28, DATA_PA + 0x3000);
    mc_put_le32(b + 0x30, amd_len);
    mc_put_le64(b + 0x38, DATA2_PA);
    mc_put_le32(b + 0x40, ses_len);
    uint32_t st = fw(t, MC_SEV_CMD_SEND_START, b, sizeof b);
    if (st == MC_FW_INVALID_LENGTH)
        CHECK(mc_le32(b + 0x40) == 0x80);
    return st;
}

static void tweak_rome_old(struct mc_psp_config *c) { c->root_bits = 2048; }

static void test_send_start_policy(void)
{
    struct fwt a, b, c;
    fwt_seed = "chip-a";
    CHECK(fwt_open(&a, "milan", NULL, tweak_fast) == 0 && fwt_init(&a, 0) == 0);
    fwt_seed = "chip-b";
    CHECK(fwt_open(&b, "milan", NULL, tweak_fast) == 0 && fwt_init(&b, 0) == 0);
    fwt_seed = "chip-c";
    CHECK(fwt_open(&c, "rome", NULL, tweak_rome_old) == 0 && fwt_init(&c, 0) == 0);
    fwt_seed = "fw-test-seed";
    static uint8_t pdh_a[MC_SEV_CERT_LEN], chain_a[MC_SEV_CHAIN_LEN], pdh_b[MC_SEV_CERT_LEN],
        chain_b[MC_SEV_CHAIN_LEN], pdh_c[MC_SEV_CERT_LEN], chain_c[MC_SEV_CHAIN_LEN], amd_b[0xC80], amd_c[0xC80];
    CHECK(export_pdh(&a, pdh_a, chain_a) == 0 && export_pdh(&b, pdh_b, chain_b) == 0 &&
          export_pdh(&c, pdh_c, chain_c) == 0);
    /* What AMD's key server hands out: the ASK-signed CEK and ASK || ARK of the target. */
    size_t n1, n2, n3;
    const struct mc_sev_identity *idb = mc_psp_identity(b.psp, NULL), *idc = mc_psp_identity(c.psp, NULL);
    CHECK(idb && idc);
    CHECK(mc_sev_identity_cert(idb, MC_SEV_ID_CEK, chain_b + 2 * MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &n1, NULL) == MC_OK);
    CHECK(mc_sev_identity_cert(idb, MC_SEV_ID_ASK, amd_b, sizeof amd_b, &n1, NULL) == MC_OK);
    CHECK(mc_sev_identity_cert(idb, MC_SEV_ID_ARK, amd_b + n1, sizeof amd_b - n1, &n2, NULL) == MC_OK);
    CHECK(mc_sev_identity_cert(idc, MC_SEV_ID_CEK, chain_c + 2 * MC_SEV_CERT_LEN, MC_SEV_CERT_LEN, &n3, NULL) == MC_OK);
    size_t c1, c2;
    CHECK(mc_sev_identity_cert(idc, MC_SEV_ID_ASK, amd_c, sizeof amd_c, &c1, NULL) == MC_OK);
    CHECK(mc_sev_identity_cert(idc, MC_SEV_ID_ARK, amd_c + c1, sizeof amd_c - c1, &c2, NULL) == MC_OK);
    uint32_t amd_b_len = (uint32_t)(n1 + n2), amd_c_len = (uint32_t)(c1 + c2);

    uint8_t s0[32], s1[32];
    uint32_t h_nosend = running_guest(&a, MC_SEV_POLICY_NOSEND);
    uint32_t h_domain = running_guest(&a, MC_SEV_POLICY_DOMAIN);
    uint32_t h_sev = running_guest(&a, MC_SEV_POLICY_SEV | (1u << 16) | (55u << 24));
    uint32_t h_plain = running_guest(&a, 0);
    CHECK(h_nosend && h_domain && h_sev && h_plain);
    fwt_snap(&a, s0);
    CHECK(send_start(&a, h_plain, pdh_b, chain_b, amd_b, amd_b_len, 0) == MC_FW_INVALID_LENGTH); /* size query */
    CHECK(send_start(&a, h_nosend, pdh_b, chain_b, amd_b, amd_b_len, 0x80) == MC_FW_POLICY_FAILURE);
    /* DOMAIN: the target must have the same owner (OCA). */
    CHECK(send_start(&a, h_domain, pdh_b, chain_b, amd_b, amd_b_len, 0x80) == MC_FW_POLICY_FAILURE);
    /* The checks pass: the session is made (SUPDATE); SEND_CANCEL gives the guest back (RUNNING). */
    CHECK(send_start(&a, h_domain, pdh_a, chain_a, amd_b, amd_b_len, 0x80) == MC_FW_SUCCESS &&
          fwt_handle_cmd(&a, MC_SEV_CMD_SEND_CANCEL, h_domain) == MC_FW_SUCCESS);
    uint8_t bad[MC_SEV_CERT_LEN];
    memcpy(bad, pdh_a, sizeof bad);
    bad[0x41C] ^= 1;
    CHECK(send_start(&a, h_domain, bad, chain_a, amd_b, amd_b_len, 0x80) == MC_FW_BAD_SIGNATURE);
    /* SEV: the chain up to the ARK must verify and the target must run API >= 1.55. */
    CHECK(send_start(&a, h_sev, pdh_b, chain_b, amd_b, amd_b_len, 0x80) == MC_FW_SUCCESS && /* checks pass */
          fwt_handle_cmd(&a, MC_SEV_CMD_SEND_CANCEL, h_sev) == MC_FW_SUCCESS);
    CHECK(send_start(&a, h_sev, pdh_c, chain_c, amd_c, amd_c_len, 0x80) == MC_FW_POLICY_FAILURE); /* Rome: 0.24 */
    CHECK(send_start(&a, h_sev, pdh_b, chain_b, amd_c, amd_c_len, 0x80) == MC_FW_BAD_SIGNATURE); /* other ASK */
    amd_b[0x80] ^= 1;
    CHECK(send_start(&a, h_sev, pdh_b, chain_b, amd_b, amd_b_len, 0x80) == MC_FW_BAD_SIGNATURE);
    amd_b[0x80] ^= 1;
    CHECK(send_start(&a, h_sev, pdh_b, chain_b, amd_b, 0x100, 0x80) == MC_FW_INVALID_LENGTH);
    CHECK(send_start(&a, h_sev, pdh_b, chain_a, amd_b, amd_b_len, 0x80) == MC_FW_BAD_SIGNATURE); /* PDH not by that PEK */
    fwt_snap(&a, s1);
    CHECK_MEM(s0, s1, 32);
    /* Not RUNNING: INVALID_GUEST_STATE. */
    uint32_t h_new;
    CHECK(fwt_launch(&a, 0, 0, &h_new) == 0);
    CHECK(send_start(&a, h_new, pdh_b, chain_b, amd_b, amd_b_len, 0x80) == MC_FW_INVALID_GUEST_STATE);
    fwt_close(&a);
    fwt_close(&b);
    fwt_close(&c);
}

int main(void)
{
    RUN(test_reference_kats);
    RUN(test_full_launch);
    RUN(test_kat_measure_through_firmware);
    RUN(test_identity_commands);
    RUN(test_asid_rules);
    RUN(test_bad_inputs);
    RUN(test_session_tamper);
    RUN(test_policy_bits);
    RUN(test_send_start_policy);
    return check_summary();
}
