/* Extended-report certificate table (GHCB extended guest request; digest §6.7).
 * Layout: entries of 24 bytes {GUID[16], u32 offset LE, u32 length LE}, ended by an all-zero
 * entry; GUIDs in RFC 4122 byte order (as go-sev-guest and virtee read them). */
#include <stdlib.h>
#include <string.h>

#include <memcrypt/bytes.h>
#include <memcrypt/snp_verify.h>

enum { ENTRY_GUID = 0, ENTRY_OFFSET = 16, ENTRY_LENGTH = 20, ENTRY_SIZE = 24 };
_Static_assert(ENTRY_OFFSET == ENTRY_GUID + 16 && ENTRY_LENGTH == ENTRY_OFFSET + 4 && ENTRY_SIZE == ENTRY_LENGTH + 4,
               "certificate table entry layout");

static const struct {
    enum mc_snp_cert_kind kind;
    uint8_t guid[16];
} known[] = {
    /* c0b406a4-a803-4952-9743-3fb6014cd0ae */
    {MC_SNP_CERT_ARK, {0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52, 0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae}},
    /* 4ab7b379-bbac-4fe4-a02f-05aef327c782 */
    {MC_SNP_CERT_ASK, {0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82}},
    /* 63da758d-e664-4564-adc5-f4b93be8accd */
    {MC_SNP_CERT_VCEK, {0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd}},
    /* a8074bc2-a25a-483e-aae6-39c045a0b8a1 */
    {MC_SNP_CERT_VLEK, {0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1}},
    /* 92f81bc3-5811-4d3d-97ff-d19f88dc67ea */
    {MC_SNP_CERT_CRL, {0x92, 0xf8, 0x1b, 0xc3, 0x58, 0x11, 0x4d, 0x3d, 0x97, 0xff, 0xd1, 0x9f, 0x88, 0xdc, 0x67, 0xea}},
};

const char *mc_snp_cert_kind_name(enum mc_snp_cert_kind k)
{
    switch (k) {
    case MC_SNP_CERT_ARK: return "ARK";
    case MC_SNP_CERT_ASK: return "ASK";
    case MC_SNP_CERT_VCEK: return "VCEK";
    case MC_SNP_CERT_VLEK: return "VLEK";
    case MC_SNP_CERT_CRL: return "CRL";
    default: return "other";
    }
}

mc_status mc_snp_certtable_parse(const uint8_t *buf, size_t len, struct mc_snp_certtable *out, struct mc_error *err)
{
    if (!buf || !out)
        return mc_seterr(err, MC_E_INVAL, "no certificate table was given");
    struct mc_snp_certtable t;
    memset(&t, 0, sizeof t);
    size_t pos = 0;
    bool terminated = false;
    static const uint8_t zero[ENTRY_SIZE];
    if (len < ENTRY_SIZE)
        return mc_seterr(err, MC_E_FORMAT,
                         "the certificate table is %zu bytes; even an empty one is a %d-byte all-zero entry", len,
                         ENTRY_SIZE);
    while (pos + ENTRY_SIZE <= len) {
        const uint8_t *e = buf + pos;
        pos += ENTRY_SIZE;
        if (!memcmp(e, zero, ENTRY_SIZE)) {
            terminated = true;
            break;
        }
        if (t.n == MC_SNP_CERTTABLE_MAX)
            return mc_seterr(err, MC_E_FORMAT, "the certificate table has more than %d entries", MC_SNP_CERTTABLE_MAX);
        struct mc_snp_certtable_entry *x = &t.e[t.n];
        memcpy(x->guid, e + ENTRY_GUID, 16);
        x->offset = mc_le32(e + ENTRY_OFFSET);
        x->length = mc_le32(e + ENTRY_LENGTH);
        x->kind = MC_SNP_CERT_OTHER;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (!memcmp(known[k].guid, x->guid, 16))
                x->kind = known[k].kind;
        if (x->kind != MC_SNP_CERT_OTHER)
            for (size_t j = 0; j < t.n; j++)
                if (t.e[j].kind == x->kind)
                    return mc_seterr(err, MC_E_FORMAT, "the certificate table lists the %s twice",
                                     mc_snp_cert_kind_name(x->kind));
        if ((uint64_t)x->offset + x->length > len)
            return mc_seterr(err, MC_E_FORMAT,
                             "certificate table entry %zu (%s) points outside the buffer (offset %u, length %u, buffer %zu bytes)",
                             t.n, mc_snp_cert_kind_name(x->kind), x->offset, x->length, len);
        if (x->length == 0)
            return mc_seterr(err, MC_E_FORMAT, "certificate table entry %zu (%s) is empty", t.n,
                             mc_snp_cert_kind_name(x->kind));
        t.n++;
    }
    if (!terminated)
        return mc_seterr(err, MC_E_FORMAT, "the certificate table has no all-zero terminating entry");
    /* Data must lie past the table (including its terminator). */
    for (size_t j = 0; j < t.n; j++)
        if (t.e[j].offset < pos)
            return mc_seterr(err, MC_E_FORMAT, "certificate table entry %zu (%s) overlaps the table itself", j,
                             mc_snp_cert_kind_name(t.e[j].kind));
    *out = t;
    return MC_OK;
}

