/* libvirt domain XML reader (see include/memcrypt/libvirt.h).
 *
 * Facts used (libvirt docs/formatdomain.rst, src/conf/domain_conf.c, src/util/virutil.c):
 * - <memory>/<currentMemory> take a unit attribute; the default unit is KiB. Units are
 *   case-insensitive: b/bytes = 1, KB = 1000, k/KiB = 1024, MB = 10^6, M/MiB = 2^20, and so on
 *   up to E/EiB and EB. libvirt stores the size in KiB, rounding a byte count up.
 * - <vcpu> defaults to 1. <policy> is hexadecimal (libvirt reads it as base 16, a 0x prefix is
 *   optional); cbitpos / reducedPhysBits are unsigned decimal.
 * - <launchSecurity type='sev'> children: cbitpos, reducedPhysBits, policy, dhCert, session;
 *   attribute kernelHashes. type='sev-snp': cbitpos, reducedPhysBits, policy (64-bit),
 *   guestVisibleWorkarounds, idBlock, idAuth, hostData; attributes kernelHashes, authorKey, vcek.
 * Hostile input: no DOCTYPE (so no entities at all), no network, libxml2's default size and
 * depth limits (no XML_PARSE_HUGE), our own size cap, every modeled element at most once.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memcrypt/fileio.h>
#include <memcrypt/libvirt.h>

#include "crypto/crypto.h"
#include "formats/xmllib.h"

#define LV_MAX_TEXT 65536u   /* longest text we accept in any modeled element */
#define LV_MAX_PATH 4096u

const char *mc_libvirt_sectype_name(enum mc_lv_sectype t)
{
    switch (t) {
    case MC_LV_SEC_SEV: return "sev";
    case MC_LV_SEC_SEV_SNP: return "sev-snp";
    default: return "none";
    }
}

static void blob_free(struct mc_lv_blob *b)
{
    free(b->text);
    if (b->data)
        mc_wipe(b->data, b->len);
    free(b->data);
    memset(b, 0, sizeof *b);
}

void mc_libvirt_free(struct mc_lv_domain *d)
{
    if (!d)
        return;
    char **strs[] = {&d->type, &d->name, &d->uuid, &d->os_type, &d->arch, &d->machine, &d->os_firmware,
                     &d->loader, &d->loader_type, &d->nvram, &d->kernel, &d->initrd, &d->cmdline, &d->shim,
                     &d->cpu_mode, &d->cpu_model};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        free(*strs[i]);
    struct mc_lv_launch_security *s = &d->sec;
    blob_free(&s->dh_cert);
    blob_free(&s->session);
    blob_free(&s->gosvw);
    blob_free(&s->id_block);
    blob_free(&s->id_auth);
    blob_free(&s->host_data);
    free(d);
}

/* ------------------------------------------------------------------ helpers -- */

static bool name_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* The only child element called name; *out = NULL when absent; error when repeated. */
static mc_status child_once(const xmlNode *parent, const char *name, xmlNode **out, struct mc_error *err)
{
    *out = NULL;
    for (xmlNode *c = parent ? parent->children : NULL; c; c = c->next) {
        if (!name_is(c, name))
            continue;
        if (*out)
            return mc_seterr(err, MC_E_FORMAT, "element <%s> appears more than once inside <%s>", name,
                             (const char *)parent->name);
        *out = c;
    }
    return MC_OK;
}

/* Text of an element with surrounding whitespace trimmed; malloc'd. */
static mc_status node_text(const struct mc_xmllib *xl, const xmlNode *n, const char *what, char **out,
                           struct mc_error *err)
{
    *out = NULL;
    xmlChar *c = xl->NodeGetContent(n);
    if (!c)
        return mc_seterr(err, MC_E_NOMEM, "out of memory reading <%s>", what);
    const char *s = (const char *)c;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    if (len > LV_MAX_TEXT) {
        mc_xmllib_free(xl, c);
        return mc_seterr(err, MC_E_RANGE, "<%s> is too long (%zu characters, at most %u)", what, len, LV_MAX_TEXT);
    }
    char *r = malloc(len + 1);
    if (!r) {
        mc_xmllib_free(xl, c);
        return mc_seterr(err, MC_E_NOMEM, "out of memory reading <%s>", what);
    }
    memcpy(r, s, len);
    r[len] = 0;
    mc_xmllib_free(xl, c);
    *out = r;
    return MC_OK;
}

