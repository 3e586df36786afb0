/* VCEK / VLEK extension parser. This module's job is X.509, so it uses OpenSSL's X.509 API
 * directly.
 *
 * Settled (digest §7 "UNCONFIRMED" Turin spl_4): the real Turin VCEK (snp-reports/oak-turin-oc)
 * carries .3.1/.3.2/.3.3/.3.5/.3.6/.3.7/.3.8/.3.9 and no .3.4. With Turin's layout (FMC, BL, TEE,
 * SNP, 3 reserved, UCODE), .3.9/.3.1/.3.2/.3.3/.3.8 match bytes 0/1/2/3/7 of reported_tcb in that
 * report, which leaves .3.5-.3.7 for the three reserved bytes 4-6, the same way .3.4-.3.7 cover the
 * four reserved bytes 2-5 of the Milan/Genoa layout. Every SPL present is compared with its byte. */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include "snp/vcek.h"

static const char AMD_ARC[] = "1.3.6.1.4.1.3704.1.";

int mc_snp_spl_byte(enum mc_snp_gen gen, int arc)
{
    if (gen == MC_SNP_GEN_TURIN) {
        static const int t[MC_SNP_SPL_ARCS] = {-1, 1, 2, 3, -1, 4, 5, 6, 7, 0};
        return arc >= 0 && arc < MC_SNP_SPL_ARCS ? t[arc] : -1;
    }
    static const int m[MC_SNP_SPL_ARCS] = {-1, 0, 1, 6, 2, 3, 4, 5, 7, -1};
    return arc >= 0 && arc < MC_SNP_SPL_ARCS ? m[arc] : -1;
}

const char *mc_snp_spl_name(int arc)
{
    static const char *const n[MC_SNP_SPL_ARCS] = {"?", "blSPL", "teeSPL", "snpSPL", "spl_4",
                                                  "spl_5", "spl_6", "spl_7", "ucodeSPL", "fmcSPL"};
    return arc >= 0 && arc < MC_SNP_SPL_ARCS ? n[arc] : "?";
}

static mc_status get_int(const unsigned char *d, int len, const char *name, long *out, struct mc_error *err)
{
    const unsigned char *p = d;
    ASN1_INTEGER *ai = d2i_ASN1_INTEGER(NULL, &p, len);
    if (!ai || p != d + len) {
        ASN1_INTEGER_free(ai);
        return mc_seterr(err, MC_E_FORMAT, "certificate extension %s is not a DER INTEGER", name);
    }
    int64_t v64 = 0;
    int ok = ASN1_INTEGER_get_int64(&v64, ai);
    ASN1_INTEGER_free(ai);
    if (!ok)
        return mc_seterr(err, MC_E_FORMAT, "certificate extension %s is out of range", name);
    *out = (long)v64;
    return MC_OK;
}

static mc_status get_ia5(const unsigned char *d, int len, const char *name, char *out, size_t cap,
                         struct mc_error *err)
{
    const unsigned char *p = d;
    ASN1_IA5STRING *s = d2i_ASN1_IA5STRING(NULL, &p, len);
    if (!s || p != d + len) {
        ASN1_IA5STRING_free(s);
        return mc_seterr(err, MC_E_FORMAT, "certificate extension %s is not a DER IA5String", name);
    }
    int n = ASN1_STRING_length(s);
    const unsigned char *c = ASN1_STRING_get0_data(s);
    if (n <= 0 || (size_t)n >= cap) {
        ASN1_IA5STRING_free(s);
        return mc_seterr(err, MC_E_FORMAT, "certificate extension %s has a bad length (%d)", name, n);
    }
    for (int i = 0; i < n; i++) {
        if (c[i] < 0x20 || c[i] >= 0x7f) {
            ASN1_IA5STRING_free(s);
            return mc_seterr(err, MC_E_FORMAT, "certificate extension %s has a non-printable character", name);
        }
        out[i] = (char)c[i];
    }
    out[n] = 0;
    ASN1_IA5STRING_free(s);
    return MC_OK;
}

