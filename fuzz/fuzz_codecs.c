/* Fuzz target: the hex, number, size and base64 parsers that every CLI input goes through. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    uint8_t out[512];
    size_t n;
    uint64_t v;
    struct mc_error e;
    mc_hex_decode(s, out, sizeof out, &n, &e);
    mc_parse_u64(s, &v, &e);
    mc_parse_size(s, &v, &e);
    if (mc_base64_decode(s, size, out, sizeof out, &n, &e) == MC_OK) {
        char enc[700];
        if (n <= 500) {
            mc_base64_encode(out, n, enc);
            uint8_t back[512];
            size_t m;
            if (mc_base64_decode(enc, strlen(enc), back, sizeof back, &m, NULL) != MC_OK || m != n ||
                memcmp(back, out, n) != 0)
                abort();
        }
    }
    free(s);
    return 0;
}
