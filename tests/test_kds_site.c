/* The local KDS's router (memcrypt/kds_site.h) without HTTP: every route for an emulated Milan
 * chip and its legacy identity, answers checked with OpenSSL (chain order, signatures, the CRL,
 * the VCEK's key and TCB against the identity's own), and every bad request's status. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memcrypt/kds_site.h>
#include <memcrypt/sev_cert.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_report.h>

#include "check.h"
#include "crypto/crypto.h"

static struct mc_snp_identity *snp;
static struct mc_sev_identity *sev;
static struct mc_kds_site site;
static char hwid[129], getid[129];

static void hexs(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static unsigned ask(const char *method, const char *path, const struct mc_kds_arg *a, size_t n, struct mc_kds_reply *r)
{
    struct mc_error e = {0};
    mc_status st = mc_kds_answer(&site, method, path, a, n, r, &e);
    CHECK_MSG(st == MC_OK, "%s %s: %s", method, path, e.msg);
    return st ? 0 : r->status;
}

static unsigned status(const char *path, const struct mc_kds_arg *a, size_t n)
{
    struct mc_kds_reply r;
    unsigned s = ask("GET", path, a, n, &r);
    if (s >= 400)
        CHECK(r.len > 0 && r.body[r.len - 1] == '\n' && !strcmp(r.type, "text/plain; charset=utf-8"));
    mc_kds_reply_free(&r);
    return s;
}

static X509 *root(enum mc_snp_root w)
{
    uint8_t *der;
    size_t len;
    CHECK(mc_snp_identity_root_cert(snp, w, &der, &len, NULL) == MC_OK);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    free(der);
    return x;
}

static void test_chains(void)
{
    X509 *ark = root(MC_SNP_ROOT_ARK), *askc = root(MC_SNP_ROOT_ASK), *asvk = root(MC_SNP_ROOT_ASVK);
    for (int vlek = 0; vlek < 2; vlek++) {
        struct mc_kds_reply r;
        CHECK_EQ_U64(ask("GET", vlek ? "/vlek/v1/Milan/cert_chain" : "/vcek/v1/Milan/cert_chain", NULL, 0, &r), 200);
        CHECK(!strcmp(r.type, "application/x-pem-file"));
        BIO *b = BIO_new_mem_buf(r.body, (int)r.len);
        X509 *first = PEM_read_bio_X509(b, NULL, NULL, NULL), *second = PEM_read_bio_X509(b, NULL, NULL, NULL);
        CHECK(first && second && !PEM_read_bio_X509(b, NULL, NULL, NULL));
        ERR_clear_error();
        CHECK(first && !X509_cmp(first, vlek ? asvk : askc)); /* ASK (ASVK) first, then the ARK, as AMD */
        CHECK(second && !X509_cmp(second, ark));
        X509_free(first);
        X509_free(second);
        BIO_free(b);
        mc_kds_reply_free(&r);
        /* The CRL: the ARK's, signed by it, nothing revoked. */
        CHECK_EQ_U64(ask("GET", vlek ? "/vlek/v1/Milan/crl" : "/vcek/v1/Milan/crl", NULL, 0, &r), 200);
        const unsigned char *p = r.body;
        X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)r.len);
        CHECK(crl && X509_CRL_verify(crl, X509_get0_pubkey(ark)) == 1);
        CHECK(crl && !X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ark)));
        CHECK(crl && sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)) <= 0);
        X509_CRL_free(crl);
        mc_kds_reply_free(&r);
    }
    X509_free(ark);
    X509_free(askc);
    X509_free(asvk);
}

