/* SEV-SNP report verification: chain ARK -> ASK/ASVK -> VCEK/VLEK, validity, AMD extensions vs
 * the report, the report's ECDSA P-384 signature, and optional guest policy checks.
 * This module's job is certificate-chain verification, so it uses OpenSSL's X.509 API directly.
 *
 * Decisions:
 * - Trust anchors are fixed per generation (AMD's built-in ARK/ASK/ASVK, or a test root only when
 *   the caller passes a folder). An ASK/ARK supplied with the report (--ask/--ark, certificate
 *   table) must be the trusted one; it never adds trust (as go-sev-guest does with its roots).
 * - OpenSSL verifies the chain with the time check off; validity is checked by us at the
 *   requested time for each certificate, so a cached chain serves any --at.
 * - The generation comes from the report's CPUID fields (v3+) and from the VCEK's productName;
 *   when both are known they must agree. productName is compared by product only ("Milan-B0"
 *   -> Milan): the real Milan-B0 VCEKs come with CPUID stepping 1, so the stepping letter does not
 *   map onto the CPUID stepping.
 * - The signature padding (0x330..0x49F) and r/s bytes past the 48-byte P-384 scalars must be
 *   zero; the latter is checked by mc_ecdsa_verify_le72 (crypto/pk), the one place that converts
 *   AMD's little-endian 72-byte r/s for ECDSA.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memcrypt/bytes.h>
#include <memcrypt/fileio.h>
#include <memcrypt/kds_client.h>
#include <memcrypt/snp_verify.h>

#include "crypto/crypto.h"
#include "crypto/hashctx.h"
#include "crypto/pk.h"
#include "crypto/x509.h"
#include "snp/amd_roots.h"
#include "snp/kds_chain.h"
#include "snp/kdscert.h"
#include "snp/vcek.h"

#define NGEN 4
#define CACHE_SLOTS 8

struct roots {
    X509 *ark, *ask, *asvk;
};

struct chain_entry {
    bool used;
    uint8_t key[MC_SHA256_LEN];
    struct mc_pk *pub; /* the VCEK/VLEK public key */
    struct mc_ecdsa_prepared *sig; /* pub set up for the reports' ECDSA P-384 SHA-384 checks */
    struct mc_snp_vcek_info info;
    enum mc_snp_gen gen;
    time_t nb[3], na[3]; /* leaf, intermediate, root */
};

/* Test roots (--roots DIR) are the verifier's own; AMD's built-in roots are parsed once per
 * process when first needed (snp/amd_roots.c) and borrowed. */
/* Whose roots a verifier trusts, by their marking (snp/kdscert.h): the name for machines
 * (mc_snp_verifier_roots, `--json`) and for messages ("VCEK -> the EMULATED Milan ASK"). */
enum roots_kind { ROOTS_AMD, ROOTS_EMULATED, ROOTS_TEST, ROOTS_GIVEN };
static const struct {
    const char *kind, *who;
} roots_names[] = {
    [ROOTS_AMD] = {"amd", "AMD's"},
    [ROOTS_EMULATED] = {"emulated", "the EMULATED"},
    [ROOTS_TEST] = {"test", "the test"},
    [ROOTS_GIVEN] = {"given", "the given"},
};

struct mc_snp_verifier {
    bool test;
    enum roots_kind kind; /* whose roots: roots_names[kind] */
    struct roots roots[NGEN]; /* test roots only */
    struct chain_entry cache[CACHE_SLOTS];
    unsigned next;
    bool nomem; /* the last chain build ran out of memory */
};

static void chain_entry_clear(struct chain_entry *e)
{
    mc_ecdsa_prepared_free(e->sig);
    mc_pk_free(e->pub);
    memset(e, 0, sizeof *e);
}

void mc_snp_verifier_destroy(struct mc_snp_verifier *v)
{
    if (!v)
        return;
    for (int g = 0; g < NGEN; g++) {
        X509_free(v->roots[g].ark);
        X509_free(v->roots[g].ask);
        X509_free(v->roots[g].asvk);
    }
    for (int i = 0; i < CACHE_SLOTS; i++)
        chain_entry_clear(&v->cache[i]);
    free(v);
}

bool mc_snp_verifier_is_test(const struct mc_snp_verifier *v) { return v && v->test; }

const char *mc_snp_verifier_roots(const struct mc_snp_verifier *v) { return roots_names[v ? v->kind : ROOTS_AMD].kind; }

/* The trusted certificate of generation g and role (NULL: none; err says why when given). */
static X509 *root_of(const struct mc_snp_verifier *v, int g, enum mc_amd_role role, struct mc_error *err)
{
    if (v->test) {
        const struct roots *t = &v->roots[g];
        X509 *x = role == MC_AMD_ARK ? t->ark : role == MC_AMD_ASK ? t->ask : t->asvk;
        if (!x)
            mc_seterr(err, MC_E_NOTFOUND, "the roots given have no such certificate");
        return x;
    }
    return mc_amd_root_x509((enum mc_snp_gen)g, role, err);
}

/* Trust these roots of generation g (the verifier takes the references) instead of AMD's. */
static void trust_roots(struct mc_snp_verifier *v, enum mc_snp_gen g, X509 *ark, X509 *ask, X509 *asvk)
{
    v->roots[g].ark = ark;
    v->roots[g].ask = ask;
    v->roots[g].asvk = asvk;
    v->test = true;
    /* Name the roots as other commands do: memcrypt marks an emulated chip's EMULATED and the
     * fixture factory's test (snp/kdscert.h); AMD's own ARK in a folder (fetch ca) is AMD's. */
    X509 *amd = mc_amd_root_x509(g, MC_AMD_ARK, NULL);
    enum mc_kds_mark mk = mc_kds_mark_of(X509_get_subject_name(ark));
    v->kind = mk == MC_KDS_MARK_EMULATED   ? ROOTS_EMULATED
              : mk == MC_KDS_MARK_TEST     ? ROOTS_TEST
              : amd && !X509_cmp(amd, ark) ? ROOTS_AMD
                                           : ROOTS_GIVEN;
}

