/* Tests of the launch channel: every row of vectors/sev-launch-kat.md through the real code
 * paths (KDF rows are in test_kdf), the §15 LAUNCH_SECRET answer, a full owner <-> PSP round trip
 * over real ECDH, attestation reports, the secret table and hostile inputs. */
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/sev_owner.h>
#include <memcrypt/sev_session.h>

#include "check.h"
#include "crypto/crypto.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
    size_t got = 0;
    if (mc_hex_decode(h, out, n, &got, NULL) != MC_OK || got != n)
        memset(out, 0xEE, n);
}

/* W1 and M1: session wrap with all-zero inputs and a 16-byte zero Z. */
static void test_kat_w1(void)
{
    uint8_t z[16] = {0}, nonce[16] = {0}, iv[16] = {0}, want[32];
    struct mc_sev_tks tks;
    memset(&tks, 0, sizeof tks);
    struct mc_sev_session s;
    CHECK(mc_sev_session_wrap(z, 16, nonce, iv, &tks, 0, &s, NULL) == MC_OK);
    unhex("2137bc7f9bb8bd7c3e55a576a15d3454b3856b8ba27afadf46dcfee9f02c02c4", want, 32);
    CHECK_MEM(s.wrap_tk, want, 32);
    unhex("3176c0752738bd9d5e86689534020f528c088f16238826b000b327dee6aeed7d", want, 32);
    CHECK_MEM(s.wrap_mac, want, 32);
    unhex("aa7855e13839dd767cd5da7c1ff5036540c9264b7a803029315e55375287b4af", want, 32);
    CHECK_MEM(s.policy_mac, want, 32);
    /* Unwrap on the PSP side gives the keys back; wrong policy or a flipped bit is BAD_MAC. */
    struct mc_sev_tks back;
    enum mc_sev_chan_result why;
    CHECK(mc_sev_session_unwrap(z, 16, &s, 0, &back, &why, NULL) == MC_OK && why == MC_SEV_CHAN_OK);
    CHECK_MEM(&back, &tks, sizeof tks);
    CHECK(mc_sev_session_unwrap(z, 16, &s, 1, &back, &why, NULL) == MC_E_VERIFY && why == MC_SEV_CHAN_BAD_MAC);
    uint8_t enc[MC_SEV_SESSION_LEN];
    mc_sev_session_encode(&s, enc);
    for (size_t off = 0; off < MC_SEV_SESSION_LEN; off += 5) {
        enc[off] ^= 4;
        struct mc_sev_session t;
        mc_sev_session_decode(enc, &t);
        CHECK_MSG(mc_sev_session_unwrap(z, 16, &t, 0, &back, &why, NULL) == MC_E_VERIFY && why == MC_SEV_CHAN_BAD_MAC,
                  "offset %zu", off);
        enc[off] ^= 4;
    }
}

/* L1: LAUNCH_MEASURE, API 0.18 build 15. */
static void test_kat_l1(void)
{
    uint8_t tik[16], ld[32], mnonce[16], want[32], got[32];
    unhex("66320db73158a35a255d051758e95ed4", tik, 16);
    unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", ld, 32);
    unhex("4fbe0bedbad6c86ae8f68971d103e554", mnonce, 16);
    unhex("6faab2daae389bcd3405a05d6cafe33c0414f7bedd0bae19ba5f38b7fd1664ea", want, 32);
    CHECK(mc_sev_launch_measure(tik, 0, 18, 15, 0, ld, mnonce, got, NULL) == MC_OK);
    CHECK_MEM(got, want, 32);
    /* The owner-side check accepts it and rejects any change. */
    uint8_t m[48];
    memcpy(m, want, 32);
    memcpy(m + 32, mnonce, 16);
    CHECK(mc_sev_owner_verify_measurement(tik, m, 0, 18, 15, 0, ld, NULL, NULL) == MC_OK);
    CHECK(mc_sev_owner_verify_measurement(tik, m, 0, 18, 14, 0, ld, NULL, NULL) == MC_E_VERIFY);
    CHECK(mc_sev_owner_verify_measurement(tik, m, 0, 18, 15, 1, ld, NULL, NULL) == MC_E_VERIFY);
    m[47] ^= 1;
    CHECK(mc_sev_owner_verify_measurement(tik, m, 0, 18, 15, 0, ld, NULL, NULL) == MC_E_VERIFY);
    /* API < 0.17: no prefix, so the MAC differs and equals HMAC(TIK, policy||LD||MNONCE). */
    uint8_t old[32], msg[52], ref[32];
    CHECK(mc_sev_launch_measure(tik, 0, 16, 15, 0, ld, mnonce, old, NULL) == MC_OK);
    memset(msg, 0, 4);
    memcpy(msg + 4, ld, 32);
    memcpy(msg + 36, mnonce, 16);
    CHECK(mc_hmac_sha256(tik, 16, msg, sizeof msg, ref, NULL) == MC_OK);
    CHECK_MEM(old, ref, 32);
}

