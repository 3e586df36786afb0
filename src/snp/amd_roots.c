/* AMD's built-in roots parsed once per process, each when first used (see amd_roots.h). */
#include "snp/amd_roots.h"

#include <pthread.h>
#include <string.h>

#include "crypto/x509.h"

#define NGEN (MC_SNP_GEN_TURIN + 1)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static X509 *parsed[NGEN][3];
static unsigned nparsed;

X509 *mc_amd_root_x509(enum mc_snp_gen gen, enum mc_amd_role role, struct mc_error *err)
{
    static const char *const names[3] = {"ARK", "ASK", "ASVK"};
    if ((unsigned)gen >= NGEN || (unsigned)role > MC_AMD_ASVK) {
        mc_seterr(err, MC_E_INVAL, "no built-in root for generation %d role %d", (int)gen, (int)role);
        return NULL;
    }
    const struct mc_amd_root *r = mc_amd_roots;
    while (r->gen != MC_SNP_GEN_UNKNOWN && r->gen != gen)
        r++;
    const char *pem = r->gen == MC_SNP_GEN_UNKNOWN ? NULL
                      : role == MC_AMD_ARK         ? r->ark_pem
                      : role == MC_AMD_ASK         ? r->ask_pem
                                                   : r->asvk_pem;
    if (!pem) {
        mc_seterr(err, MC_E_NOTFOUND, "AMD publishes no %s %s built into memcrypt", mc_snp_gen_name(gen),
                  names[role]);
        return NULL;
    }
    pthread_mutex_lock(&lock);
    X509 *x = parsed[gen][role];
    if (!x) {
        char what[48];
        snprintf(what, sizeof what, "built-in %s %s", mc_snp_gen_name(gen), names[role]);
        if (mc_x509_load((const uint8_t *)pem, strlen(pem), what, &x, err) == MC_OK) {
            parsed[gen][role] = x;
            nparsed++;
        } else {
            x = NULL;
        }
    }
    pthread_mutex_unlock(&lock);
    return x;
}

unsigned mc_amd_roots_parsed(void)
{
    pthread_mutex_lock(&lock);
    unsigned n = nparsed;
    pthread_mutex_unlock(&lock);
    return n;
}
