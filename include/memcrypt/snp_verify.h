/* memcrypt — SEV-SNP attestation report verification.
 *
 * A verifier holds the trust anchors (AMD's real Milan, Genoa and Turin ARK/ASK/ASVK, built in;
 * or a test root loaded from a folder, only when asked) and a small cache of VCEK/VLEK chains it
 * has already verified, so repeated verifications cost one ECDSA P-384 check each.
 *
 *   struct mc_snp_verifier *v; mc_snp_verifier_create(NULL, &v, &err);
 *   struct mc_snp_certs c = {.vcek = der, .vcek_len = n};
 *   struct mc_snp_policy p = {0};                       // no policy checks
 *   struct mc_snp_result res;
 *   mc_snp_verify(v, &report, &c, &p, &res, &err);      // MC_OK only when every check passed
 *   mc_snp_verifier_destroy(v);
 *
 * A verifier is not thread-safe (its cache changes); use one per thread.
 */
#ifndef MEMCRYPT_SNP_VERIFY_H
#define MEMCRYPT_SNP_VERIFY_H

#include <memcrypt/api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <memcrypt/error.h>
#include <memcrypt/snp_report.h>

MC_BEGIN_DECLS

struct mc_snp_verifier;

/* roots_dir == NULL: AMD's built-in roots. Otherwise the roots to trust instead (the built-in
 * ones are then NOT trusted), a test, emulated or AMD's root of one product:
 *  - a folder: roots_dir/ark.pem plus ask.pem and/or asvk.pem (as written by `memcrypt fixtures`,
 *    `run --out-dir`, `fetch ca`); the generation is read from the ARK's CN ("ARK-<Product>");
 *  - any other path: a cert_chain.pem file as AMD's KDS serves it, PEM, the ASK (or ASVK) and
 *    then the ARK, checked as hostile input (exactly two certificates in that order, named for
 *    one product, the ARK self-signed and signing the ASK, no false claim to be AMD's ARK);
 *    MC_E_FORMAT / MC_E_VERIFY with a message naming the file otherwise.
 * *out is owned by the caller (mc_snp_verifier_destroy). */
MC_API mc_status mc_snp_verifier_create(const char *roots_dir, struct mc_snp_verifier **out, struct mc_error *err);
MC_API void mc_snp_verifier_destroy(struct mc_snp_verifier *v);
/* true when the verifier trusts a test root rather than AMD's. */
MC_API bool mc_snp_verifier_is_test(const struct mc_snp_verifier *v);
/* Whose roots the verifier trusts, by their marking: "amd" (AMD's built-in roots, or AMD's real ARK
 * given with --roots), "emulated" (an emulated chip's), "test" (`memcrypt fixtures`) or "given"
 * (any other CA). */
MC_API const char *mc_snp_verifier_roots(const struct mc_snp_verifier *v);

/* Certificates for one verification (DER or PEM bytes; borrowed). vcek is required (a VLEK goes
 * in the same field). ask/ark are optional; when given they must be the trusted ones. */
struct mc_snp_certs {
    const uint8_t *vcek; size_t vcek_len;
    const uint8_t *ask;  size_t ask_len;   /* ASK, or ASVK for a VLEK */
    const uint8_t *ark;  size_t ark_len;
};

/* Optional checks; a check is requested by its has_ flag (or true bool). */
struct mc_snp_policy {
    bool has_at;             time_t at;            /* certificate validity time; default now */
    bool has_measurement;    uint8_t measurement[48];
    bool has_report_data;    uint8_t report_data[64];
    bool has_host_data;      uint8_t host_data[32];
    bool has_id_key_digest;  uint8_t id_key_digest[48];
    bool has_min_tcb;        uint64_t min_tcb;     /* in the report's generation layout */
    const char *min_tcb_spec;                      /* or "bl=N,tee=N,snp=N,ucode=N[,fmc=N]", read in the
                                                      layout of the generation the verification settles on */
    bool no_debug;                                 /* policy DEBUG must be 0 */
    bool has_vmpl;           uint32_t vmpl;
    bool has_policy_mask;    uint64_t policy_mask, policy_value; /* (policy & mask) == value */
};

enum mc_check_state { MC_CHECK_PASS, MC_CHECK_FAIL, MC_CHECK_SKIP };
#define MC_SNP_MAX_CHECKS 24

struct mc_snp_check {
    const char *name;                 /* stable id: "report", "chain", "signature", ... */
    enum mc_check_state state;
    char reason[512];
};

struct mc_snp_result {
    size_t n;
    struct mc_snp_check checks[MC_SNP_MAX_CHECKS];
    enum mc_snp_gen gen;              /* generation used */
    unsigned signer;                  /* MC_SNP_SIGNER_* from the report */
    bool ok;                          /* every check passed or was skipped */
    bool cached;                      /* the chain came from the cache */
};

