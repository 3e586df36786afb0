/* Fuzz target: the extended-report certificate table parser, and the certificate and AMD
 * extension parsers behind it for every entry it yields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/snp_verify.h>

#include "crypto/x509.h"
#include "snp/vcek.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mc_snp_certtable t;
    struct mc_error e;
    if (mc_snp_certtable_parse(data, size, &t, &e) != MC_OK)
        return 0;
    if (t.n > MC_SNP_CERTTABLE_MAX)
        abort();
    for (size_t i = 0; i < t.n; i++) {
        if ((uint64_t)t.e[i].offset + t.e[i].length > size)
            abort();
        X509 *x = NULL;
        if (mc_x509_load(data + t.e[i].offset, t.e[i].length, "entry", &x, &e) == MC_OK) {
            struct mc_snp_vcek_info info;
            (void)mc_snp_vcek_parse(x, &info, &e);
            X509_free(x);
        }
    }
    struct mc_snp_certs c;
    mc_snp_certtable_certs(&t, data, false, &c);
    mc_snp_certtable_certs(&t, data, true, &c);
    return 0;
}