mc_status mc_snp_vcek_parse(X509 *x, struct mc_snp_vcek_info *out, struct mc_error *err)
{
    struct mc_snp_vcek_info v;
    memset(&v, 0, sizeof v);
    bool has_product = false;
    int n = X509_get_ext_count(x);
    for (int i = 0; i < n; i++) {
        X509_EXTENSION *ext = X509_get_ext(x, i);
        char oid[80];
        if (OBJ_obj2txt(oid, sizeof oid, X509_EXTENSION_get_object(ext), 1) <= 0)
            continue;
        if (strncmp(oid, AMD_ARC, sizeof AMD_ARC - 1) != 0)
            continue;
        const char *arc = oid + sizeof AMD_ARC - 1;
        ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
        const unsigned char *d = ASN1_STRING_get0_data(os);
        int len = ASN1_STRING_length(os);
        mc_status st = MC_OK;
        if (!strcmp(arc, "1")) {
            st = get_int(d, len, "structVersion (.1)", &v.struct_version, err);
            v.has_struct_version = st == MC_OK;
        } else if (!strcmp(arc, "2")) {
            st = get_ia5(d, len, "productName (.2)", v.product, sizeof v.product, err);
            has_product = st == MC_OK;
        } else if (!strncmp(arc, "3.", 2) && arc[2] >= '1' && arc[2] <= '9' && arc[3] == 0) {
            int a = arc[2] - '0';
            long val;
            char nm[40];
            snprintf(nm, sizeof nm, "%s (.3.%d)", mc_snp_spl_name(a), a);
            st = get_int(d, len, nm, &val, err);
            if (st == MC_OK && (val < 0 || val > 255))
                st = mc_seterr(err, MC_E_FORMAT, "certificate extension %s = %ld is outside 0..255", nm, val);
            if (st == MC_OK) {
                v.has_spl[a] = true;
                v.spl[a] = (uint8_t)val;
            }
        } else if (!strcmp(arc, "4")) {
            /* AMD puts the hwID bytes directly in the extension value (no inner tag). Some
             * certificates seen in the wild wrap them in an OCTET STRING (04 40 .. / 04 08 ..);
             * trustee reads both, and so do we, recording which encoding was seen. */
            bool wrapped = (len == 66 && d[0] == 0x04 && d[1] == 0x40) || (len == 10 && d[0] == 0x04 && d[1] == 0x08);
            if (wrapped) {
                d += 2;
                len -= 2;
            }
            if (len != 64 && len != 8)
                st = mc_seterr(err, MC_E_FORMAT, "the hwID extension (.4) is %d bytes; it must be 64 (or 8 on Turin)", len);
            else {
                memcpy(v.hwid, d, (size_t)len);
                v.hwid_len = (size_t)len;
                v.hwid_wrapped = wrapped;
            }
        } else if (!strcmp(arc, "5")) {
            st = get_ia5(d, len, "cspID (.5)", v.csp_id, sizeof v.csp_id, err);
            v.has_csp_id = st == MC_OK;
        }
        if (st != MC_OK)
            return st;
    }
    if (!has_product)
        return mc_seterr(err, MC_E_FORMAT, "the certificate has no AMD productName extension (1.3.6.1.4.1.3704.1.2); "
                                           "it is not a VCEK or VLEK");
    v.gen = mc_snp_gen_parse(v.product);
    if (v.gen == MC_SNP_GEN_UNKNOWN)
        return mc_seterr(err, MC_E_FORMAT, "unknown productName '%s' in the certificate", v.product);
    if (v.hwid_len == 8 && v.gen != MC_SNP_GEN_TURIN)
        return mc_seterr(err, MC_E_FORMAT, "an 8-byte hwID belongs to a Turin VCEK, but productName is '%s'", v.product);
    if (v.hwid_len == 64 && v.gen == MC_SNP_GEN_TURIN)
        return mc_seterr(err, MC_E_FORMAT, "a Turin VCEK carries an 8-byte hwID, this one has 64 bytes");
    *out = v;
    return MC_OK;
}
