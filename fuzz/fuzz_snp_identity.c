/* Fuzz target: the SNP identity blob (the emulated chip's secret, VLEK and emulated AMD roots as the
 * firmware state stores them). The input is parsed as given, and again with its length field and
 * SHA-256 checksum made consistent, so mutations reach the checks behind the checksum. A blob is
 * refused with MC_E_FORMAT and a sentence, or accepted; an accepted blob serializes back to the
 * same bytes. Never a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/snp_identity.h>

#include "crypto/crypto.h"

static void one(const uint8_t *data, size_t size)
{
    struct mc_snp_identity *id = NULL;
    struct mc_error e;
    mc_status st = mc_snp_identity_deserialize(data, size, &id, &e);
    if (st != MC_OK) {
        if ((st != MC_E_FORMAT && st != MC_E_NOMEM) || !e.msg[0] || id)
            abort();
        return;
    }
    uint8_t *b = NULL;
    size_t n = 0;
    if (mc_snp_identity_serialize(id, &b, &n, NULL) != MC_OK || n != size || memcmp(b, data, size) != 0)
        abort();
    mc_wipe(b, n);
    free(b);
    mc_snp_identity_destroy(id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    if (size >= 0x10 + 32 && size < (1u << 20)) {
        uint8_t *c = malloc(size);
        if (!c)
            return 0;
        memcpy(c, data, size);
        mc_put_le32(c + 0x0C, (uint32_t)size);
        mc_sha256(c, size - 32, c + size - 32, NULL);
        one(c, size);
        free(c);
    }
    return 0;
}