/* Attribute value (malloc'd) or NULL when absent. */
static mc_status attr_dup(const struct mc_xmllib *xl, const xmlNode *n, const char *name, char **out,
                          struct mc_error *err)
{
    *out = NULL;
    xmlChar *v = xl->GetNoNsProp(n, (const xmlChar *)name);
    if (!v)
        return MC_OK;
    size_t len = strlen((const char *)v);
    if (len > LV_MAX_PATH) {
        mc_xmllib_free(xl, v);
        return mc_seterr(err, MC_E_RANGE, "attribute %s of <%s> is too long", name, (const char *)n->name);
    }
    *out = strdup((const char *)v);
    mc_xmllib_free(xl, v);
    if (!*out)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    return MC_OK;
}

static mc_status attr_tristate(const struct mc_xmllib *xl, const xmlNode *n, const char *name,
                               enum mc_lv_tristate *out, struct mc_error *err)
{
    char *v;
    mc_status st = attr_dup(xl, n, name, &v, err);
    if (st)
        return st;
    *out = MC_LV_ABSENT;
    if (!v)
        return MC_OK;
    if (!strcmp(v, "yes"))
        *out = MC_LV_YES;
    else if (!strcmp(v, "no"))
        *out = MC_LV_NO;
    else
        st = mc_seterr(err, MC_E_FORMAT, "invalid value '%s' for attribute %s of <%s> (expected 'yes' or 'no')", v,
                       name, (const char *)n->name);
    free(v);
    return st;
}

/* Strict unsigned decimal (no sign, no spaces, no hex). */
static mc_status parse_udec(const char *s, const char *what, uint64_t max, uint64_t *out, struct mc_error *err)
{
    if (!*s)
        return mc_seterr(err, MC_E_FORMAT, "<%s> is empty (expected an unsigned decimal number)", what);
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return mc_seterr(err, MC_E_FORMAT, "invalid value '%.40s' in <%s> (expected an unsigned decimal number)",
                             s, what);
        unsigned dgt = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return mc_seterr(err, MC_E_RANGE, "value '%.40s' in <%s> is too large", s, what);
        v = v * 10 + dgt;
    }
    if (v > max)
        return mc_seterr(err, MC_E_RANGE, "value %llu in <%s> is too large (at most %llu)", (unsigned long long)v,
                         what, (unsigned long long)max);
    *out = v;
    return MC_OK;
}

/* Hexadecimal with optional 0x/0X prefix, like libvirt's policy parsing. */
static mc_status parse_hex(const char *s, const char *what, unsigned bits, uint64_t *out, struct mc_error *err)
{
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        p += 2;
    if (!*p)
        return mc_seterr(err, MC_E_FORMAT, "invalid value '%.40s' in <%s> (expected a hexadecimal number)", s, what);
    uint64_t v = 0;
    for (; *p; p++) {
        int d;
        if (*p >= '0' && *p <= '9')
            d = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            d = *p - 'A' + 10;
        else
            return mc_seterr(err, MC_E_FORMAT, "invalid value '%.40s' in <%s> (expected a hexadecimal number)", s,
                             what);
        if (v >> 60)
            return mc_seterr(err, MC_E_RANGE, "value '%.40s' in <%s> does not fit in %u bits", s, what, bits);
        v = (v << 4) | (uint64_t)d;
    }
    if (bits < 64 && (v >> bits))
        return mc_seterr(err, MC_E_RANGE, "value '%.40s' in <%s> does not fit in %u bits", s, what, bits);
    *out = v;
    return MC_OK;
}

