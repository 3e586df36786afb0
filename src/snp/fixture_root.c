/* An existing test root read back for `memcrypt fixtures --root` (snp/fixture_root.h). This
 * module's job is checking X.509 certificates and keys, so it uses OpenSSL's X.509 API directly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memcrypt/fileio.h>

#include "crypto/crypto.h"
#include "crypto/x509.h"
#include "snp/fixture_root.h"
#include "snp/kdscert.h"

void mc_fx_root_clear(struct mc_fx_root *r)
{
    if (!r)
        return;
    X509_free(r->ark);
    X509_free(r->inter);
    EVP_PKEY_free(r->ark_key);
    EVP_PKEY_free(r->inter_key);
    memset(r, 0, sizeof *r);
}

/* A passphrase callback that never asks: an encrypted key is refused, not prompted for. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

mc_status mc_fx_read_key(OSSL_LIB_CTX *lc, const char *path, const uint8_t *buf, size_t len, EVP_PKEY **out,
                         struct mc_error *err)
{
    *out = NULL;
    if (!buf || len == 0 || len > MC_FX_FILE_MAX || len > INT32_MAX)
        return mc_seterr(err, MC_E_FORMAT, "%s is not a PEM private key (%zu bytes)", path, buf ? len : 0);
    ERR_clear_error();
    BIO *b = BIO_new_mem_buf(buf, (int)len);
    *out = b ? PEM_read_bio_PrivateKey_ex(b, NULL, no_passphrase, NULL, lc, NULL) : NULL;
    BIO_free(b);
    if (*out)
        return MC_OK;
    char e[200];
    mc_openssl_errstr(e, sizeof e);
    ERR_clear_error();
    return mc_seterr(err, MC_E_FORMAT, "%s is not a PEM private key (an unencrypted one, as `memcrypt fixtures` writes): %s",
                     path, e);
}

static mc_status ossl_fail(struct mc_error *err, const char *path, const char *what)
{
    char e[200];
    mc_openssl_errstr(e, sizeof e);
    ERR_clear_error();
    return mc_seterr(err, MC_E_CRYPTO, "%s: %s failed: %s", path, what, e);
}

/* Marked TEST in subject and issuer, RSA-4096, signed RSASSA-PSS SHA-384, a CA. */
static mc_status check_cert(const struct mc_fx_file *f, X509 *x, const char *role, struct mc_error *err)
{
    char s[256];
    X509_NAME_oneline(X509_get_subject_name(x), s, sizeof s);
    if (mc_kds_mark_of(X509_get_subject_name(x)) != MC_KDS_MARK_TEST)
        return mc_seterr(err, MC_E_FORMAT,
                         "%s is not a memcrypt TEST ROOT %s: its subject is '%s' (a test root's says "
                         "OU=" MC_KDS_OU_TEST "); --root takes a folder made by `memcrypt fixtures`",
                         f->path, role, s);
    if (mc_kds_mark_of(X509_get_issuer_name(x)) != MC_KDS_MARK_TEST)
        return mc_seterr(err, MC_E_FORMAT, "%s: the %s is marked as a test root but its issuer is not", f->path, role);
    EVP_PKEY *pub = X509_get0_pubkey(x);
    if (!pub || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pub) != 4096)
        return mc_seterr(err, MC_E_FORMAT, "%s: the %s's key is not RSA-4096 (a test root's, like AMD's, is)", f->path,
                         role);
    int md = 0;
    if (X509_get_signature_nid(x) != NID_rsassaPss || !X509_get_signature_info(x, &md, NULL, NULL, NULL) ||
        md != NID_sha384)
        return mc_seterr(err, MC_E_FORMAT, "%s: the %s is not signed with RSASSA-PSS SHA-384", f->path, role);
    if (X509_check_ca(x) != 1)
        return mc_seterr(err, MC_E_FORMAT, "%s: the %s is not a CA certificate (basicConstraints CA:TRUE)", f->path,
                         role);
    return MC_OK;
}

/* The generation whose product CN (prefix + product) is cn, or UNKNOWN. */
static enum mc_snp_gen gen_of_cn(const char *cn, const char *prefix)
{
    for (int g = MC_SNP_GEN_MILAN; g <= MC_SNP_GEN_TURIN; g++) {
        char want[64];
        snprintf(want, sizeof want, "%s%s", prefix, mc_snp_gen_name((enum mc_snp_gen)g));
        if (!strcmp(cn, want))
            return (enum mc_snp_gen)g;
    }
    return MC_SNP_GEN_UNKNOWN;
}