/* The product an ARK's or ASK's common name ends in ("ARK-Milan", "SEV-VLEK-Genoa"), after prefix. */
static enum mc_snp_gen cn_gen(const char *cn, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(cn, prefix, n) ? MC_SNP_GEN_UNKNOWN : mc_snp_gen_parse(cn + n);
}

/* A cert_chain file as AMD's KDS serves it (and `memcrypt fetch ca`, `run --out-dir` and
 * `fixtures` write it): PEM, the ASK (or ASVK) and then the ARK of one product. Untrusted input:
 * every way it can be wrong gets a sentence naming the file. The names, the ARK's self-signature,
 * the ASK's signature by the ARK and an ARK that claims to be AMD's are checked as for a fetched
 * chain (memcrypt/kds_client.h); validity is checked at verification time, like every root's. */
#define ROOTS_FILE_MAX (256u << 10)
static mc_status load_roots_file(struct mc_snp_verifier *v, const char *path, struct mc_error *err)
{
    static const char layout[] = "a cert_chain holds two PEM certificates, the ASK (or ASVK) and then the ARK";
    uint8_t *buf = NULL;
    size_t len = 0;
    STACK_OF(X509) *sk = NULL;
    struct mc_kds_certs kc = {0};
    struct mc_error e;
    mc_status st = mc_file_read(path, ROOTS_FILE_MAX, &buf, &len, err);
    if (st)
        return st;
    if (len < 10 || memcmp(buf, "-----BEGIN", 10)) {
        st = mc_seterr(err, MC_E_FORMAT, "%s: not a PEM certificate chain (%s)", path, layout);
        goto out;
    }
    if (mc_x509_load_bundle(buf, len, "certificate", &sk, &e)) {
        st = mc_seterr(err, MC_E_FORMAT, "%s: not a PEM certificate chain (%s): %s", path, layout, e.msg);
        goto out;
    }
    int n = sk_X509_num(sk);
    char c0[96] = "", c1[96] = "";
    mc_x509_subject_cn(sk_X509_value(sk, 0), c0, sizeof c0);
    if (n > 1)
        mc_x509_subject_cn(sk_X509_value(sk, 1), c1, sizeof c1);
    if (n != 2) {
        st = mc_seterr(err, MC_E_FORMAT, "%s holds %d certificate%s (%s\"%.40s\"); %s%s", path, n, n == 1 ? "" : "s",
                       n == 1 ? "" : "the first ", c0, layout,
                       n == 1 ? " (a folder with ark.pem and ask.pem is given as the folder)" : "");
        goto out;
    }
    enum mc_snp_gen g = cn_gen(c1, "ARK-");
    if (g == MC_SNP_GEN_UNKNOWN) {
        if (cn_gen(c0, "ARK-") != MC_SNP_GEN_UNKNOWN)
            st = mc_seterr(err, MC_E_FORMAT, "%s lists the ARK (\"%.40s\") first and then \"%.40s\"; %s", path, c0, c1,
                           layout);
        else
            st = mc_seterr(err, MC_E_FORMAT, "%s: the second certificate is \"%.40s\", not an AMD ARK (ARK-Milan, "
                                             "ARK-Genoa or ARK-Turin); %s", path, c1, layout);
        goto out;
    }
    bool vlek = cn_gen(c0, "SEV-VLEK-") != MC_SNP_GEN_UNKNOWN;
    struct mc_kds_query q = {.item = MC_KDS_CA, .gen = g, .vlek = vlek};
    if ((st = mc_kds_check_chain_when(&q, buf, len, 0, false, &kc, &e))) {
        /* the checker speaks of an "answer"; here it is the file */
        st = mc_seterr(err, st, "%s: %s", path, e.msg);
        goto out;
    }
    X509 *ark = sk_X509_value(sk, 1), *ask = sk_X509_value(sk, 0);
    if (!X509_up_ref(ark)) {
        st = mc_seterr(err, MC_E_NOMEM, "out of memory");
        goto out;
    }
    if (!X509_up_ref(ask)) {
        X509_free(ark);
        st = mc_seterr(err, MC_E_NOMEM, "out of memory");
        goto out;
    }
    trust_roots(v, g, ark, vlek ? NULL : ask, vlek ? ask : NULL);
out:
    mc_kds_certs_free(&kc);
    sk_X509_pop_free(sk, X509_free);
    free(buf);
    return st;
}