/* libvirt's unit scaling (virScaleInteger): case-insensitive; default KiB for memory. */
static mc_status unit_scale(const char *unit, const char *what, uint64_t *scale, struct mc_error *err)
{
    if (!unit || !*unit) {
        *scale = 1024;
        return MC_OK;
    }
    int c = tolower((unsigned char)unit[0]);
    if (c == 'b') {
        if (!strcasecmp(unit, "b") || !strcasecmp(unit, "byte") || !strcasecmp(unit, "bytes")) {
            *scale = 1;
            return MC_OK;
        }
        goto bad;
    }
    static const char letters[] = "kmgtpe";
    const char *at = strchr(letters, c);
    if (!c || !at)
        goto bad;
    unsigned power = (unsigned)(at - letters) + 1;
    uint64_t base;
    if (unit[1] == 0 || !strcasecmp(unit + 1, "iB"))
        base = 1024;
    else if ((unit[1] == 'b' || unit[1] == 'B') && unit[2] == 0)
        base = 1000;
    else
        goto bad;
    uint64_t s = 1;
    for (unsigned i = 0; i < power; i++)
        s *= base;
    *scale = s;
    return MC_OK;
bad:
    return mc_seterr(err, MC_E_FORMAT, "unknown unit '%.20s' for <%s> (use b, KiB, MiB, GiB, TiB, PiB, EiB, KB, MB, ...)",
                     unit, what);
}

/* Largest memory size we accept: 2^52 bytes (4 PiB, the x86 physical-address limit). */
#define LV_MAX_MEM_BYTES (1ull << 52)

static mc_status parse_memory(const struct mc_xmllib *xl, const xmlNode *n, const char *what, uint64_t *kib,
                              struct mc_error *err)
{
    char *text = NULL, *unit = NULL;
    mc_status st = node_text(xl, n, what, &text, err);
    if (!st)
        st = attr_dup(xl, n, "unit", &unit, err);
    uint64_t v = 0, scale = 0;
    if (!st)
        st = unit_scale(unit, what, &scale, err);
    if (!st)
        st = parse_udec(text, what, UINT64_MAX, &v, err);
    if (!st) {
        if (v > LV_MAX_MEM_BYTES / scale)
            st = mc_seterr(err, MC_E_RANGE, "<%s> of %s %s is too large (at most 4 PiB)", what, text,
                           unit ? unit : "KiB");
        else if (v == 0)
            st = mc_seterr(err, MC_E_RANGE, "<%s> must be larger than zero", what);
        else
            *kib = (v * scale + 1023) / 1024;
    }
    free(text);
    free(unit);
    return st;
}

static mc_status parse_blob(const struct mc_xmllib *xl, const xmlNode *n, const char *what, struct mc_lv_blob *b,
                            struct mc_error *err)
{
    char *raw;
    mc_status st = node_text(xl, n, what, &raw, err);
    if (st)
        return st;
    /* Drop inner whitespace (line-wrapped base64 is common in hand-written XML). */
    size_t w = 0;
    for (size_t r = 0; raw[r]; r++)
        if (!isspace((unsigned char)raw[r]))
            raw[w++] = raw[r];
    raw[w] = 0;
    b->text = raw;
    b->valid = false;
    size_t cap = w / 4 * 3 + 3;
    b->data = malloc(cap ? cap : 1);
    if (!b->data)
        return mc_seterr(err, MC_E_NOMEM, "out of memory decoding <%s>", what);
    if (w > 0 && mc_base64_decode(raw, w, b->data, cap, &b->len, NULL) == MC_OK) {
        b->valid = true;
    } else {
        free(b->data);
        b->data = NULL;
        b->len = 0;
    }
    return MC_OK;
}

