/* memcrypt — lookup in the built-in AMD ARK/ASK table. */
#include <string.h>

#include "sev/amd_roots.h"

const struct mc_sev_root *mc_sev_roots(size_t *n)
{
    if (n)
        *n = mc_sev_roots_count;
    return mc_sev_roots_table;
}

const char *mc_sev_root_match_ark(const struct mc_amd_cert *ark)
{
    if (!ark)
        return NULL;
    for (size_t i = 0; i < mc_sev_roots_count; i++) {
        struct mc_amd_cert r;
        if (mc_amd_cert_parse(mc_sev_roots_table[i].ark, mc_sev_roots_table[i].ark_len, &r, NULL) != MC_OK)
            continue;
        if (r.modulus_bits == ark->modulus_bits && r.pubexp_bits == ark->pubexp_bits &&
            !memcmp(r.modulus, ark->modulus, r.modulus_bits / 8) && !memcmp(r.pubexp, ark->pubexp, r.pubexp_bits / 8) &&
            !memcmp(r.key_id, ark->key_id, 16))
            return mc_sev_roots_table[i].name;
    }
    return NULL;
}