/* x verifies up to the trusted ark (x == ark: its self-signature). */
static mc_status check_chain(const struct mc_fx_file *f, X509 *ark, X509 *x, const char *role, const char *ark_path,
                             struct mc_error *err)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *c = X509_STORE_CTX_new();
    mc_status st = MC_OK;
    if (!store || !c || !X509_STORE_add_cert(store, ark) || !X509_STORE_CTX_init(c, store, x, NULL)) {
        st = ossl_fail(err, f->path, "setting up chain verification");
        goto out;
    }
    X509_STORE_CTX_set_flags(c, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_CHECK_SS_SIGNATURE);
    ERR_clear_error();
    if (X509_verify_cert(c) != 1) {
        int ve = X509_STORE_CTX_get_error(c);
        ERR_clear_error();
        st = x == ark ? mc_seterr(err, MC_E_FORMAT, "%s: the %s's self-signature does not verify: %s", f->path, role,
                                  X509_verify_cert_error_string(ve))
                      : mc_seterr(err, MC_E_FORMAT, "%s: the %s does not chain to the ARK in %s: %s", f->path, role,
                                  ark_path, X509_verify_cert_error_string(ve));
    }
out:
    X509_STORE_CTX_free(c);
    X509_STORE_free(store);
    return st;
}

static mc_status load_pair(OSSL_LIB_CTX *lc, const struct mc_fx_file *cf, const struct mc_fx_file *kf,
                           const char *role, X509 **cert, EVP_PKEY **key, struct mc_error *err)
{
    struct mc_error e;
    char what[32];
    snprintf(what, sizeof what, "test %s", role);
    mc_status st = mc_x509_load(cf->data, cf->len, what, cert, &e);
    if (st)
        return mc_seterr(err, st, "%s: %s", cf->path, e.msg);
    if ((st = check_cert(cf, *cert, role, err)))
        return st;
    if (!kf->data)
        return mc_seterr(err, MC_E_NOTFOUND, "%s is missing: the private key of %s (`memcrypt fixtures` writes it next "
                         "to the certificate)", kf->path, cf->path);
    if ((st = mc_fx_read_key(lc, kf->path, kf->data, kf->len, key, err)))
        return st;
    ERR_clear_error();
    if (X509_check_private_key(*cert, *key) != 1) {
        ERR_clear_error();
        return mc_seterr(err, MC_E_FORMAT, "%s is not the private key of %s", kf->path, cf->path);
    }
    return MC_OK;
}