static mc_status text_child(const struct mc_xmllib *xl, const xmlNode *parent, const char *name, size_t maxlen,
                            char **out, struct mc_error *err)
{
    xmlNode *n;
    mc_status st = child_once(parent, name, &n, err);
    if (st || !n)
        return st;
    st = node_text(xl, n, name, out, err);
    if (!st && strlen(*out) > maxlen)
        st = mc_seterr(err, MC_E_RANGE, "<%s> is too long (at most %zu characters)", name, maxlen);
    return st;
}

/* ------------------------------------------------------------ the sections -- */

static mc_status parse_os(const struct mc_xmllib *xl, const xmlNode *os, struct mc_lv_domain *d, struct mc_error *err)
{
    mc_status st = attr_dup(xl, os, "firmware", &d->os_firmware, err);
    if (st)
        return st;
    xmlNode *type, *loader;
    if ((st = child_once(os, "type", &type, err)))
        return st;
    if (type) {
        if ((st = node_text(xl, type, "type", &d->os_type, err)) || (st = attr_dup(xl, type, "arch", &d->arch, err)) ||
            (st = attr_dup(xl, type, "machine", &d->machine, err)))
            return st;
    }
    if ((st = child_once(os, "loader", &loader, err)))
        return st;
    if (loader) {
        if ((st = node_text(xl, loader, "loader", &d->loader, err)) ||
            (st = attr_tristate(xl, loader, "readonly", &d->loader_readonly, err)) ||
            (st = attr_dup(xl, loader, "type", &d->loader_type, err)) ||
            (st = attr_tristate(xl, loader, "stateless", &d->loader_stateless, err)))
            return st;
        if (strlen(d->loader) > LV_MAX_PATH)
            return mc_seterr(err, MC_E_RANGE, "<loader> path is too long");
        if (!d->loader[0]) {
            free(d->loader);
            d->loader = NULL; /* firmware autoselection: no explicit path */
        }
        if (d->loader_type && strcmp(d->loader_type, "rom") && strcmp(d->loader_type, "pflash"))
            return mc_seterr(err, MC_E_FORMAT, "unknown loader type '%.20s' (expected 'rom' or 'pflash')",
                             d->loader_type);
    }
    if ((st = text_child(xl, os, "nvram", LV_MAX_PATH, &d->nvram, err)) ||
        (st = text_child(xl, os, "kernel", LV_MAX_PATH, &d->kernel, err)) ||
        (st = text_child(xl, os, "initrd", LV_MAX_PATH, &d->initrd, err)) ||
        (st = text_child(xl, os, "cmdline", LV_MAX_TEXT, &d->cmdline, err)) ||
        (st = text_child(xl, os, "shim", LV_MAX_PATH, &d->shim, err)))
        return st;
    return MC_OK;
}

static mc_status parse_u32_child(const struct mc_xmllib *xl, const xmlNode *ls, const char *name, bool *has,
                                 uint32_t *v, struct mc_error *err)
{
    xmlNode *n;
    mc_status st = child_once(ls, name, &n, err);
    if (st || !n)
        return st;
    char *t;
    if ((st = node_text(xl, n, name, &t, err)))
        return st;
    uint64_t x;
    st = parse_udec(t, name, UINT32_MAX, &x, err);
    free(t);
    if (!st) {
        *has = true;
        *v = (uint32_t)x;
    }
    return st;
}

static mc_status parse_blob_child(const struct mc_xmllib *xl, const xmlNode *ls, const char *name,
                                  struct mc_lv_blob *b, struct mc_error *err)
{
    xmlNode *n;
    mc_status st = child_once(ls, name, &n, err);
    if (st || !n)
        return st;
    return parse_blob(xl, n, name, b, err);
}