/* Verify a decoded report. Fills res with every check (pass/fail/skip + reason).
 * Returns MC_OK when all requested checks pass, MC_E_VERIFY when one fails (err gets the first
 * failing check's reason), MC_E_INVAL/NOMEM for bad arguments. A malformed certificate is a
 * failed check, not a crash. */
MC_API MC_MUST_CHECK mc_status mc_snp_verify(struct mc_snp_verifier *v, const struct mc_snp_report *r, const struct mc_snp_certs *c,
                        const struct mc_snp_policy *p, struct mc_snp_result *res, struct mc_error *err);

MC_API const char *mc_check_state_name(enum mc_check_state s); /* "pass", "fail", "skipped" */

/* Where AMD's key server (KDS) serves the VCEK for this report: the product (gen, or the report's
 * CPUID; a version 2 report is taken as Milan and the text says so), the hwID from chip_id and the
 * SPLs of reported_tcb. MC_E_NOTFOUND (buf says why) when chip_id is masked. */
MC_API mc_status mc_snp_kds_url(const struct mc_snp_report *r, enum mc_snp_gen gen, char *buf, size_t n);

/* ---- Extended-report certificate table (GHCB extended guest request) ----
 * Entries {GUID[16] (RFC 4122 byte order), u32 offset, u32 length} up to an all-zero entry;
 * offsets are from the start of the buffer and must point past the table. */
enum mc_snp_cert_kind { MC_SNP_CERT_ARK, MC_SNP_CERT_ASK, MC_SNP_CERT_VCEK, MC_SNP_CERT_VLEK, MC_SNP_CERT_CRL,
                        MC_SNP_CERT_OTHER };
#define MC_SNP_CERTTABLE_MAX 32
struct mc_snp_certtable_entry {
    uint8_t guid[16];
    enum mc_snp_cert_kind kind;
    uint32_t offset, length;           /* into the buffer given to the parser */
};
struct mc_snp_certtable {
    size_t n;
    struct mc_snp_certtable_entry e[MC_SNP_CERTTABLE_MAX];
};
/* Parse and bounds-check a table (no terminator, overlapping the table, out of bounds,
 * duplicate known GUIDs, more than MC_SNP_CERTTABLE_MAX entries -> MC_E_FORMAT). */
MC_API mc_status mc_snp_certtable_parse(const uint8_t *buf, size_t len, struct mc_snp_certtable *out, struct mc_error *err);
/* Build a table from the given blobs (NULL/0 = absent) into a fresh buffer (caller frees). */
MC_API mc_status mc_snp_certtable_build(const struct mc_snp_certs *c, bool vlek, uint8_t **out, size_t *out_len,
                                 struct mc_error *err);
/* Fill c with pointers into buf: the VCEK (want_vlek: the VLEK), the ASK and the ARK. */
MC_API void mc_snp_certtable_certs(const struct mc_snp_certtable *t, const uint8_t *buf, bool want_vlek,
                            struct mc_snp_certs *c);
MC_API const char *mc_snp_cert_kind_name(enum mc_snp_cert_kind k);

/* ---- The chain's X.509 certificates described (certs show) ----
 * One DER/PEM certificate or a PEM bundle (AMD's cert_chain, trustee's ask+ark+asvk). */
#define MC_SNP_CERTINFO_MAX 8
struct mc_snp_certinfo {
    char subject_cn[96];
    char issuer[256];
    char role[8];            /* "ARK", "ASK", "ASVK", "VCEK", "VLEK" or "?" (from CN and extensions) */
    char serial[80];         /* hex */
    time_t not_before, not_after;
    char sig_alg[48];        /* "RSASSA-PSS SHA384" */
    char key[48];            /* "RSA 4096 bits", "EC secp384r1" */
    char amd_builtin[48];    /* "AMD's Milan ARK" when it is one of the built-in roots, else "" */
    char signed_by[96];      /* whose key verifies its signature (a bundle member or a built-in root), or "" */
    bool has_amd_ext;        /* AMD's extensions (1.3.6.1.4.1.3704.1.*) were read */
    bool has_struct_version;
    long struct_version;
    char product[64];
    bool has_spl[10];
    uint8_t spl[10];         /* .3.1 blSPL .. .3.9 fmcSPL */
    uint8_t hwid[64];
    size_t hwid_len;
    bool hwid_wrapped;       /* the hwID came wrapped in an OCTET STRING (AMD's are raw) */
    bool has_csp_id;
    char csp_id[128];
    char ext_error[200];     /* why AMD's extensions could not be read, or "" */
};
MC_API mc_status mc_snp_certs_describe(const uint8_t *buf, size_t len, struct mc_snp_certinfo *out, size_t max, size_t *n,
                                struct mc_error *err);
/* Name of an SPL extension arc .3.N ("blSPL", "teeSPL", ..., "fmcSPL"). */
MC_API const char *mc_snp_spl_label(int arc);

MC_END_DECLS

#endif