static void test_vcek(void)
{
    char path[300];
    snprintf(path, sizeof path, "/vcek/v1/Milan/%s", hwid);
    struct mc_kds_arg a[] = {{"blSPL", "3"}, {"teeSPL", "0"}, {"snpSPL", "20"}, {"ucodeSPL", "209"}};
    struct mc_kds_reply r;
    CHECK_EQ_U64(ask("GET", path, a, 4, &r), 200);
    CHECK(!strcmp(r.type, "application/pkix-cert"));
    const unsigned char *p = r.body;
    X509 *v = d2i_X509(NULL, &p, (long)r.len);
    X509 *askc = root(MC_SNP_ROOT_ASK);
    CHECK(v && X509_verify(v, X509_get0_pubkey(askc)) == 1);
    /* The same key the identity signs reports with at that TCB. */
    uint64_t tcb = mc_snp_tcb_encode(MC_SNP_GEN_MILAN, 0, 3, 0, 20, 209);
    uint8_t *der;
    size_t len;
    CHECK(mc_snp_identity_vcek_cert(snp, tcb, &der, &len, NULL) == MC_OK);
    const unsigned char *q = der;
    X509 *w = d2i_X509(NULL, &q, (long)len);
    CHECK(v && w && EVP_PKEY_eq(X509_get0_pubkey(v), X509_get0_pubkey(w)) == 1);
    free(der);
    X509_free(w);
    mc_kds_reply_free(&r);
    /* Another TCB, another key; upper-case hex is the same chip. */
    a[2].value = "21";
    for (char *c = path + strlen("/vcek/v1/Milan/"); *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 32);
    CHECK_EQ_U64(ask("GET", path, a, 4, &r), 200);
    p = r.body;
    X509 *v2 = d2i_X509(NULL, &p, (long)r.len);
    CHECK(v && v2 && EVP_PKEY_eq(X509_get0_pubkey(v), X509_get0_pubkey(v2)) != 1);
    X509_free(v2);
    X509_free(v);
    X509_free(askc);
    mc_kds_reply_free(&r);
    a[2].value = "20";
    snprintf(path, sizeof path, "/vcek/v1/Milan/%s", hwid);

    /* Bad requests. */
    struct mc_kds_arg dup[] = {{"blSPL", "3"}, {"blSPL", "3"}, {"snpSPL", "20"}, {"ucodeSPL", "209"}};
    CHECK_EQ_U64(status(path, dup, 4), 400);
    struct mc_kds_arg big[] = {{"blSPL", "256"}, {"teeSPL", "0"}, {"snpSPL", "20"}, {"ucodeSPL", "209"}};
    CHECK_EQ_U64(status(path, big, 4), 400);
    struct mc_kds_arg neg[] = {{"blSPL", "-1"}, {"teeSPL", "0"}, {"snpSPL", "20"}, {"ucodeSPL", "209"}};
    CHECK_EQ_U64(status(path, neg, 4), 400);
    struct mc_kds_arg hexv[] = {{"blSPL", "0x3"}, {"teeSPL", "0"}, {"snpSPL", "20"}, {"ucodeSPL", "209"}};
    CHECK_EQ_U64(status(path, hexv, 4), 400);
    CHECK_EQ_U64(status(path, a, 3), 400); /* ucodeSPL missing */
    struct mc_kds_arg extra[] = {{"blSPL", "3"}, {"teeSPL", "0"}, {"snpSPL", "20"}, {"ucodeSPL", "209"}, {"x", "1"}};
    CHECK_EQ_U64(status(path, extra, 5), 400);
    struct mc_kds_arg fmc[] = {{"blSPL", "3"}, {"teeSPL", "0"}, {"snpSPL", "20"}, {"ucodeSPL", "209"}, {"fmcSPL", "1"}};
    CHECK_EQ_U64(status(path, fmc, 5), 400);
    struct mc_kds_arg empty[] = {{"blSPL", ""}, {"teeSPL", "0"}, {"snpSPL", "20"}, {"ucodeSPL", "209"}};
    CHECK_EQ_U64(status(path, empty, 4), 400);
    char other[300];
    snprintf(other, sizeof other, "/vcek/v1/Milan/%s", hwid);
    other[strlen(other) - 1] = other[strlen(other) - 1] == '0' ? '1' : '0';
    CHECK_EQ_U64(status(other, a, 4), 404); /* another chip */
    snprintf(other, sizeof other, "/vcek/v1/Milan/%.100s", hwid);
    CHECK_EQ_U64(status(other, a, 4), 400); /* not 64 bytes */
    snprintf(other, sizeof other, "/vcek/v1/Milan/%.127sg", hwid);
    CHECK_EQ_U64(status(other, a, 4), 400); /* not hex */
    snprintf(other, sizeof other, "/vcek/v1/Genoa/%s", hwid);
    CHECK_EQ_U64(status(other, a, 4), 404); /* no Genoa chip here */
    snprintf(other, sizeof other, "/vcek/v1/Pentium/%s", hwid);
    CHECK_EQ_U64(status(other, a, 4), 404); /* unknown product */
    snprintf(other, sizeof other, "/vcek/v1/milan/%s", hwid);
    CHECK_EQ_U64(status(other, a, 4), 404); /* product names are AMD's */
    snprintf(other, sizeof other, "/vlek/v1/Milan/%s", hwid);
    CHECK_EQ_U64(status(other, a, 4), 404);
    CHECK_EQ_U64(status("/vcek/v1/Milan/cert_chain", a, 1), 400);
}