static mc_status parse_launch_security(const struct mc_xmllib *xl, const xmlNode *ls, struct mc_lv_domain *d,
                                       struct mc_error *err)
{
    struct mc_lv_launch_security *s = &d->sec;
    char *type;
    mc_status st = attr_dup(xl, ls, "type", &type, err);
    if (st)
        return st;
    if (!type)
        return mc_seterr(err, MC_E_FORMAT, "<launchSecurity> has no type attribute");
    if (!strcmp(type, "sev"))
        s->type = MC_LV_SEC_SEV;
    else if (!strcmp(type, "sev-snp"))
        s->type = MC_LV_SEC_SEV_SNP;
    else {
        st = mc_seterr(err, MC_E_UNSUPPORTED,
                       "launch security type '%.20s' is not modelled (memcrypt runs 'sev' and 'sev-snp')", type);
        free(type);
        return st;
    }
    free(type);
    if ((st = attr_tristate(xl, ls, "kernelHashes", &s->kernel_hashes, err)) ||
        (st = parse_u32_child(xl, ls, "cbitpos", &s->has_cbitpos, &s->cbitpos, err)) ||
        (st = parse_u32_child(xl, ls, "reducedPhysBits", &s->has_reduced_phys_bits, &s->reduced_phys_bits, err)))
        return st;
    xmlNode *pol;
    if ((st = child_once(ls, "policy", &pol, err)))
        return st;
    if (pol) {
        char *t;
        if ((st = node_text(xl, pol, "policy", &t, err)))
            return st;
        st = parse_hex(t, "policy", s->type == MC_LV_SEC_SEV ? 32 : 64, &s->policy, err);
        free(t);
        if (st)
            return st;
        s->has_policy = true;
    }
    if (s->type == MC_LV_SEC_SEV) {
        if ((st = parse_blob_child(xl, ls, "dhCert", &s->dh_cert, err)) ||
            (st = parse_blob_child(xl, ls, "session", &s->session, err)))
            return st;
        xmlNode *x;
        static const char *const snp_only[] = {"guestVisibleWorkarounds", "idBlock", "idAuth", "hostData"};
        for (size_t i = 0; i < 4; i++) {
            if ((st = child_once(ls, snp_only[i], &x, err)))
                return st;
            if (x)
                return mc_seterr(err, MC_E_FORMAT, "<%s> is only valid with launchSecurity type 'sev-snp'", snp_only[i]);
        }
        if (xl->HasProp(ls, (const xmlChar *)"authorKey") || xl->HasProp(ls, (const xmlChar *)"vcek"))
            return mc_seterr(err, MC_E_FORMAT, "attributes authorKey and vcek are only valid with type 'sev-snp'");
    } else {
        if ((st = attr_tristate(xl, ls, "authorKey", &s->author_key, err)) ||
            (st = attr_tristate(xl, ls, "vcek", &s->vcek, err)) ||
            (st = parse_blob_child(xl, ls, "guestVisibleWorkarounds", &s->gosvw, err)) ||
            (st = parse_blob_child(xl, ls, "idBlock", &s->id_block, err)) ||
            (st = parse_blob_child(xl, ls, "idAuth", &s->id_auth, err)) ||
            (st = parse_blob_child(xl, ls, "hostData", &s->host_data, err)))
            return st;
        xmlNode *x;
        if ((st = child_once(ls, "dhCert", &x, err)))
            return st;
        if (!x && (st = child_once(ls, "session", &x, err)))
            return st;
        if (x)
            return mc_seterr(err, MC_E_FORMAT, "<%s> is only valid with launchSecurity type 'sev'",
                             (const char *)x->name);
    }
    return MC_OK;
}

/* Value of attribute name of the only child element called child (NULL when either is absent). */
static mc_status child_attr(const struct mc_xmllib *xl, const xmlNode *n, const char *child, const char *name,
                            char **out, struct mc_error *err)
{
    xmlNode *c;
    *out = NULL;
    mc_status st = child_once(n, child, &c, err);
    return st || !c ? st : attr_dup(xl, c, name, out, err);
}

static bool is_virtio(const char *model)
{
    return model && !strncmp(model, "virtio", 6);
}