static mc_status load_test_roots(struct mc_snp_verifier *v, const char *dir, struct mc_error *err)
{
    char path[4096];
    X509 *ark = NULL, *ask = NULL, *asvk = NULL;
    snprintf(path, sizeof path, "%s/ark.pem", dir);
    if (access(path, F_OK) != 0 && errno == ENOENT)
        return mc_seterr(err, MC_E_NOTFOUND,
                         "%s has no ark.pem: a roots folder holds a test or emulated chip's ARK as ark.pem and its "
                         "ASK/ASVK as ask.pem/asvk.pem (PEM), as `memcrypt fixtures`, `run --out-dir` and "
                         "`fetch ca` write them",
                         dir);
    mc_status st = mc_x509_load_file(path, "test ARK", &ark, err);
    if (st)
        return st;
    char cn[128];
    mc_x509_subject_cn(ark, cn, sizeof cn);
    enum mc_snp_gen g = strncmp(cn, "ARK-", 4) ? MC_SNP_GEN_UNKNOWN : mc_snp_gen_parse(cn + 4);
    if (g == MC_SNP_GEN_UNKNOWN) {
        X509_free(ark);
        return mc_seterr(err, MC_E_FORMAT, "%s: the ARK's common name '%s' does not name a product (ARK-<Product>)",
                         path, cn);
    }
    snprintf(path, sizeof path, "%s/ask.pem", dir);
    if (access(path, R_OK) == 0 && (st = mc_x509_load_file(path, "test ASK", &ask, err)))
        goto fail;
    snprintf(path, sizeof path, "%s/asvk.pem", dir);
    if (access(path, R_OK) == 0 && (st = mc_x509_load_file(path, "test ASVK", &asvk, err)))
        goto fail;
    if (!ask && !asvk) {
        st = mc_seterr(err, MC_E_NOTFOUND, "%s holds an ARK but neither ask.pem nor asvk.pem", dir);
        goto fail;
    }
    trust_roots(v, g, ark, ask, asvk);
    return MC_OK;
fail:
    X509_free(ark);
    X509_free(ask);
    X509_free(asvk);
    return st;
}

mc_status mc_snp_verifier_create(const char *roots_dir, struct mc_snp_verifier **out, struct mc_error *err)
{
    if (!out)
        return mc_seterr(err, MC_E_INVAL, "no output pointer");
    struct mc_snp_verifier *v = calloc(1, sizeof *v);
    if (!v)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    v->kind = ROOTS_AMD;
    struct stat sb;
    mc_status st = !roots_dir                                                 ? MC_OK
                   : stat(roots_dir, &sb) == 0 && !S_ISDIR(sb.st_mode) ? load_roots_file(v, roots_dir, err)
                                                                           : load_test_roots(v, roots_dir, err);
    if (st) {
        mc_snp_verifier_destroy(v);
        return st;
    }
    *out = v;
    return MC_OK;
}

const char *mc_check_state_name(enum mc_check_state s)
{
    return s == MC_CHECK_PASS ? "pass" : s == MC_CHECK_FAIL ? "fail" : "skipped";
}