static void test_legacy(void)
{
    char path[300];
    snprintf(path, sizeof path, "/cek/id/%s", getid);
    struct mc_kds_reply r;
    CHECK_EQ_U64(ask("GET", path, NULL, 0, &r), 200);
    uint8_t cek[MC_SEV_CERT_LEN];
    size_t n = 0;
    CHECK(mc_sev_identity_cert(sev, MC_SEV_ID_CEK, cek, sizeof cek, &n, NULL) == MC_OK);
    CHECK(r.len == n && n == MC_SEV_CERT_LEN && !memcmp(r.body, cek, n));
    mc_kds_reply_free(&r);
    CHECK_EQ_U64(ask("GET", "/wp-content/resources/ask_ark_milan.cert", NULL, 0, &r), 200);
    uint8_t askb[MC_AMD_CERT_MAX_LEN], arkb[MC_AMD_CERT_MAX_LEN];
    size_t na = 0, nr = 0;
    CHECK(mc_sev_identity_cert(sev, MC_SEV_ID_ASK, askb, sizeof askb, &na, NULL) == MC_OK);
    CHECK(mc_sev_identity_cert(sev, MC_SEV_ID_ARK, arkb, sizeof arkb, &nr, NULL) == MC_OK);
    CHECK(r.len == na + nr && !memcmp(r.body, askb, na) && !memcmp(r.body + na, arkb, nr));
    mc_kds_reply_free(&r);
    CHECK_EQ_U64(ask("GET", "/developer/eula/sev/ask_ark_milan.cert", NULL, 0, &r), 200); /* sev-tool's URL */
    CHECK(r.len == na + nr && !memcmp(r.body, askb, na));
    mc_kds_reply_free(&r);
    CHECK_EQ_U64(status("/developer/eula/sev/ask_ark_rome.cert", NULL, 0), 404);
    CHECK_EQ_U64(status("/developer/eula/ask_ark_milan.cert", NULL, 0), 404);
    CHECK_EQ_U64(status("/wp-content/resources/ask_ark_rome.cert", NULL, 0), 404);
    path[strlen(path) - 1] = path[strlen(path) - 1] == '0' ? '1' : '0';
    CHECK_EQ_U64(status(path, NULL, 0), 404);
    CHECK_EQ_U64(status("/cek/id/00", NULL, 0), 400);
    struct mc_kds_arg a[] = {{"x", "1"}};
    snprintf(path, sizeof path, "/cek/id/%s", getid);
    CHECK_EQ_U64(status(path, a, 1), 400);
}

static void test_bad_requests(void)
{
    struct mc_kds_reply r;
    CHECK_EQ_U64(ask("POST", "/vcek/v1/Milan/cert_chain", NULL, 0, &r), 405);
    mc_kds_reply_free(&r);
    CHECK_EQ_U64(ask("HEAD", "/vcek/v1/Milan/cert_chain", NULL, 0, &r), 200);
    mc_kds_reply_free(&r);
    static const char *const paths[] = {"", "/", "vcek/v1/Milan/cert_chain", "/vcek/v1/Milan/cert_chain/",
                                        "/vcek//Milan/cert_chain", "/vcek/v1/../v1/Milan/cert_chain",
                                        "/vcek/v1/Milan/.cert_chain", "/vcek/v2/Milan/cert_chain",
                                        "/vcek/v1/Milan", "/vcek/v1/Milan/cert_chain/x/y/z", "/etc/passwd",
                                        "/vcek/v1/Mi%6can/cert_chain", "/vcek/v1/Milan/cert chain"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        CHECK_MSG(status(paths[i], NULL, 0) == 404, "%s", paths[i]);
    char longp[MC_KDS_PATH_MAX + 10];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = 0;
    CHECK_EQ_U64(status(longp, NULL, 0), 414);
    struct mc_kds_arg many[MC_KDS_ARGS_MAX + 1];
    for (size_t i = 0; i <= MC_KDS_ARGS_MAX; i++)
        many[i] = (struct mc_kds_arg){"blSPL", "1"};
    CHECK_EQ_U64(status("/vcek/v1/Milan/cert_chain", many, MC_KDS_ARGS_MAX + 1), 400);
    char longv[100];
    memset(longv, '1', sizeof longv - 1);
    longv[sizeof longv - 1] = 0;
    struct mc_kds_arg lv[] = {{"blSPL", longv}};
    CHECK_EQ_U64(status("/vcek/v1/Milan/cert_chain", lv, 1), 400);
    /* No chip at all: everything is 404. */
    struct mc_kds_site empty = {0};
    struct mc_error e;
    CHECK(mc_kds_answer(&empty, "GET", "/vcek/v1/Milan/cert_chain", NULL, 0, &r, &e) == MC_OK && r.status == 404);
    mc_kds_reply_free(&r);
}

int main(void)
{
    mc_crypto_init();
    uint8_t secret[MC_SNP_SECRET_LEN];
    memset(secret, 0x5C, sizeof secret);
    struct mc_snp_identity_params p = {.gen = MC_SNP_GEN_MILAN, .chip_secret = secret, .root_bits = 2048};
    struct mc_error e;
    CHECK(mc_snp_identity_create(&p, &snp, &e) == MC_OK);
    struct mc_rng *rng;
    CHECK(mc_rng_create((const uint8_t *)"kds", 3, &rng, &e) == MC_OK);
    struct mc_sev_identity_params sp = {1, 55, 21, 2048};
    CHECK(mc_sev_identity_create(rng, &sp, &sev, &e) == MC_OK);
    if (!snp || !sev)
        return check_summary();
    uint8_t id[64];
    mc_snp_identity_chip_id(snp, id);
    hexs(id, 64, hwid);
    CHECK(mc_sev_identity_get_id(sev, id, &e) == MC_OK);
    hexs(id, 64, getid);
    site = (struct mc_kds_site){.snp = snp, .sev = sev, .sev_generation = "milan"};
    RUN(test_chains);
    RUN(test_vcek);
    RUN(test_legacy);
    RUN(test_bad_requests);
    mc_snp_identity_destroy(snp);
    mc_sev_identity_destroy(sev);
    mc_rng_destroy(rng);
    return check_summary();
}