/* §15 row 3: LAUNCH_SECRET packet. */
static void test_kat_secret(void)
{
    struct mc_sev_tks tks;
    uint8_t iv[16], plain[32], measure[32] = {0}, want[32], trans[32];
    for (int i = 0; i < 16; i++) {
        tks.tek[i] = (uint8_t)i;
        tks.tik[i] = (uint8_t)(0x10 + i);
        iv[i] = (uint8_t)(0x20 + i);
    }
    memset(plain, 0x41, 32);
    struct mc_sev_secret_hdr h;
    CHECK(mc_sev_secret_seal(&tks, true, iv, plain, 32, measure, &h, trans, NULL) == MC_OK);
    unhex("1aa93f6f1a053dd50a6088ee361781990ae55d6363cf79e943227fb931de89b6", want, 32);
    CHECK_MEM(trans, want, 32);
    unhex("4e7658bee48a9c5382077849829b0ccd916e7bcb094ef9528179a3b656db0382", want, 32);
    CHECK_MEM(h.mac, want, 32);
    CHECK(h.flags == 0);
    /* PSP side opens it; hostile variants fail with the right reason and write nothing. */
    uint8_t hdr[MC_SEV_SECRET_HDR_LEN], out[32];
    mc_sev_secret_hdr_encode(&h, hdr);
    enum mc_sev_chan_result why;
    CHECK(mc_sev_secret_open(&tks, true, hdr, sizeof hdr, trans, 32, 32, measure, out, &why, NULL) == MC_OK);
    CHECK_MEM(out, plain, 32);
    memset(out, 0x5a, 32);
    CHECK(mc_sev_secret_open(&tks, true, hdr, sizeof hdr - 1, trans, 32, 32, measure, out, &why, NULL) != MC_OK &&
          why == MC_SEV_CHAN_BAD_LENGTH);
    CHECK(mc_sev_secret_open(&tks, true, hdr, sizeof hdr, trans, 32, 16, measure, out, &why, NULL) != MC_OK &&
          why == MC_SEV_CHAN_BAD_LENGTH);
    CHECK(mc_sev_secret_open(&tks, true, hdr, sizeof hdr, trans, 24, 24, measure, out, &why, NULL) != MC_OK &&
          why == MC_SEV_CHAN_BAD_LENGTH);
    uint8_t m2[32] = {1};
    CHECK(mc_sev_secret_open(&tks, true, hdr, sizeof hdr, trans, 32, 32, m2, out, &why, NULL) == MC_E_VERIFY &&
          why == MC_SEV_CHAN_BAD_MAC);
    trans[3] ^= 1;
    CHECK(mc_sev_secret_open(&tks, true, hdr, sizeof hdr, trans, 32, 32, measure, out, &why, NULL) == MC_E_VERIFY &&
          why == MC_SEV_CHAN_BAD_MAC);
    trans[3] ^= 1;
    hdr[0] = 1; /* COMPRESSED changes the MAC input too: still BAD_MAC unless MAC'd with it */
    CHECK(mc_sev_secret_open(&tks, true, hdr, sizeof hdr, trans, 32, 32, measure, out, &why, NULL) == MC_E_VERIFY);
    uint8_t all5a[32];
    memset(all5a, 0x5a, 32);
    CHECK_MEM(out, all5a, 32);
    /* Old API form: no MEASURE in the MAC. */
    struct mc_sev_secret_hdr h2;
    CHECK(mc_sev_secret_seal(&tks, false, iv, plain, 32, NULL, &h2, trans, NULL) == MC_OK);
    CHECK(memcmp(h2.mac, h.mac, 32) != 0);
    mc_sev_secret_hdr_encode(&h2, hdr);
    CHECK(mc_sev_secret_open(&tks, false, hdr, sizeof hdr, trans, 32, 32, NULL, out, &why, NULL) == MC_OK);
    CHECK(mc_sev_secret_seal(&tks, true, iv, plain, 20, measure, &h, trans, NULL) == MC_E_RANGE);
}