static void add(struct mc_snp_result *res, const char *name, enum mc_check_state st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(struct mc_snp_result *res, const char *name, enum mc_check_state st, const char *fmt, ...)
{
    if (res->n >= MC_SNP_MAX_CHECKS)
        return;
    struct mc_snp_check *c = &res->checks[res->n++];
    c->name = name;
    c->state = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    if (st == MC_CHECK_FAIL)
        res->ok = false;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t a = 0;
    for (size_t i = 0; i < n; i++)
        a |= p[i];
    return a == 0;
}

static const char *role_name(bool vlek) { return vlek ? "ASVK" : "ASK"; }

/* Why a certificate named n is not trusted, when its marking says whose it is: memcrypt's
 * emulated chips and test roots must never pass for AMD's (docs/snp-platform.md). */
static const char *foreign_note(const X509_NAME *n, bool test)
{
    switch (mc_kds_mark_of(n)) {
    case MC_KDS_MARK_EMULATED:
        return test ? " (another EMULATED chip's root)"
                    : " (an EMULATED chip's root, not AMD's: trusted only with --roots DIR holding it)";
    case MC_KDS_MARK_TEST:
        return test ? " (another test root)"
                    : " (the root is not AMD's; a test root is trusted only with --roots DIR)";
    default:
        return test ? "" : " (the root is not AMD's; a test root is trusted only with --roots DIR)";
    }
}

/* Who x is among the trusted roots of every generation ("AMD's Genoa ARK"), else its name. */
static void identify(const struct mc_snp_verifier *v, X509 *x, char *buf, size_t n)
{
    static const char *const role[3] = {"ARK", "ASK", "ASVK"};
    for (int g = 1; g < NGEN; g++) {
        for (int k = 0; k < 3; k++) {
            X509 *c = root_of(v, g, (enum mc_amd_role)k, NULL);
            if (c && !X509_cmp(x, c)) {
                snprintf(buf, n, "%s %s %s", roots_names[v->kind].who, mc_snp_gen_name((enum mc_snp_gen)g),
                         role[k]);
                return;
            }
        }
    }
    char cn[96];
    mc_x509_subject_cn(x, cn, sizeof cn);
    const X509_NAME *sn = X509_get_subject_name(x);
    if (mc_kds_mark_of(sn) != MC_KDS_MARK_NONE) /* memcrypt's own EMULATED or test roots say so */
    {
        if (snprintf(buf, n, "'%s'%s", cn[0] ? cn : "no common name", foreign_note(sn, v->test)) >= (int)n)
            buf[n - 1] = '\0'; /* a long name is cut, as a message may be */
    }
    else
        snprintf(buf, n, "'%s' (not one of %s roots)", cn[0] ? cn : "no common name", roots_names[v->kind].who);
}

/* A certificate file the caller gave (one certificate or a PEM bundle such as AMD's cert_chain)
 * must hold the trusted one; it adds no trust. On failure say what the file holds and what the
 * report needs ("this is AMD's Genoa ASK; the report is from a Milan chip"). */
static bool given_has(const struct mc_snp_verifier *v, const uint8_t *buf, size_t len, const char *opt, X509 *want,
                      const char *want_role, const struct chain_entry *e, enum mc_snp_gen report_gen,
                      struct mc_snp_result *res)
{
    STACK_OF(X509) *sk = NULL;
    struct mc_error er;
    if (mc_x509_load_bundle(buf, len, want_role, &sk, &er)) {
        add(res, "chain", MC_CHECK_FAIL, "%s: %s", opt, er.msg);
        return false;
    }
    bool found = false;
    char held[320] = "";
    size_t k = 0;
    for (int i = 0; i < sk_X509_num(sk); i++) {
        X509 *x = sk_X509_value(sk, i);
        found |= !X509_cmp(x, want);
        char who[224];
        identify(v, x, who, sizeof who);
        if (k < sizeof held)
            k += (size_t)snprintf(held + k, sizeof held - k, "%s%s", i ? (i + 1 == sk_X509_num(sk) ? " and " : ", ") : "",
                                  who);
    }
    int count = sk_X509_num(sk);
    sk_X509_pop_free(sk, X509_free);
    if (found)
        return true;
    char chip[160];
    snprintf(chip, sizeof chip, "the report is from a %s chip (%sits certificate's productName %s)",
             mc_snp_gen_name(e->gen), report_gen != MC_SNP_GEN_UNKNOWN ? "its CPUID fields and " : "", e->info.product);
    add(res, "chain", MC_CHECK_FAIL, "%s %s %s; %s, which needs %s %s %s", opt, count == 1 ? "is" : "holds", held,
        chip, roots_names[v->kind].who, mc_snp_gen_name(e->gen), want_role);
    return false;
}

/* Verify the chain and fill e (not yet in the cache). On failure writes reason. */
static bool build_chain(struct mc_snp_verifier *v, const struct mc_snp_report *r, const struct mc_snp_certs *c,
                        bool vlek, struct chain_entry *e, struct mc_snp_result *res)
{
    X509 *leaf = NULL;
    X509_STORE *store = NULL;
    X509_STORE_CTX *sctx = NULL;
    STACK_OF(X509) *untrusted = NULL;
    struct mc_error er;
    bool ok = false;
    const char *leafname = vlek ? "VLEK" : "VCEK";

    if (mc_x509_load(c->vcek, c->vcek_len, leafname, &leaf, &er)) {
        add(res, "vcek", MC_CHECK_FAIL, "%s", er.msg);
        goto out;
    }
    if (mc_snp_vcek_parse(leaf, &e->info, &er)) {
        add(res, "vcek", MC_CHECK_FAIL, "%s", er.msg);
        goto out;
    }
    EVP_PKEY *pk = X509_get0_pubkey(leaf);
    mc_status pst = pk ? mc_p384_from_evp_public(pk, &e->pub, NULL) : MC_E_FORMAT;
    if (pst != MC_OK) {
        v->nomem = pst == MC_E_NOMEM; /* a resource failure, not a verdict */
        add(res, "vcek", MC_CHECK_FAIL, "the %s's public key is not an ECDSA P-384 key", leafname);
        goto out;
    }
    add(res, "vcek", MC_CHECK_PASS, "%s for %s, productName %s%s", leafname, mc_snp_gen_name(e->info.gen),
        e->info.product,
        e->info.hwid_len ? (e->info.hwid_wrapped ? ", hwID wrapped in an OCTET STRING" : ", hwID as raw bytes") : "");

    enum mc_snp_gen rg = mc_snp_report_gen(r);
    if (rg != MC_SNP_GEN_UNKNOWN && rg != e->info.gen) {
        add(res, "generation", MC_CHECK_FAIL, "the report comes from a %s CPU (CPUID family %02Xh model %02Xh) but the %s is for %s",
            mc_snp_gen_name(rg), r->cpuid_fam_id, r->cpuid_mod_id, leafname, e->info.product);
        goto out;
    }
    e->gen = e->info.gen;
    add(res, "generation", MC_CHECK_PASS, "%s (from %s)", mc_snp_gen_name(e->gen),
        rg != MC_SNP_GEN_UNKNOWN ? "the report's CPUID fields and the certificate" : "the certificate's productName");

    struct mc_error re = {0};
    X509 *ark = root_of(v, e->gen, MC_AMD_ARK, &re);
    X509 *inter = ark ? root_of(v, e->gen, vlek ? MC_AMD_ASVK : MC_AMD_ASK, &re) : NULL;
    const char *who = roots_names[v->kind].who;
    if (!ark || !inter) {
        add(res, "chain", MC_CHECK_FAIL, "no trusted %s %s root is loaded (%s roots: %s)", mc_snp_gen_name(e->gen),
            role_name(vlek), who, re.msg);
        goto out;
    }
    /* given, even empty: then refused as empty (the bundle reader refuses 0 bytes) */
    if (c->ask && !given_has(v, c->ask, c->ask_len, vlek ? "--asvk" : "--ask", inter, role_name(vlek), e, rg, res))
        goto out;
    if (c->ark && !given_has(v, c->ark, c->ark_len, "--ark", ark, "ARK", e, rg, res))
        goto out;
    if (X509_NAME_cmp(X509_get_issuer_name(leaf), X509_get_subject_name(inter)) != 0) {
        char iss[256];
        const X509_NAME *in = X509_get_issuer_name(leaf);
        enum mc_kds_mark mk = mc_kds_mark_of(in);
        if (mk != MC_KDS_MARK_NONE) { /* the marked name is long: name it by its CN */
            char cn[64] = "";
            X509_NAME_get_text_by_NID(in, NID_commonName, cn, sizeof cn);
            add(res, "chain", MC_CHECK_FAIL, "the %s was issued by memcrypt's %s %s, not %s %s %s%s", leafname,
                mc_kds_mark_name(mk), cn, who, mc_snp_gen_name(e->gen), role_name(vlek), foreign_note(in, v->test));
        } else {
            X509_NAME_oneline(in, iss, sizeof iss);
            add(res, "chain", MC_CHECK_FAIL, "the %s was issued by '%s', which is not %s %s %s%s", leafname, iss, who,
                mc_snp_gen_name(e->gen), role_name(vlek), foreign_note(in, v->test));
        }
        goto out;
    }
    int mdnid = 0, pknid = 0;
    if (!X509_get_signature_info(leaf, &mdnid, &pknid, NULL, NULL) || X509_get_signature_nid(leaf) != NID_rsassaPss ||
        mdnid != NID_sha384) {
        add(res, "chain", MC_CHECK_FAIL, "the %s is not signed with RSASSA-PSS SHA-384", leafname);
        goto out;
    }
    store = X509_STORE_new();
    sctx = X509_STORE_CTX_new();
    untrusted = sk_X509_new_null();
    if (!store || !sctx || !untrusted || !X509_STORE_add_cert(store, ark) || !sk_X509_push(untrusted, inter)) {
        add(res, "chain", MC_CHECK_FAIL, "out of memory verifying the chain");
        goto out;
    }
    X509_STORE_set_flags(store, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_CHECK_SS_SIGNATURE);
    if (!X509_STORE_CTX_init(sctx, store, leaf, untrusted)) {
        add(res, "chain", MC_CHECK_FAIL, "cannot set up chain verification");
        goto out;
    }
    ERR_clear_error();
    if (X509_verify_cert(sctx) != 1) {
        int ve = X509_STORE_CTX_get_error(sctx);
        add(res, "chain", MC_CHECK_FAIL, "the %s does not chain to %s %s ARK: %s (depth %d)", leafname, who,
            mc_snp_gen_name(e->gen), X509_verify_cert_error_string(ve), X509_STORE_CTX_get_error_depth(sctx));
        goto out;
    }
    STACK_OF(X509) *ch = X509_STORE_CTX_get0_chain(sctx);
    if (sk_X509_num(ch) != 3 || X509_cmp(sk_X509_value(ch, 1), inter) || X509_cmp(sk_X509_value(ch, 2), ark)) {
        add(res, "chain", MC_CHECK_FAIL, "the chain is not %s -> %s -> ARK", leafname, role_name(vlek));
        goto out;
    }
    if (mc_x509_validity(leaf, &e->nb[0], &e->na[0], &er) || mc_x509_validity(inter, &e->nb[1], &e->na[1], &er) ||
        mc_x509_validity(ark, &e->nb[2], &e->na[2], &er)) {
        add(res, "chain", MC_CHECK_FAIL, "%s", er.msg);
        goto out;
    }
    mc_status kst = mc_ecdsa_prepare(e->pub, "SHA384", &e->sig, NULL);
    if (kst) {
        v->nomem = kst == MC_E_NOMEM; /* a resource failure, not a verdict: mc_snp_verify says so */
        add(res, "chain", MC_CHECK_FAIL, "cannot prepare the %s key for ECDSA verification", leafname);
        goto out;
    }
    add(res, "chain", MC_CHECK_PASS, "%s -> %s %s %s -> %s %s ARK (RSASSA-PSS SHA-384)", leafname, who,
        mc_snp_gen_name(e->gen), role_name(vlek), who, mc_snp_gen_name(e->gen));
    ok = true;
out:
    sk_X509_free(untrusted);
    X509_STORE_CTX_free(sctx);
    X509_STORE_free(store);
    X509_free(leaf);
    return ok;
}

static void fmt_time(time_t t, char *buf, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void check_extensions(const struct chain_entry *e, const struct mc_snp_report *r, bool vlek,
                             struct mc_snp_result *res)
{
    /* hwID vs chip_id */
    if (vlek) {
        if (e->info.hwid_len)
            add(res, "hwid", MC_CHECK_FAIL, "a VLEK must not carry a hwID extension");
        else
            add(res, "hwid", MC_CHECK_SKIP, "VLEK: no hwID (signed by a VLEK shared by the cloud provider)");
    } else if (!e->info.hwid_len) {
        add(res, "hwid", MC_CHECK_FAIL, "the VCEK has no hwID extension");
    } else {
        size_t n = e->gen == MC_SNP_GEN_TURIN ? 8 : 64;
        if (e->info.hwid_len != n)
            add(res, "hwid", MC_CHECK_FAIL, "the VCEK's hwID is %zu bytes; %s uses %zu", e->info.hwid_len,
                mc_snp_gen_name(e->gen), n);
        else if (all_zero(r->chip_id, 64))
            add(res, "hwid", MC_CHECK_FAIL, "the report's chip_id is masked (all zero), so it cannot be bound to this VCEK");
        else if (!mc_ct_equal(e->info.hwid, r->chip_id, n) || !all_zero(r->chip_id + n, 64 - n))
            add(res, "hwid", MC_CHECK_FAIL, "the VCEK's hwID does not match the report's chip_id%s",
                n == 8 ? " (Turin: first 8 bytes, the rest zero)" : "");
        else
            add(res, "hwid", MC_CHECK_PASS, "hwID equals chip_id (%zu bytes; %s)", n,
                e->info.hwid_wrapped ? "encoded wrapped in an OCTET STRING, not as AMD's raw bytes"
                                     : "raw bytes, AMD's encoding");
    }
    /* SPLs vs reported_tcb */
    static const int required_mg[] = {1, 2, 3, 8}, required_t[] = {1, 2, 3, 8, 9};
    const int *req = e->gen == MC_SNP_GEN_TURIN ? required_t : required_mg;
    size_t nreq = e->gen == MC_SNP_GEN_TURIN ? 5 : 4;
    for (size_t i = 0; i < nreq; i++)
        if (!e->info.has_spl[req[i]]) {
            add(res, "tcb", MC_CHECK_FAIL, "the certificate has no %s extension (.3.%d)", mc_snp_spl_name(req[i]), req[i]);
            return;
        }
    char bad[200] = "";
    size_t bl = 0;
    for (int a = 1; a < MC_SNP_SPL_ARCS; a++) {
        if (!e->info.has_spl[a])
            continue;
        int byte = mc_snp_spl_byte(e->gen, a);
        unsigned have = byte < 0 ? 0 : (unsigned)((r->reported_tcb >> (8 * byte)) & 0xff);
        if (byte < 0) {
            if (e->info.spl[a] == 0)
                continue; /* an SPL the layout does not use; zero is harmless */
            bl += (size_t)snprintf(bad + bl, bl < sizeof bad ? sizeof bad - bl : 0, "%s%s=%u has no place in the %s TCB",
                                   bl ? "; " : "", mc_snp_spl_name(a), e->info.spl[a], mc_snp_gen_name(e->gen));
        } else if (have != e->info.spl[a]) {
            bl += (size_t)snprintf(bad + bl, bl < sizeof bad ? sizeof bad - bl : 0, "%s%s: certificate %u, reported_tcb %u",
                                   bl ? "; " : "", mc_snp_spl_name(a), e->info.spl[a], have);
        }
    }
    if (bl)
        add(res, "tcb", MC_CHECK_FAIL, "%s", bad);
    else
        add(res, "tcb", MC_CHECK_PASS, "every SPL in the certificate equals reported_tcb 0x%016llx",
            (unsigned long long)r->reported_tcb);
}

static void check_signature(struct chain_entry *e, const struct mc_snp_report *r, struct mc_snp_result *res)
{
    if (!all_zero(r->raw + 0x330, MC_SNP_REPORT_SIZE - 0x330)) {
        add(res, "signature", MC_CHECK_FAIL, "the signature's reserved bytes 0x330..0x49F are not zero");
        return;
    }
    struct mc_error er;
    mc_status vr = mc_ecdsa_prepared_verify_le72(e->sig, r->raw, MC_SNP_REPORT_SIGNED_LEN, r->sig_r, r->sig_s, &er);
    if (vr != MC_OK && vr != MC_E_VERIFY) {
        add(res, "signature", MC_CHECK_FAIL, "the signature could not be checked: %s", er.msg);
        return;
    }
    if (vr == MC_OK)
        add(res, "signature", MC_CHECK_PASS, "ECDSA P-384 SHA-384 over bytes 0x000..0x29F verifies");
    else
        add(res, "signature", MC_CHECK_FAIL, "the report's ECDSA P-384 signature does not verify with the %s",
            mc_snp_report_signer(r) == MC_SNP_SIGNER_VLEK ? "VLEK" : "VCEK");
}

static void check_bytes(struct mc_snp_result *res, const char *name, bool want, const uint8_t *exp,
                        const uint8_t *got, size_t n)
{
    if (!want) {
        add(res, name, MC_CHECK_SKIP, "not requested");
        return;
    }
    char h[2 * 64 + 1], x[2 * 64 + 1];
    mc_hex_encode(got, n, h);
    mc_hex_encode(exp, n, x);
    if (mc_ct_equal(exp, got, n)) {
        add(res, name, MC_CHECK_PASS, "equals the expected value");
        return;
    }
    size_t first = 0;
    while (first < n && exp[first] == got[first])
        first++;
    /* Side by side, so the two can be compared by eye (reason is 256 bytes: long values are cut
     * and the full ones are in --json's "expected"/"reported"). */
    add(res, name, MC_CHECK_FAIL, "differs from byte %zu on: expected %.96s%s / reported %.96s%s", first, x,
        2 * n > 96 ? ".." : "", h, 2 * n > 96 ? ".." : "");
}

/* Which parts of a TCB are below the minimum, by how much ("snp 5 < 8 (3 short)"). */
static void tcb_shortfall(uint64_t have, uint64_t min, enum mc_snp_gen gen, char *buf, size_t n)
{
    struct mc_snp_tcb a, b;
    mc_snp_tcb_decode(have, gen, &a);
    mc_snp_tcb_decode(min, gen, &b);
    const struct {
        const char *name;
        unsigned h, m;
        bool used;
    } parts[] = {{"fmc", a.fmc, b.fmc, a.has_fmc}, {"bl", a.bootloader, b.bootloader, true}, {"tee", a.tee, b.tee, true},
                 {"snp", a.snp, b.snp, true},      {"ucode", a.microcode, b.microcode, true}};
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (parts[i].used && parts[i].h < parts[i].m && k < n)
            k += (size_t)snprintf(buf + k, n - k, "%s%s %u < %u (%u short)", k ? ", " : "", parts[i].name, parts[i].h,
                                  parts[i].m, parts[i].m - parts[i].h);
}

static void check_policy(const struct mc_snp_report *r, const struct mc_snp_policy *p, enum mc_snp_gen gen,
                         struct mc_snp_result *res)
{
    check_bytes(res, "measurement", p->has_measurement, p->measurement, r->measurement, 48);
    check_bytes(res, "report_data", p->has_report_data, p->report_data, r->report_data, 64);
    check_bytes(res, "host_data", p->has_host_data, p->host_data, r->host_data, 32);
    check_bytes(res, "id_key_digest", p->has_id_key_digest, p->id_key_digest, r->id_key_digest, 48);
    uint64_t min_tcb = p->min_tcb;
    struct mc_error te;
    if (!p->has_min_tcb && !p->min_tcb_spec)
        add(res, "min_tcb", MC_CHECK_SKIP, "not requested");
    else if (p->min_tcb_spec && mc_snp_tcb_parse(p->min_tcb_spec, gen, &min_tcb, &te) != MC_OK)
        add(res, "min_tcb", MC_CHECK_FAIL, "the minimum TCB cannot be read: %s", te.msg);
    else if (mc_snp_tcb_ge(r->reported_tcb, min_tcb, gen))
        add(res, "min_tcb", MC_CHECK_PASS, "reported_tcb 0x%016llx >= 0x%016llx in every part",
            (unsigned long long)r->reported_tcb, (unsigned long long)min_tcb);
    else {
        char why[160];
        tcb_shortfall(r->reported_tcb, min_tcb, gen, why, sizeof why);
        add(res, "min_tcb", MC_CHECK_FAIL, "reported_tcb is below the minimum: %s (reported 0x%016llx, minimum 0x%016llx)",
            why, (unsigned long long)r->reported_tcb, (unsigned long long)min_tcb);
    }
    if (!p->no_debug)
        add(res, "no_debug", MC_CHECK_SKIP, "not requested");
    else if (r->policy & MC_SNP_POLICY_DEBUG)
        add(res, "no_debug", MC_CHECK_FAIL, "the guest policy allows debugging (bit 19 DEBUG is set)");
    else
        add(res, "no_debug", MC_CHECK_PASS, "policy bit 19 DEBUG is clear");
    if (!p->has_vmpl)
        add(res, "vmpl", MC_CHECK_SKIP, "not requested");
    else if (r->vmpl != p->vmpl)
        add(res, "vmpl", MC_CHECK_FAIL, "the report was requested at VMPL %u, not %u", r->vmpl, p->vmpl);
    else
        add(res, "vmpl", MC_CHECK_PASS, "VMPL %u", r->vmpl);
    if (!p->has_policy_mask)
        add(res, "policy_mask", MC_CHECK_SKIP, "not requested");
    else if ((r->policy & p->policy_mask) != p->policy_value)
        add(res, "policy_mask", MC_CHECK_FAIL, "policy 0x%llx & mask 0x%llx = 0x%llx, expected 0x%llx",
            (unsigned long long)r->policy, (unsigned long long)p->policy_mask,
            (unsigned long long)(r->policy & p->policy_mask), (unsigned long long)p->policy_value);
    else
        add(res, "policy_mask", MC_CHECK_PASS, "policy & 0x%llx == 0x%llx", (unsigned long long)p->policy_mask,
            (unsigned long long)p->policy_value);
}

static mc_status cache_key(const struct mc_snp_certs *c, bool vlek, uint8_t key[MC_SHA256_LEN])
{
    struct mc_hashctx *d;
    mc_status st0 = mc_hashctx_create("SHA256", &d, NULL);
    if (st0)
        return st0;
    uint8_t hdr[1 + 3 * 8];
    hdr[0] = vlek;
    uint64_t lens[3] = {c->vcek_len, c->ask ? c->ask_len : 0, c->ark ? c->ark_len : 0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 8; j++)
            hdr[1 + 8 * i + j] = (uint8_t)(lens[i] >> (8 * j));
    mc_status st = mc_hashctx_update(d, hdr, sizeof hdr, NULL);
    if (!st)
        st = mc_hashctx_update(d, c->vcek, c->vcek_len, NULL);
    if (!st && lens[1])
        st = mc_hashctx_update(d, c->ask, c->ask_len, NULL);
    if (!st && lens[2])
        st = mc_hashctx_update(d, c->ark, c->ark_len, NULL);
    if (!st)
        st = mc_hashctx_final(d, key, NULL);
    mc_hashctx_destroy(d);
    return st;
}

mc_status mc_snp_verify(struct mc_snp_verifier *v, const struct mc_snp_report *r, const struct mc_snp_certs *c,
                        const struct mc_snp_policy *p, struct mc_snp_result *res, struct mc_error *err)
{
    static const struct mc_snp_policy nopolicy;
    if (!v || !r || !c || !res)
        return mc_seterr(err, MC_E_INVAL, "missing verifier, report, certificates or result");
    if (!p)
        p = &nopolicy;
    memset(res, 0, sizeof *res);
    res->ok = true;
    res->signer = mc_snp_report_signer(r);
    bool vlek = res->signer == MC_SNP_SIGNER_VLEK;
    bool report_ok = true;

    /* report */
    if (r->signature_algo != 1) {
        add(res, "report", MC_CHECK_FAIL, "signature algorithm %u is not 1 (ECDSA P-384 with SHA-384)", r->signature_algo);
        report_ok = false;
    } else if (res->signer != MC_SNP_SIGNER_VCEK && res->signer != MC_SNP_SIGNER_VLEK) {
        add(res, "report", MC_CHECK_FAIL, "the report's signing key is %u (%s), so there is nothing to verify",
            res->signer, res->signer == MC_SNP_SIGNER_NONE ? "none" : "reserved");
        report_ok = false;
    } else {
        add(res, "report", MC_CHECK_PASS, "version %u, signed by the %s", r->version, vlek ? "VLEK" : "VCEK");
    }

    struct chain_entry *e = NULL;
    struct chain_entry fresh;
    memset(&fresh, 0, sizeof fresh);
    if (!c->vcek) {
        char url[400];
        if (vlek)
            add(res, "vcek", MC_CHECK_FAIL, "no VLEK certificate was given; a VLEK comes from the cloud provider, not "
                                            "from AMD's key server");
        else if (mc_snp_kds_url(r, MC_SNP_GEN_UNKNOWN, url, sizeof url) == MC_OK)
            add(res, "vcek", MC_CHECK_FAIL, "no VCEK certificate was given; AMD's key server has it: %s", url);
        else
            add(res, "vcek", MC_CHECK_FAIL, "no VCEK certificate was given (%s)", url);
    } else if (!c->vcek_len) {
        add(res, "vcek", MC_CHECK_FAIL, "the %s certificate given is empty (0 bytes)", vlek ? "VLEK" : "VCEK");
    } else if (report_ok) {
        uint8_t key[MC_SHA256_LEN];
        mc_status kst = cache_key(c, vlek, key);
        if (kst)
            return mc_seterr(err, kst, kst == MC_E_NOMEM ? "out of memory" : "SHA-256 failed");
        for (int i = 0; i < CACHE_SLOTS && !e; i++)
            if (v->cache[i].used && !memcmp(v->cache[i].key, key, sizeof key))
                e = &v->cache[i];
        if (e) {
            enum mc_snp_gen rg = mc_snp_report_gen(r);
            res->cached = true;
            add(res, "vcek", MC_CHECK_PASS, "%s for %s, productName %s (cached)", vlek ? "VLEK" : "VCEK",
                mc_snp_gen_name(e->gen), e->info.product);
            if (rg != MC_SNP_GEN_UNKNOWN && rg != e->gen) {
                add(res, "generation", MC_CHECK_FAIL, "the report comes from a %s CPU but the certificate is for %s",
                    mc_snp_gen_name(rg), e->info.product);
                e = NULL;
            } else {
                add(res, "generation", MC_CHECK_PASS, "%s", mc_snp_gen_name(e->gen));
                add(res, "chain", MC_CHECK_PASS, "verified earlier (cached)");
            }
        } else if (v->nomem = false, build_chain(v, r, c, vlek, &fresh, res)) {
            struct chain_entry *slot = &v->cache[v->next];
            v->next = (v->next + 1) % CACHE_SLOTS;
            chain_entry_clear(slot);
            *slot = fresh;
            memcpy(slot->key, key, sizeof key);
            slot->used = true;
            memset(&fresh, 0, sizeof fresh);
            e = slot;
        }
    }
    chain_entry_clear(&fresh);
    if (v->nomem) {
        v->nomem = false;
        return mc_seterr(err, MC_E_NOMEM, "out of memory setting up the chain's key");
    }

    if (e) {
        res->gen = e->gen;
        time_t at = p->has_at ? p->at : time(NULL);
        static const char *const nm[3] = {"leaf certificate", "ASK/ASVK", "ARK"};
        int bad = -1;
        for (int i = 0; i < 3 && bad < 0; i++)
            if (at < e->nb[i] || at > e->na[i])
                bad = i;
        char t0[32], t1[32], t2[32];
        fmt_time(at, t0, sizeof t0);
        if (bad >= 0) {
            fmt_time(e->nb[bad], t1, sizeof t1);
            fmt_time(e->na[bad], t2, sizeof t2);
            /* A report checked after its certificate expired (or before it was issued): name a time
             * inside the validity, the one --at needs to check it as of then. */
            char t3[32];
            fmt_time(at > e->na[bad] ? e->na[bad] - 86400 : e->nb[bad] + 86400, t3, sizeof t3);
            add(res, "validity", MC_CHECK_FAIL, "the %s is not valid at %s (valid %s .. %s); to check the report as of "
                                                "a time it was valid, give --at (e.g. --at %.10s)",
                nm[bad], t0, t1, t2, t3);
        } else {
            add(res, "validity", MC_CHECK_PASS, "every certificate is valid at %s", t0);
        }
        check_extensions(e, r, vlek, res);
        check_signature(e, r, res);
    } else {
        static const char *const later[] = {"generation", "chain", "validity", "hwid", "tcb", "signature"};
        for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
            bool present = false;
            for (size_t j = 0; j < res->n; j++)
                if (!strcmp(res->checks[j].name, later[i]))
                    present = true;
            if (!present)
                add(res, later[i], MC_CHECK_SKIP, "not reached: an earlier check failed");
        }
    }
    check_policy(r, p, res->gen != MC_SNP_GEN_UNKNOWN ? res->gen : mc_snp_report_gen(r), res);

    if (!res->ok) {
        for (size_t i = 0; i < res->n; i++)
            if (res->checks[i].state == MC_CHECK_FAIL)
                return mc_seterr(err, MC_E_VERIFY, "%s: %s", res->checks[i].name, res->checks[i].reason);
    }
    return MC_OK;
}

mc_status mc_snp_kds_url(const struct mc_snp_report *r, enum mc_snp_gen gen, char *buf, size_t n)
{
    if (!r || !buf || !n)
        return MC_E_INVAL;
    if (gen == MC_SNP_GEN_UNKNOWN)
        gen = mc_snp_report_gen(r);
    if (all_zero(r->chip_id, 64)) {
        snprintf(buf, n, "the report's chip_id is masked (MASK_CHIP_ID), so its VCEK cannot be looked up");
        return MC_E_NOTFOUND;
    }
    /* AMD KDS (spec 57230): /vcek/v1/{product}/{hwid}?{SPLs}; Turin's hwid is the first 8 bytes of
     * chip_id and its TCB adds fmcSPL. A version 2 report has no CPUID: Milan and Genoa share the
     * TCB layout, so the URL is built for Milan and the product is named as a guess. */
    bool guess = gen == MC_SNP_GEN_UNKNOWN;
    if (guess)
        gen = MC_SNP_GEN_MILAN;
    static const char site[] = "https://kdsintf.amd.com";
    struct mc_kds_query q;
    if (n <= sizeof site || mc_kds_query_report(r, gen, &q, NULL) ||
        mc_kds_query_path(&q, buf + sizeof site - 1, n - (sizeof site - 1), NULL))
        return MC_E_RANGE;
    memcpy(buf, site, sizeof site - 1);
    int k = (int)strlen(buf);
    if (guess && k > 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, " (a version 2 report names no CPU: for a Genoa chip use Genoa in the path)");
    return MC_OK;
}