mc_status mc_snp_certtable_build(const struct mc_snp_certs *c, bool vlek, uint8_t **out, size_t *out_len,
                                 struct mc_error *err)
{
    struct {
        enum mc_snp_cert_kind kind;
        const uint8_t *p;
        size_t n;
    } items[3] = {{vlek ? MC_SNP_CERT_VLEK : MC_SNP_CERT_VCEK, c->vcek, c->vcek_len},
                  {MC_SNP_CERT_ASK, c->ask, c->ask_len},
                  {MC_SNP_CERT_ARK, c->ark, c->ark_len}};
    size_t count = 0, data = 0;
    for (int i = 0; i < 3; i++)
        if (items[i].p && items[i].n) {
            if (items[i].n > UINT32_MAX / 4)
                return mc_seterr(err, MC_E_RANGE, "certificate too large for a table");
            count++;
            data += items[i].n;
        }
    size_t head = (count + 1) * ENTRY_SIZE;
    uint8_t *b = calloc(1, head + data);
    if (!b)
        return mc_seterr(err, MC_E_NOMEM, "out of memory building a certificate table");
    size_t e = 0, off = head;
    for (int i = 0; i < 3; i++) {
        if (!items[i].p || !items[i].n)
            continue;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            if (known[k].kind == items[i].kind)
                memcpy(b + e + ENTRY_GUID, known[k].guid, 16);
        mc_put_le32(b + e + ENTRY_OFFSET, (uint32_t)off);
        mc_put_le32(b + e + ENTRY_LENGTH, (uint32_t)items[i].n);
        memcpy(b + off, items[i].p, items[i].n);
        off += items[i].n;
        e += ENTRY_SIZE;
    }
    *out = b;
    *out_len = head + data;
    return MC_OK;
}

void mc_snp_certtable_certs(const struct mc_snp_certtable *t, const uint8_t *buf, bool want_vlek,
                            struct mc_snp_certs *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < t->n; i++) {
        const struct mc_snp_certtable_entry *x = &t->e[i];
        if (x->kind == (want_vlek ? MC_SNP_CERT_VLEK : MC_SNP_CERT_VCEK)) {
            c->vcek = buf + x->offset;
            c->vcek_len = x->length;
        } else if (x->kind == MC_SNP_CERT_ASK) {
            c->ask = buf + x->offset;
            c->ask_len = x->length;
        } else if (x->kind == MC_SNP_CERT_ARK) {
            c->ark = buf + x->offset;
            c->ark_len = x->length;
        }
    }
}