static void test_secret_table(void)
{
    uint8_t g[16];
    CHECK(mc_guid_parse("736869e5-84f0-4973-92ec-06879ce3da0b", g, NULL) == MC_OK);
    static const uint8_t want_g[16] = {0xe5, 0x69, 0x68, 0x73, 0xf0, 0x84, 0x73, 0x49,
                                       0x92, 0xec, 0x06, 0x87, 0x9c, 0xe3, 0xda, 0x0b};
    CHECK_MEM(g, want_g, 16);
    CHECK(mc_guid_parse("736869e5-84f0-4973-92ec-06879ce3da0", g, NULL) == MC_E_FORMAT);
    CHECK(mc_guid_parse("736869e5x84f0-4973-92ec-06879ce3da0b", g, NULL) == MC_E_FORMAT);
    CHECK(mc_guid_parse("736869e5-84f0-4973-92ec-06879ce3da0bb", g, NULL) == MC_E_FORMAT);
    struct mc_sev_secret_entry e = {{0}, (const uint8_t *)"hunter2", 7};
    memcpy(e.guid, want_g, 16);
    uint8_t t[128];
    size_t n = 0;
    CHECK(mc_sev_secret_table_build(&e, 1, MC_SEV_SECRET_PAD_LIBVIRT, t, sizeof t, &n, NULL) == MC_OK);
    CHECK_EQ_U64(n, 48); /* 20 + 27 = 47 -> padded to 48 */
    static const uint8_t hdr_g[16] = {0x42, 0xf5, 0x74, 0x1e, 0xdd, 0x71, 0x66, 0x4d,
                                      0x96, 0x3e, 0xef, 0x42, 0x87, 0xff, 0x17, 0x3b};
    CHECK_MEM(t, hdr_g, 16);
    CHECK_EQ_U64(mc_le32(t + 16), 47);
    CHECK_MEM(t + 20, want_g, 16);
    CHECK_EQ_U64(mc_le32(t + 36), 27);
    CHECK_MEM(t + 40, "hunter2", 7);
    CHECK(t[47] == 0);
    CHECK(mc_sev_secret_table_build(&e, 1, MC_SEV_SECRET_PAD_LIBVIRT, t, 40, &n, NULL) == MC_E_RANGE);
    /* An aligned table: sevctl adds nothing, libvirt a whole zero block (the length field is the
     * same). 20 + 20 + 24 = 64. */
    struct mc_sev_secret_entry e24 = {{0}, (const uint8_t *)"0123456789abcdefghijklmn", 24};
    CHECK(mc_sev_secret_table_build(&e24, 1, MC_SEV_SECRET_PAD_SEVCTL, t, sizeof t, &n, NULL) == MC_OK && n == 64);
    CHECK_EQ_U64(mc_le32(t + 16), 64);
    CHECK(mc_sev_secret_table_build(&e24, 1, MC_SEV_SECRET_PAD_LIBVIRT, t, sizeof t, &n, NULL) == MC_OK && n == 80);
    CHECK_EQ_U64(mc_le32(t + 16), 64);
    CHECK(mc_sev_secret_table_build(&e, 1, MC_SEV_SECRET_PAD_SEVCTL, t, sizeof t, &n, NULL) == MC_OK && n == 48);
}

