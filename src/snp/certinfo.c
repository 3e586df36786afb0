/* The SNP chain's X.509 certificates described for a person (`memcrypt certs show`): ARK, ASK,
 * ASVK, VCEK, VLEK — one file or a PEM bundle — with AMD's extensions decoded, which of AMD's
 * built-in roots a certificate is, and which certificate's key verifies its signature.
 * This module's job is X.509, so it uses OpenSSL's X.509 API directly. */
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memcrypt/snp_verify.h>

#include "crypto/x509.h"
#include "snp/amd_roots.h"
#include "snp/vcek.h"

static void role_of(const char *cn, const struct mc_snp_vcek_info *vi, bool has_ext, char *out, size_t n)
{
    if (!strncmp(cn, "ARK-", 4))
        snprintf(out, n, "ARK");
    else if (!strncmp(cn, "SEV-VLEK-", 9))
        snprintf(out, n, "ASVK");
    else if (!strcmp(cn, "SEV-VCEK") || (has_ext && vi->hwid_len))
        snprintf(out, n, "VCEK");
    else if (!strcmp(cn, "SEV-VLEK") || (has_ext && vi->has_csp_id))
        snprintf(out, n, "VLEK");
    else if (!strncmp(cn, "SEV-", 4))
        snprintf(out, n, "ASK");
    else
        snprintf(out, n, "?");
}

/* AMD's built-in ARK/ASK/ASVK of every generation (references to the process's parsed roots). */
#define NBUILTIN 12
struct builtins {
    X509 *x[NBUILTIN];
    char name[NBUILTIN][32];
    int n;
};

static void builtins_load(struct builtins *b)
{
    static const char *const role[3] = {"ARK", "ASK", "ASVK"};
    b->n = 0;
    for (const struct mc_amd_root *r = mc_amd_roots; r->gen != MC_SNP_GEN_UNKNOWN; r++) {
        for (int k = 0; k < 3 && b->n < NBUILTIN; k++) {
            X509 *x = mc_amd_root_x509(r->gen, (enum mc_amd_role)k, NULL); /* parsed once per process */
            if (x && X509_up_ref(x)) {
                b->x[b->n] = x;
                snprintf(b->name[b->n++], sizeof b->name[0], "AMD's %s %s", mc_snp_gen_name(r->gen), role[k]);
            }
        }
    }
}

static void builtins_free(struct builtins *b)
{
    for (int i = 0; i < b->n; i++)
        X509_free(b->x[i]);
}

/* Which of AMD's built-in certificates x is ("AMD's Milan ASK"), or "" */
static void builtin_name(X509 *x, const struct builtins *b, char *out, size_t n)
{
    out[0] = 0;
    for (int i = 0; i < b->n && !out[0]; i++)
        if (!X509_cmp(x, b->x[i]))
            snprintf(out, n, "%s", b->name[i]);
}

/* Whose key verifies x's signature: a certificate of the bundle (by CN and position), or one of
 * AMD's built-in roots. "" when none. */
static void signer_of(X509 *x, STACK_OF(X509) *sk, const struct builtins *b, char *out, size_t n)
{
    out[0] = 0;
    for (int j = 0; j < sk_X509_num(sk) && !out[0]; j++) {
        X509 *s = sk_X509_value(sk, j);
        EVP_PKEY *k = X509_get0_pubkey(s);
        ERR_clear_error();
        if (k && X509_verify(x, k) == 1) {
            char cn[64];
            mc_x509_subject_cn(s, cn, sizeof cn);
            snprintf(out, n, "%.60s (certificate %d here)", cn[0] ? cn : "?", j + 1);
        }
    }
    for (int i = 0; i < b->n && !out[0]; i++) {
        ERR_clear_error();
        if (X509_verify(x, X509_get0_pubkey(b->x[i])) == 1)
            snprintf(out, n, "%s (built in)", b->name[i]);
    }
    ERR_clear_error();
}

