/* memcrypt tests — helpers shared by the SNP platform tests (header only). */
#ifndef MC_SNP_TESTLIB_H
#define MC_SNP_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memcrypt/fileio.h>
#include <memcrypt/measure.h>
#include <memcrypt/psp.h>
#include <memcrypt/snp_api.h>
#include <memcrypt/snp_identity.h>
#include <memcrypt/snp_verify.h>

/* The firmware's SNP launch log (mc_psp_set_snp_log) recorded as an owner's transcript
 * (ctx: struct mc_measure_transcript), to compare with `measure --transcript`. */
static inline void snp_fwlog_step(void *ctx, const struct mc_psp_snp_page *p)
{
    struct mc_measure_transcript *t = ctx;
    struct mc_measure_step s = {.index = t->n, .gpa = p->gpa, .page_type = p->page_type, .length = MC_SNP_PAGE,
                                .digest_len = 48, .data = p->data, .vcpu = -1, .what = "firmware"};
    memcpy(s.contents, p->contents, 48);
    memcpy(s.digest, p->digest, 48);
    mc_measure_transcript_step(t, &s);
}

/* A whole file (at most 64 MiB), or NULL. */
static inline uint8_t *snp_load(const char *path, size_t *n)
{
    uint8_t *b = NULL;
    return mc_file_read(path, 64 << 20, &b, n, NULL) == MC_OK ? b : NULL;
}

/* Private key k as PEM text (malloc'd, NUL-terminated; *len without the NUL). */
static inline char *pem_of(EVP_PKEY *k, size_t *len)
{
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)n + 1);
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    *len = (size_t)n;
    BIO_free(b);
    return out;
}

/* A fresh folder under $TMPDIR (or /tmp) named after the test; 0 on success. */
static inline int snp_tmpdir(char *buf, size_t n, const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, n, "%s/%s.XXXXXX", t ? t : "/tmp", name);
    return mkdtemp(buf) ? 0 : -1;
}

static inline void snp_tmpdir_remove(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Export id's emulated roots to dir at the report's REPORTED_TCB (mc_snp_identity_export) and
 * verify the report with them, as `report verify --roots dir` does: the VCEK or the VLEK
 * certificate by the report's signer. */
static inline mc_status snp_verify_exported(struct mc_snp_identity *id, const uint8_t *report, const char *dir,
                                            struct mc_error *e)
{
    struct mc_snp_report r;
    mc_status st = mc_snp_report_decode(report, MC_SNP_REPORT_SIZE, &r, e);
    if (!st)
        st = mc_snp_identity_export(id, dir, r.reported_tcb, e);
    char p[600];
    snprintf(p, sizeof p, "%s/%s.der", dir, mc_snp_report_signer(&r) == MC_SNP_SIGNER_VLEK ? "vlek" : "vcek");
    uint8_t *leaf = NULL;
    size_t n = 0;
    if (!st)
        st = mc_file_read(p, 1 << 16, &leaf, &n, e);
    struct mc_snp_verifier *v = NULL;
    if (!st)
        st = mc_snp_verifier_create(dir, &v, e);
    if (!st) {
        struct mc_snp_certs c = {.vcek = leaf, .vcek_len = n};
        struct mc_snp_result res;
        st = mc_snp_verify(v, &r, &c, NULL, &res, e);
    }
    mc_snp_verifier_destroy(v);
    free(leaf);
    return st;
}

#endif