/* Owner <-> emulated PSP over real ECDH, then LAUNCH_MEASURE, secret, and ATTESTATION. */
static void test_round_trip(void)
{
    struct mc_rng *rng = NULL;
    mc_rng_create((const uint8_t *)"roundtrip", 9, &rng, NULL);
    struct mc_sev_identity_params p = {0, 24, 15, 2048};
    struct mc_sev_identity *id = NULL;
    CHECK(mc_sev_identity_create(rng, &p, &id, NULL) == MC_OK);
    if (!id)
        return;
    uint8_t pdh[MC_SEV_CERT_LEN], chain[MC_SEV_CHAIN_LEN];
    mc_sev_identity_pdh_export(id, pdh, chain);
    uint8_t godh[MC_SEV_CERT_LEN], sess[MC_SEV_SESSION_LEN];
    struct mc_sev_tks owner, psp;
    CHECK(mc_sev_owner_session(rng, pdh, sizeof pdh, 0x1, godh, sess, &owner, NULL) == MC_OK);
    enum mc_sev_chan_result why;
    CHECK(mc_sev_identity_open_session(id, godh, sizeof godh, sess, sizeof sess, 0x1, &psp, &why, NULL) == MC_OK);
    CHECK_MEM(&psp, &owner, sizeof psp);
    /* Policy the host swapped -> BAD_MAC; bad GODH -> BAD_CERT; short blob -> BAD_LENGTH. */
    CHECK(mc_sev_identity_open_session(id, godh, sizeof godh, sess, sizeof sess, 0x0, &psp, &why, NULL) ==
              MC_E_VERIFY && why == MC_SEV_CHAN_BAD_MAC);
    CHECK(mc_sev_identity_open_session(id, godh, sizeof godh, sess, 0x7f, 0x1, &psp, &why, NULL) != MC_OK &&
          why == MC_SEV_CHAN_BAD_LENGTH);
    uint8_t bad[MC_SEV_CERT_LEN];
    memcpy(bad, godh, sizeof bad);
    bad[0x14] ^= 1; /* off curve */
    CHECK(mc_sev_identity_open_session(id, bad, sizeof bad, sess, sizeof sess, 0x1, &psp, &why, NULL) != MC_OK &&
          why == MC_SEV_CHAN_BAD_CERT);
    memcpy(bad, godh, sizeof bad);
    mc_put_le32(bad + 0xC, MC_SEV_ALGO_ECDH_SHA384);
    CHECK(mc_sev_identity_open_session(id, bad, sizeof bad, sess, sizeof sess, 0x1, &psp, &why, NULL) != MC_OK &&
          why == MC_SEV_CHAN_BAD_CERT);
    /* The owner refuses a non-PDH platform cert. */
    CHECK(mc_sev_owner_session(rng, chain, MC_SEV_CERT_LEN, 0x1, godh, sess, &owner, NULL) == MC_E_FORMAT);
    /* Attestation report signed by the PEK verifies with the PEK cert; tampering fails. */
    uint8_t mn[16] = {1, 2, 3}, ld[32] = {9}, rep[MC_SEV_REPORT_LEN];
    CHECK(mc_sev_identity_attest(id, mn, ld, 0x1, rep, NULL) == MC_OK);
    struct mc_sev_cert pek;
    CHECK(mc_sev_cert_parse(chain, MC_SEV_CERT_LEN, &pek, NULL) == MC_OK);
    CHECK(mc_sev_report_verify(rep, sizeof rep, &pek, NULL) == MC_OK);
    struct mc_sev_report r;
    CHECK(mc_sev_report_decode(rep, sizeof rep, &r, NULL) == MC_OK && r.policy == 1 && r.sig_usage == 0x1002 &&
          r.sig_algo == 2 && !memcmp(r.mnonce, mn, 16));
    for (size_t off = 0; off < 0x34; off += 3) {
        rep[off] ^= 1;
        CHECK(mc_sev_report_verify(rep, sizeof rep, &pek, NULL) == MC_E_VERIFY);
        rep[off] ^= 1;
    }
    /* r at 0x40, s at 0x88: LE72, bytes 48..71 must be zero; a low byte of each is signed-for */
    static const size_t sig_off[] = {0x40, 0x40 + 47, 0x40 + 48, 0x40 + 71, 0x88, 0x88 + 48, 0x88 + 71};
    for (size_t i = 0; i < sizeof sig_off / sizeof sig_off[0]; i++) {
        rep[sig_off[i]] ^= 0x80;
        CHECK_MSG(mc_sev_report_verify(rep, sizeof rep, &pek, NULL) == MC_E_VERIFY, "offset 0x%zx", sig_off[i]);
        rep[sig_off[i]] ^= 0x80;
    }
    CHECK(mc_sev_report_verify(rep, sizeof rep, &pek, NULL) == MC_OK);
    CHECK(mc_sev_report_verify(rep, sizeof rep - 1, &pek, NULL) == MC_E_FORMAT);
    mc_sev_identity_destroy(id);
    mc_rng_destroy(rng);
}