static void describe_one(X509 *x, STACK_OF(X509) *sk, const struct builtins *b, struct mc_snp_certinfo *ci)
{
    memset(ci, 0, sizeof *ci);
    mc_x509_subject_cn(x, ci->subject_cn, sizeof ci->subject_cn);
    X509_NAME_oneline(X509_get_issuer_name(x), ci->issuer, (int)sizeof ci->issuer);
    const ASN1_INTEGER *sn = X509_get0_serialNumber(x);
    BIGNUM *bn = sn ? ASN1_INTEGER_to_BN(sn, NULL) : NULL;
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(ci->serial, sizeof ci->serial, "%s", hex ? hex : "?");
    OPENSSL_free(hex);
    BN_free(bn);
    mc_x509_validity(x, &ci->not_before, &ci->not_after, NULL);
    int mdnid = 0, pknid = 0;
    if (X509_get_signature_nid(x) == NID_rsassaPss && X509_get_signature_info(x, &mdnid, &pknid, NULL, NULL))
        snprintf(ci->sig_alg, sizeof ci->sig_alg, "RSASSA-PSS %s", OBJ_nid2sn(mdnid));
    else
        snprintf(ci->sig_alg, sizeof ci->sig_alg, "%s", OBJ_nid2ln(X509_get_signature_nid(x)));
    EVP_PKEY *k = X509_get0_pubkey(x);
    if (k && EVP_PKEY_get_base_id(k) == EVP_PKEY_RSA)
        snprintf(ci->key, sizeof ci->key, "RSA %d bits", EVP_PKEY_get_bits(k));
    else if (k && EVP_PKEY_get_base_id(k) == EVP_PKEY_EC) {
        char g[40] = "";
        size_t gl = 0;
        EVP_PKEY_get_utf8_string_param(k, "group", g, sizeof g, &gl);
        snprintf(ci->key, sizeof ci->key, "EC %s", g[0] ? g : "?");
    } else
        snprintf(ci->key, sizeof ci->key, "?");
    struct mc_snp_vcek_info vi;
    struct mc_error e;
    /* AMD's extensions: only leaf certificates carry productName; on ARK/ASK there are none. */
    if (mc_snp_vcek_parse(x, &vi, &e) == MC_OK) {
        ci->has_amd_ext = true;
        ci->has_struct_version = vi.has_struct_version;
        ci->struct_version = vi.struct_version;
        snprintf(ci->product, sizeof ci->product, "%s", vi.product);
        memcpy(ci->has_spl, vi.has_spl, sizeof ci->has_spl);
        memcpy(ci->spl, vi.spl, sizeof ci->spl);
        memcpy(ci->hwid, vi.hwid, sizeof ci->hwid);
        ci->hwid_len = vi.hwid_len;
        ci->hwid_wrapped = vi.hwid_wrapped;
        ci->has_csp_id = vi.has_csp_id;
        snprintf(ci->csp_id, sizeof ci->csp_id, "%s", vi.csp_id);
    } else if (!strstr(e.msg, "no AMD productName")) {
        snprintf(ci->ext_error, sizeof ci->ext_error, "%.190s", e.msg);
    }
    role_of(ci->subject_cn, &vi, ci->has_amd_ext, ci->role, sizeof ci->role);
    builtin_name(x, b, ci->amd_builtin, sizeof ci->amd_builtin);
    signer_of(x, sk, b, ci->signed_by, sizeof ci->signed_by);
}

mc_status mc_snp_certs_describe(const uint8_t *buf, size_t len, struct mc_snp_certinfo *out, size_t max, size_t *n,
                                struct mc_error *err)
{
    if (!buf || !out || !n)
        return mc_seterr(err, MC_E_INVAL, "certs describe: NULL argument");
    *n = 0;
    STACK_OF(X509) *sk = NULL;
    mc_status st = mc_x509_load_bundle(buf, len, "certificate", &sk, err);
    if (st)
        return st;
    struct builtins b;
    builtins_load(&b);
    for (int i = 0; i < sk_X509_num(sk) && *n < max; i++)
        describe_one(sk_X509_value(sk, i), sk, &b, &out[(*n)++]);
    builtins_free(&b);
    sk_X509_pop_free(sk, X509_free);
    return MC_OK;
}

const char *mc_snp_spl_label(int arc)
{
    return mc_snp_spl_name(arc);
}