/* Which devices are virtio (and so need <driver iommu='on'/> in an SEV guest) and whether any
 * host PCI device is passed through. A device is virtio when libvirt would create a virtio
 * device for it: disk target bus='virtio', interface/video model type='virtio*', controller
 * type='virtio-serial' or model='virtio-scsi*', memballoon/rng/vsock model='virtio*', input
 * bus='virtio', filesystem driver type='virtiofs'. */
static mc_status parse_devices(const struct mc_xmllib *xl, const xmlNode *devs, struct mc_lv_domain *d,
                               struct mc_error *err)
{
    mc_status st = MC_OK;
    for (xmlNode *c = devs->children; c && !st; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *el = (const char *)c->name;
        char *a = NULL, *b = NULL, what[sizeof d->virtio[0].what] = "";
        if (!strcmp(el, "hostdev")) {
            if (!(st = attr_dup(xl, c, "mode", &a, err)) && !(st = attr_dup(xl, c, "type", &b, err)) &&
                (!a || !strcmp(a, "subsystem")) && b && !strcmp(b, "pci"))
                d->pci_hostdevs++;
        } else if (!strcmp(el, "disk")) {
            if (!(st = child_attr(xl, c, "target", "bus", &a, err)) && a && !strcmp(a, "virtio") &&
                !(st = child_attr(xl, c, "target", "dev", &b, err)))
                snprintf(what, sizeof what, "disk %.16s (bus virtio)", b ? b : "?");
        } else if (!strcmp(el, "interface") || !strcmp(el, "video")) {
            if (!(st = child_attr(xl, c, "model", "type", &a, err)) && is_virtio(a))
                snprintf(what, sizeof what, "%s (model %.30s)", el, a);
        } else if (!strcmp(el, "controller")) {
            if (!(st = attr_dup(xl, c, "type", &a, err)) && !(st = attr_dup(xl, c, "model", &b, err)) &&
                ((a && !strcmp(a, "virtio-serial")) || (b && !strncmp(b, "virtio-scsi", 11))))
                snprintf(what, sizeof what, "controller %.30s", b && is_virtio(b) ? b : a);
        } else if (!strcmp(el, "memballoon") || !strcmp(el, "rng") || !strcmp(el, "vsock")) {
            if (!(st = attr_dup(xl, c, "model", &a, err)) && is_virtio(a))
                snprintf(what, sizeof what, "%s (model %.30s)", el, a);
        } else if (!strcmp(el, "input")) {
            if (!(st = attr_dup(xl, c, "bus", &a, err)) && a && !strcmp(a, "virtio"))
                snprintf(what, sizeof what, "input (bus virtio)");
        } else if (!strcmp(el, "filesystem")) {
            if (!(st = child_attr(xl, c, "driver", "type", &a, err)) && a && !strcmp(a, "virtiofs"))
                snprintf(what, sizeof what, "filesystem (virtiofs)");
        }
        free(a);
        free(b);
        if (st || !what[0])
            continue;
        char *iommu = NULL;
        if ((st = child_attr(xl, c, "driver", "iommu", &iommu, err)))
            break;
        bool on = iommu && !strcmp(iommu, "on");
        if (d->nvirtio < MC_LV_MAX_VIRTIO) {
            struct mc_lv_virtio *v = &d->virtio[d->nvirtio];
            snprintf(v->what, sizeof v->what, "%s", what);
            v->iommu = on;
        }
        d->virtio_no_iommu += !on;
        d->nvirtio++;
        free(iommu);
    }
    return st;
}

