/* Fuzz target: what a KDS answers, as `memcrypt fetch` checks it (memcrypt/kds_client.h).
 * Input: byte 0 = query (bits 0-1 product 1..3, bit 2 VLEK side, bit 3 a CRL rather than a VCEK),
 * 64 bytes hwID, 8 bytes TCB (LE), u32 LE length of the cert_chain answer, the answer, then the
 * VCEK or CRL answer. The chain is checked; when it passes, the leaf answer is checked with it.
 * Nothing may crash; a failed check must leave what was checked before as it was; a pass must
 * hand back DER the same checks accept again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/kds_client.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 77)
        return 0;
    struct mc_kds_query q = {.item = MC_KDS_CA, .gen = (enum mc_snp_gen)(data[0] & 3), .vlek = (data[0] & 4) != 0};
    memcpy(q.hwid, data + 1, 64);
    q.tcb = mc_le64(data + 65);
    uint32_t cl = mc_le32(data + 73);
    const uint8_t *chain = data + 77, *leaf;
    size_t rest = size - 77;
    if (cl > rest)
        cl = (uint32_t)rest;
    leaf = chain + cl;
    rest -= cl;
    char path[400];
    (void)mc_kds_query_path(&q, path, sizeof path, NULL);
    struct mc_kds_certs c = {0};
    struct mc_error e;
    if (mc_kds_check_chain(&q, chain, cl, 0, &c, &e) != MC_OK) {
        if (c.ask || c.ark)
            abort();
        return 0;
    }
    if (!c.ask || !c.ark)
        abort();
    struct mc_kds_certs before = c;
    if (data[0] & 8) {
        if (mc_kds_check_crl(leaf, rest, &c, &e) == MC_OK) {
            uint8_t *pem = NULL;
            size_t pl = 0;
            if (!c.crl || mc_kds_pem(c.crl, c.crl_len, true, &pem, &pl, &e) != MC_OK)
                abort();
            free(pem);
        } else if (c.crl != before.crl) {
            abort();
        }
    } else {
        q.item = MC_KDS_VCEK;
        q.vlek = false;
        (void)mc_kds_query_path(&q, path, sizeof path, NULL);
        if (mc_kds_check_vcek(&q, leaf, rest, 0, &c, &e) == MC_OK) {
            if (!c.vcek || mc_kds_check_vcek(&q, c.vcek, c.vcek_len, 0, &c, &e) != MC_OK)
                abort();
        } else if (c.vcek != before.vcek) {
            abort();
        }
    }
    mc_kds_certs_free(&c);
    return 0;
}
