/* AMD's built-in roots are parsed lazily, once per process: a new verifier parses nothing, a
 * Milan VCEK report parses the Milan ARK and ASK only, later verifiers (and threads) reuse them,
 * a VLEK report adds the ASVK, another generation adds its own pair; the results are those of
 * the full check. Runs in its own process so that the counts start at zero. */
#include <pthread.h>

#include <memcrypt/fileio.h>
#include <memcrypt/snp_report.h>
#include <memcrypt/snp_verify.h>

#include "check.h"
#include "snp/amd_roots.h"

#define AMD MC_TEST_DATA "/amd/snp-reports/"
static const time_t AT_2025_06 = 1748736000; /* inside every certificate's validity used here */

struct item {
    struct mc_snp_report r;
    uint8_t *cert;
    size_t cert_len;
};

static bool load(const char *name, const char *cert, struct item *it)
{
    char p[512];
    uint8_t *b = NULL;
    size_t n;
    struct mc_error e;
    snprintf(p, sizeof p, AMD "%s/report.bin", name);
    if (mc_file_read(p, 1 << 20, &b, &n, &e) != MC_OK || mc_snp_report_decode(b, n, &it->r, &e) != MC_OK) {
        free(b);
        return false;
    }
    free(b);
    snprintf(p, sizeof p, AMD "%s/%s", name, cert);
    return mc_file_read(p, 1 << 20, &it->cert, &it->cert_len, &e) == MC_OK;
}

/* A new verifier's verification of it; true when every check passed. */
static bool verify_fresh(const struct item *it)
{
    struct mc_snp_verifier *v;
    struct mc_snp_result res;
    struct mc_snp_certs c = {it->cert, it->cert_len, NULL, 0, NULL, 0};
    struct mc_snp_policy p = {.has_at = true, .at = AT_2025_06};
    if (mc_snp_verifier_create(NULL, &v, NULL) != MC_OK)
        return false;
    bool ok = mc_snp_verify(v, &it->r, &c, &p, &res, NULL) == MC_OK && res.ok && !res.cached;
    mc_snp_verifier_destroy(v);
    return ok;
}

static struct item milan, milan_vlek, genoa;

static void *worker(void *arg)
{
    const struct item *it = arg;
    for (int i = 0; i < 3; i++)
        if (!verify_fresh(it))
            return (void *)1;
    return NULL;
}

static void test_lazy_roots(void)
{
    CHECK(load("virtee-milan", "vcek.der", &milan));
    CHECK(load("trustee-milan-vlek", "vlek.der", &milan_vlek));
    CHECK(load("trustee-genoa-e2e", "vcek.der", &genoa));
    CHECK_EQ_U64(mc_amd_roots_parsed(), 0);
    struct mc_snp_verifier *v;
    CHECK(mc_snp_verifier_create(NULL, &v, NULL) == MC_OK);
    CHECK_EQ_U64(mc_amd_roots_parsed(), 0); /* a verifier alone parses nothing */
    mc_snp_verifier_destroy(v);

    CHECK(verify_fresh(&milan));
    CHECK_EQ_U64(mc_amd_roots_parsed(), 2); /* Milan ARK + ASK */
    X509 *ark = mc_amd_root_x509(MC_SNP_GEN_MILAN, MC_AMD_ARK, NULL);
    CHECK(ark && ark == mc_amd_root_x509(MC_SNP_GEN_MILAN, MC_AMD_ARK, NULL));
    for (int i = 0; i < 5; i++)
        CHECK(verify_fresh(&milan));
    CHECK_EQ_U64(mc_amd_roots_parsed(), 2); /* new verifiers reuse them */

    CHECK(verify_fresh(&milan_vlek));
    CHECK_EQ_U64(mc_amd_roots_parsed(), 3); /* + Milan ASVK */
    CHECK(verify_fresh(&genoa));
    CHECK_EQ_U64(mc_amd_roots_parsed(), 5); /* + Genoa ARK + ASK */

    /* Threads: new verifiers of every kind at once, answers unchanged, nothing parsed twice. */
    pthread_t t[6];
    struct item *its[6] = {&milan, &genoa, &milan_vlek, &milan, &genoa, &milan_vlek};
    int started = 0;
    for (int i = 0; i < 6; i++)
        started += pthread_create(&t[i], NULL, worker, its[i]) == 0;
    CHECK(started == 6);
    for (int i = 0; i < started; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        CHECK(r == NULL);
    }
    CHECK_EQ_U64(mc_amd_roots_parsed(), 5);

    /* What is not built in is said, not guessed. */
    struct mc_error e;
    CHECK(mc_amd_root_x509(MC_SNP_GEN_UNKNOWN, MC_AMD_ARK, &e) == NULL);
    CHECK(mc_amd_root_x509((enum mc_snp_gen)7, MC_AMD_ASK, &e) == NULL && e.code == MC_E_INVAL);
    CHECK(mc_amd_root_x509(MC_SNP_GEN_TURIN, MC_AMD_ARK, &e) != NULL);
    CHECK_EQ_U64(mc_amd_roots_parsed(), 6);
    free(milan.cert);
    free(milan_vlek.cert);
    free(genoa.cert);
}

int main(void)
{
    RUN(test_lazy_roots);
    return check_summary();
}