static mc_status parse_doc(const struct mc_xmllib *xl, const xmlNode *root, struct mc_lv_domain *d,
                           struct mc_error *err)
{
    if (!name_is(root, "domain"))
        return mc_seterr(err, MC_E_FORMAT, "the root element is <%s>, expected <domain>",
                         root ? (const char *)root->name : "(none)");
    mc_status st;
    if ((st = attr_dup(xl, root, "type", &d->type, err)))
        return st;
    if (!d->type)
        return mc_seterr(err, MC_E_FORMAT, "<domain> has no type attribute (for example type='kvm')");
    if ((st = text_child(xl, root, "name", 1024, &d->name, err)) ||
        (st = text_child(xl, root, "uuid", 64, &d->uuid, err)))
        return st;
    if (!d->name || !d->name[0])
        return mc_seterr(err, MC_E_FORMAT, "the domain has no <name>");
    for (const char *p = d->name; *p; p++)
        if (*p == '/' || (unsigned char)*p < 0x20)
            return mc_seterr(err, MC_E_FORMAT, "domain name may not contain '/' or control characters");
    xmlNode *n;
    if ((st = child_once(root, "memory", &n, err)))
        return st;
    if (!n)
        return mc_seterr(err, MC_E_FORMAT, "the domain has no <memory> element");
    if ((st = parse_memory(xl, n, "memory", &d->memory_kib, err)))
        return st;
    if ((st = child_once(root, "currentMemory", &n, err)))
        return st;
    if (n) {
        if ((st = parse_memory(xl, n, "currentMemory", &d->current_memory_kib, err)))
            return st;
        d->has_current_memory = true;
        if (d->current_memory_kib > d->memory_kib)
            return mc_seterr(err, MC_E_RANGE, "<currentMemory> (%llu KiB) is larger than <memory> (%llu KiB)",
                             (unsigned long long)d->current_memory_kib, (unsigned long long)d->memory_kib);
    }
    d->vcpus = 1;
    if ((st = child_once(root, "vcpu", &n, err)))
        return st;
    if (n) {
        char *t;
        uint64_t v;
        if ((st = node_text(xl, n, "vcpu", &t, err)))
            return st;
        st = parse_udec(t, "vcpu", 4096, &v, err);
        free(t);
        if (st)
            return st;
        if (v == 0)
            return mc_seterr(err, MC_E_RANGE, "<vcpu> must be at least 1");
        d->vcpus = (uint32_t)v;
    }
    if ((st = child_once(root, "cpu", &n, err)))
        return st;
    if (n) {
        if ((st = attr_dup(xl, n, "mode", &d->cpu_mode, err)) ||
            (st = text_child(xl, n, "model", 64, &d->cpu_model, err)))
            return st;
        static const char *const modes[] = {"custom", "host-model", "host-passthrough", "maximum"};
        bool known = !d->cpu_mode;
        for (size_t i = 0; i < sizeof modes / sizeof modes[0] && !known; i++)
            known = !strcmp(d->cpu_mode, modes[i]);
        if (!known)
            return mc_seterr(err, MC_E_FORMAT, "<cpu mode='%.40s'> is not a libvirt CPU mode (custom, host-model, "
                             "host-passthrough, maximum)", d->cpu_mode);
    }
    if ((st = child_once(root, "os", &n, err)))
        return st;
    if (n && (st = parse_os(xl, n, d, err)))
        return st;
    if ((st = child_once(root, "features", &n, err)))
        return st;
    if (n) {
        xmlNode *a;
        if ((st = child_once(n, "acpi", &a, err)))
            return st;
        d->acpi = a != NULL;
    }
    if ((st = child_once(root, "memoryBacking", &n, err)))
        return st;
    if (n) {
        xmlNode *l;
        if ((st = child_once(n, "locked", &l, err)))
            return st;
        d->mem_locked = l != NULL;
    }
    if ((st = child_once(root, "memtune", &n, err)))
        return st;
    if (n) {
        xmlNode *h;
        if ((st = child_once(n, "hard_limit", &h, err)))
            return st;
        if (h && (st = parse_memory(xl, h, "hard_limit", &d->hard_limit_kib, err)))
            return st;
        d->has_hard_limit = h != NULL;
    }
    if ((st = child_once(root, "devices", &n, err)))
        return st;
    if (n && (st = parse_devices(xl, n, d, err)))
        return st;
    if ((st = child_once(root, "launchSecurity", &n, err)))
        return st;
    if (n && (st = parse_launch_security(xl, n, d, err)))
        return st;
    return MC_OK;
}