mc_status mc_fx_root_parse(OSSL_LIB_CTX *lc, const struct mc_fx_file f[MC_FX_FILES], bool vlek, struct mc_fx_root *out,
                           struct mc_error *err)
{
    if (!f || !out)
        return mc_seterr(err, MC_E_INVAL, "no root files or output");
    memset(out, 0, sizeof *out);
    struct mc_fx_root r;
    memset(&r, 0, sizeof r);
    const char *iname = vlek ? "ASVK" : "ASK";
    mc_status st;
    char cn[128];
    if (!f[MC_FX_ARK].data) {
        st = mc_seterr(err, MC_E_NOTFOUND,
                       "%s is missing: --root takes a folder made by `memcrypt fixtures` (ark.pem, ark-key.pem, "
                       "ask.pem or asvk.pem and their -key.pem)",
                       f[MC_FX_ARK].path);
        goto fail;
    }
    if ((st = load_pair(lc, &f[MC_FX_ARK], &f[MC_FX_ARK_KEY], "ARK", &r.ark, &r.ark_key, err)))
        goto fail;
    mc_x509_subject_cn(r.ark, cn, sizeof cn);
    if ((r.gen = gen_of_cn(cn, "ARK-")) == MC_SNP_GEN_UNKNOWN) {
        st = mc_seterr(err, MC_E_FORMAT, "%s: the ARK's common name '%s' is not ARK-Milan, ARK-Genoa or ARK-Turin",
                       f[MC_FX_ARK].path, cn);
        goto fail;
    }
    if (X509_NAME_cmp(X509_get_subject_name(r.ark), X509_get_issuer_name(r.ark)) != 0) {
        st = mc_seterr(err, MC_E_FORMAT, "%s: the ARK is not self-issued", f[MC_FX_ARK].path);
        goto fail;
    }
    if ((st = check_chain(&f[MC_FX_ARK], r.ark, r.ark, "ARK", f[MC_FX_ARK].path, err)))
        goto fail;
    if (!f[MC_FX_INTER].data) {
        if (f[MC_FX_INTER_KEY].data) {
            st = mc_seterr(err, MC_E_NOTFOUND, "%s is there but %s is missing: a key without its certificate",
                           f[MC_FX_INTER_KEY].path, f[MC_FX_INTER].path);
            goto fail;
        }
        *out = r; /* no ASK/ASVK: the caller makes one under this ARK */
        return MC_OK;
    }
    if ((st = load_pair(lc, &f[MC_FX_INTER], &f[MC_FX_INTER_KEY], iname, &r.inter,
                        &r.inter_key, err)))
        goto fail;
    mc_x509_subject_cn(r.inter, cn, sizeof cn);
    if (gen_of_cn(cn, vlek ? "SEV-VLEK-" : "SEV-") != r.gen) {
        st = mc_seterr(err, MC_E_FORMAT, "%s: the %s's common name '%s' is not SEV-%s%s (the ARK's generation)",
                       f[MC_FX_INTER].path, iname, cn, vlek ? "VLEK-" : "", mc_snp_gen_name(r.gen));
        goto fail;
    }
    if ((st = check_chain(&f[MC_FX_INTER], r.ark, r.inter, iname, f[MC_FX_ARK].path, err)))
        goto fail;
    *out = r;
    return MC_OK;
fail:
    mc_fx_root_clear(&r);
    return st;
}

/* Read dir/name into *buf (NULL when the file does not exist). */
static mc_status read_opt(const char *dir, const char *name, char *path, size_t pn, uint8_t **buf, size_t *len,
                          struct mc_error *err)
{
    *buf = NULL;
    *len = 0;
    if ((size_t)snprintf(path, pn, "%s/%s", dir, name) >= pn)
        return mc_seterr(err, MC_E_INVAL, "the folder name %s is too long", dir);
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return MC_OK;
    return mc_file_read(path, MC_FX_FILE_MAX, buf, len, err);
}

mc_status mc_fx_root_load(OSSL_LIB_CTX *lc, const char *dir, bool vlek, struct mc_fx_root *out, struct mc_error *err)
{
    if (!dir || !out)
        return mc_seterr(err, MC_E_INVAL, "no root folder or output");
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return mc_seterr(err, MC_E_NOTFOUND, "%s: %s (the test root made by `memcrypt fixtures` to issue under)", dir,
                         strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return mc_seterr(err, MC_E_INVAL, "%s is not a folder (the test root made by `memcrypt fixtures` to issue under)",
                         dir);
    const char *inter = vlek ? "asvk" : "ask";
    char names[MC_FX_FILES][16], paths[MC_FX_FILES][4096];
    snprintf(names[MC_FX_ARK], sizeof names[0], "ark.pem");
    snprintf(names[MC_FX_ARK_KEY], sizeof names[0], "ark-key.pem");
    snprintf(names[MC_FX_INTER], sizeof names[0], "%s.pem", inter);
    snprintf(names[MC_FX_INTER_KEY], sizeof names[0], "%s-key.pem", inter);
    uint8_t *bufs[MC_FX_FILES] = {0};
    struct mc_fx_file f[MC_FX_FILES];
    mc_status st = MC_OK;
    for (int i = 0; i < MC_FX_FILES && !st; i++) {
        size_t n = 0;
        st = read_opt(dir, names[i], paths[i], sizeof paths[i], &bufs[i], &n, err);
        f[i] = (struct mc_fx_file){paths[i], bufs[i], n};
    }
    if (!st)
        st = mc_fx_root_parse(lc, f, vlek, out, err);
    for (int i = 0; i < MC_FX_FILES; i++) {
        if (bufs[i]) {
            mc_wipe(bufs[i], f[i].len);
            free(bufs[i]);
        }
    }
    return st;
}