/* PEK_CSR -> sign with an OCA key -> PEK_CERT_IMPORT: the identity accepts what the owner
 * signed; a signed CSR, a non-PEK and a non-P-384 key are refused. */
static void test_sign_pek_csr(void)
{
    struct mc_rng *rng = NULL;
    mc_rng_create((const uint8_t *)"signpek", 7, &rng, NULL);
    struct mc_sev_identity_params p = {0, 24, 15, 2048};
    struct mc_sev_identity *id = NULL;
    CHECK(mc_sev_identity_create(rng, &p, &id, NULL) == MC_OK);
    if (!id) {
        mc_rng_destroy(rng);
        return;
    }
    /* An owner's P-384 key: the Rust sev crate's test ID key (a key nobody here wrote). */
    uint8_t *key = NULL;
    size_t kl = 0;
    CHECK(mc_file_read(MC_TEST_DATA "/peers/cases/virtee-sev/test_id_block_and_key_digests/test_id_key.pem", 8192, &key,
                       &kl, NULL) == MC_OK);
    const char *oca_pem = (const char *)key;
    uint8_t csr[MC_SEV_CERT_LEN], pek[MC_SEV_CERT_LEN], oca[MC_SEV_CERT_LEN];
    mc_sev_identity_pek_csr(id, csr);
    struct mc_error e;
    CHECK_MSG(mc_sev_owner_sign_pek_csr(csr, sizeof csr, (const uint8_t *)oca_pem, kl, pek, oca, &e) ==
                  MC_OK,
              "%s", e.msg);
    struct mc_sev_cert pc, oc;
    CHECK(mc_sev_cert_parse(pek, sizeof pek, &pc, NULL) == MC_OK && mc_sev_cert_parse(oca, sizeof oca, &oc, NULL) == MC_OK);
    CHECK(oc.usage == MC_SEV_USAGE_OCA && oc.algo == MC_SEV_ALGO_ECDSA_SHA256 && mc_sev_cert_verify(&oc, &oc, NULL) == MC_OK);
    CHECK(mc_sev_cert_verify(&pc, &oc, NULL) == MC_OK);
    enum mc_sev_id_result res;
    CHECK_MSG(mc_sev_identity_pek_import(id, rng, pek, sizeof pek, oca, sizeof oca, &res, &e) == MC_OK, "%s", e.msg);
    CHECK(mc_sev_identity_is_owned(id));
    /* refusals */
    CHECK(mc_sev_owner_sign_pek_csr(pek, sizeof pek, (const uint8_t *)oca_pem, kl, pek, oca, &e) ==
          MC_E_FORMAT && strstr(e.msg, "already signed"));
    CHECK(mc_sev_owner_sign_pek_csr(oca, sizeof oca, (const uint8_t *)oca_pem, kl, pek, oca, &e) ==
          MC_E_FORMAT);
    CHECK(mc_sev_owner_sign_pek_csr(csr, sizeof csr, (const uint8_t *)"not a key", 9, pek, oca, &e) != MC_OK);
    free(key);
    mc_sev_identity_destroy(id);
    mc_rng_destroy(rng);
}

int main(void)
{
    RUN(test_kat_w1);
    RUN(test_kat_l1);
    RUN(test_kat_secret);
    RUN(test_secret_table);
    RUN(test_round_trip);
    RUN(test_sign_pek_csr);
    return check_summary();
}