/* True when the bytes contain a document type declaration (the only way to declare entities). */
static bool has_doctype(const char *xml, size_t len)
{
    static const char key[] = "<!DOCTYPE";
    const size_t kl = sizeof key - 1;
    for (size_t i = 0; i + kl <= len; i++)
        if (xml[i] == '<' && !memcmp(xml + i, key, kl))
            return true;
    return false;
}

mc_status mc_libvirt_parse(const char *xml, size_t len, struct mc_lv_domain **out, struct mc_error *err)
{
    if (!out || (!xml && len))
        return mc_seterr(err, MC_E_INVAL, "mc_libvirt_parse: NULL argument");
    *out = NULL;
    if (len == 0)
        return mc_seterr(err, MC_E_FORMAT, "the domain XML is empty");
    if (len > MC_LV_MAX_XML)
        return mc_seterr(err, MC_E_RANGE, "the domain XML is %zu bytes, more than the %u-byte limit", len,
                         MC_LV_MAX_XML);
    if (has_doctype(xml, len))
        return mc_seterr(err, MC_E_FORMAT,
                         "the domain XML has a <!DOCTYPE> declaration; DTDs and entities are refused");
    const struct mc_xmllib *xl;
    mc_status st = mc_xmllib_get(&xl, err);
    if (st)
        return st;
    xmlParserCtxtPtr ctxt = xl->NewParserCtxt();
    if (!ctxt)
        return mc_seterr(err, MC_E_NOMEM, "out of memory creating the XML parser");
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    xmlDocPtr doc = xl->CtxtReadMemory(ctxt, xml, (int)len, "domain.xml", NULL, opts);
    if (!doc || doc->intSubset || doc->extSubset) {
        const xmlError *e = xl->CtxtGetLastError(ctxt);
        if (doc)
            st = mc_seterr(err, MC_E_FORMAT, "the domain XML declares a DTD; DTDs and entities are refused");
        else if (e && e->message) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s", e->message);
            size_t ml = strlen(msg);
            while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
                msg[--ml] = 0;
            st = mc_seterr(err, MC_E_FORMAT, "the domain XML is not well-formed (line %d): %s", e->line, msg);
        } else
            st = mc_seterr(err, MC_E_FORMAT, "the domain XML is not well-formed");
        xl->FreeDoc(doc);
        xl->FreeParserCtxt(ctxt);
        return st;
    }
    struct mc_lv_domain *d = calloc(1, sizeof *d);
    if (!d) {
        st = mc_seterr(err, MC_E_NOMEM, "out of memory");
    } else {
        st = parse_doc(xl, xl->DocGetRootElement(doc), d, err);
        if (st) {
            mc_libvirt_free(d);
            d = NULL;
        }
    }
    xl->FreeDoc(doc);
    xl->FreeParserCtxt(ctxt);
    *out = d;
    return st;
}

mc_status mc_libvirt_load(const char *path, struct mc_lv_domain **out, struct mc_error *err)
{
    if (!path || !out)
        return mc_seterr(err, MC_E_INVAL, "mc_libvirt_load: NULL argument");
    uint8_t *buf;
    size_t len;
    mc_status st = mc_file_read(path, MC_LV_MAX_XML, &buf, &len, err);
    if (st)
        return st;
    st = mc_libvirt_parse((const char *)buf, len, out, err);
    free(buf);
    if (st && err) { /* name the file in parse errors (file errors already do) */
        char tmp[MC_ERROR_MSG_MAX];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        mc_seterr(err, st, "%.120s: %s", path, tmp);
    }
    return st;
}
