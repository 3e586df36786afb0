/* The guest owner's CLI output accepted by the emulated Secure Processor: `certs export --state`
 * makes a platform, `owner session` makes GODH + session for its PDH, the PSP side (identity
 * state loaded from the file) opens the session and recovers exactly tek.bin/tik.bin; then
 * `owner package-secret` output opens with the PSP-side LAUNCH_SECRET unpack. */
#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/sev_session.h>

#include <unistd.h>

#include "check.h"
#include "crypto/crypto.h"

static uint8_t *rd(const char *dir, const char *name, size_t *n)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    uint8_t *b = NULL;
    if (mc_file_read(p, 1 << 20, &b, n, NULL) != MC_OK)
        return NULL;
    return b;
}

static void test_cli_session_opens_in_psp(void)
{
    char dir[] = "/tmp/mc_sev_cli_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' certs export '%s/plat' --seed psp --root-bits 2048 --state '%s/state' >/dev/null && "
             "'%s' owner session --pdh '%s/plat/pdh.cert' --policy 0x5 --out-dir '%s/o' >/dev/null",
             MC_CLI, dir, dir, MC_CLI, dir, dir);
    CHECK(system(cmd) == 0);
    size_t sl = 0, gl = 0, bl = 0, kl = 0, il = 0;
    uint8_t *state = rd(dir, "state", &sl);
    char od[100];
    snprintf(od, sizeof od, "%s/o", dir);
    uint8_t *godh = rd(od, "godh.cert", &gl), *sess = rd(od, "session.bin", &bl), *tek = rd(od, "tek.bin", &kl),
            *tik = rd(od, "tik.bin", &il);
    CHECK(state && godh && sess && tek && tik);
    struct mc_sev_identity *id = NULL;
    CHECK(state && mc_sev_identity_deserialize(state, sl, &id, NULL) == MC_OK);
    struct mc_sev_tks tks;
    enum mc_sev_chan_result why = MC_SEV_CHAN_ERROR;
    if (id && godh && sess && tek && tik) {
        CHECK(mc_sev_identity_open_session(id, godh, gl, sess, bl, 0x5, &tks, &why, NULL) == MC_OK);
        CHECK(kl == 16 && il == 16 && !memcmp(tks.tek, tek, 16) && !memcmp(tks.tik, tik, 16));
        CHECK(mc_sev_identity_open_session(id, godh, gl, sess, bl, 0x1, &tks, &why, NULL) == MC_E_VERIFY &&
              why == MC_SEV_CHAN_BAD_MAC);
        /* LAUNCH_SECRET made by the CLI opens on the PSP side. */
        static const char meas[] = "6faab2daae389bcd3405a05d6cafe33c0414f7bedd0bae19ba5f38b7fd1664ea"
                                   "4fbe0bedbad6c86ae8f68971d103e554";
        snprintf(cmd, sizeof cmd,
                 "'%s' owner package-secret --tek '%s/tek.bin' --tik '%s/tik.bin' --measurement %s "
                 "--secret 736869e5-84f0-4973-92ec-06879ce3da0b=open-sesame --out-dir '%s' >/dev/null",
                 MC_CLI, od, od, meas, od);
        CHECK(system(cmd) == 0);
        size_t hl = 0, pl = 0;
        uint8_t *hdr = rd(od, "secret_header.bin", &hl), *pay = rd(od, "secret_payload.bin", &pl);
        uint8_t measure[32], plain[64];
        size_t n = 0;
        mc_hex_decode("6faab2daae389bcd3405a05d6cafe33c0414f7bedd0bae19ba5f38b7fd1664ea", measure, 32, &n, NULL);
        CHECK(hdr && pay && pl <= sizeof plain);
        if (hdr && pay && pl <= sizeof plain) {
            CHECK(mc_sev_secret_open(&tks, true, hdr, hl, pay, pl, pl, measure, plain, &why, NULL) == MC_OK);
            CHECK(!memcmp(plain + 40, "open-sesame", 11));
        }
        free(hdr);
        free(pay);
    }
    mc_sev_identity_destroy(id);
    free(state);
    free(godh);
    free(sess);
    free(tek);
    free(tik);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    RUN(test_cli_session_opens_in_psp);
    return check_summary();
}
