/* Tests of the libvirt domain XML reader, the platform checks, the domain capabilities and the
 * QEMU arguments, on libvirt's own test XMLs (shared/vectors/libvirt) and on hostile XML. */
#include <memcrypt/libvirt.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "check.h"

#define LV_DIR MC_TEST_DATA "/libvirt/"

static struct mc_lv_domain *load(const char *file)
{
    struct mc_lv_domain *d = NULL;
    struct mc_error e = {0};
    mc_status st = mc_libvirt_load(file, &d, &e);
    CHECK_MSG(st == MC_OK, "%s: %s", file, e.msg);
    return d;
}

static struct mc_lv_domain *parse_str(const char *xml, mc_status want, struct mc_error *e)
{
    struct mc_lv_domain *d = NULL;
    mc_status st = mc_libvirt_parse(xml, strlen(xml), &d, e);
    CHECK_MSG(st == want, "got %s want %s (%s) for: %.80s", mc_status_name(st), mc_status_name(want), e->msg, xml);
    if (st != MC_OK)
        CHECK(d == NULL);
    return d;
}

static struct mc_lv_platform plat(const char *name)
{
    struct mc_lv_platform p;
    memset(&p, 0, sizeof p);
    CHECK(mc_libvirt_platform(name, &p, NULL) == MC_OK);
    return p;
}

/* Lines of an upstream .args file, without the trailing " \". */
static char *args_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "open %s", path);
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    char line[65536];
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\\' || line[n - 1] == ' '))
            line[--n] = 0;
        fprintf(o, "%s\n", line);
    }
    fclose(f);
    fclose(o);
    return buf;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && !memcmp(p, line, n))
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* Every line we generate must appear verbatim in libvirt's expected .args, except -machine whose
 * machine type may differ (see SOURCES.txt): there only the options after the type must match. */
static void compare_args(const char *ours, const char *theirs)
{
    int lines = 0;
    for (const char *p = ours; *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char *line = strndup(p, l);
        if (!strncmp(line, "-machine ", 9)) {
            const char *opts = strchr(line, ',');
            CHECK_MSG(opts && strstr(theirs, opts), "machine options differ: %s", line);
        } else {
            CHECK_MSG(has_line(theirs, line), "line not in libvirt's .args: %.200s", line);
        }
        free(line);
        lines++;
        p = e ? e + 1 : p + l;
    }
    CHECK(lines >= 5);
}

static void test_vector_sev(void)
{
    struct mc_lv_domain *d = load(LV_DIR "launch-security-sev.xml");
    if (!d)
        return;
    CHECK(!strcmp(d->name, "QEMUGuest1"));
    CHECK(!strcmp(d->type, "kvm"));
    CHECK_EQ_U64(d->memory_kib, 219100);
    CHECK_EQ_U64(d->vcpus, 1);
    CHECK(!strcmp(d->machine, "pc") && !strcmp(d->arch, "x86_64") && !strcmp(d->os_type, "hvm"));
    CHECK(d->sec.type == MC_LV_SEC_SEV);
    CHECK(d->sec.has_cbitpos && d->sec.cbitpos == 47);
    CHECK(d->sec.has_reduced_phys_bits && d->sec.reduced_phys_bits == 1);
    CHECK(d->sec.has_policy && d->sec.policy == 1);
    CHECK(d->sec.kernel_hashes == MC_LV_ABSENT);
    /* libvirt's test strings are placeholders, not base64 of a certificate. */
    CHECK(d->sec.dh_cert.text && !d->sec.dh_cert.valid);
    CHECK(d->sec.session.text && !d->sec.session.valid);

    struct mc_error e = {0};
    struct mc_lv_platform milan = plat("milan"), rome = plat("rome");
    CHECK(mc_libvirt_validate(d, &milan, 0, &e) == MC_E_UNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "cbitpos check failed, host '51' requested '47'") != NULL, "%s", e.msg);
    /* Rome has C-bit 47: the configuration is fine, but a launch needs real blobs. */
    CHECK(mc_libvirt_validate(d, &rome, 0, &e) == MC_OK);
    CHECK(mc_libvirt_validate(d, &rome, MC_LV_CHECK_BLOBS, &e) == MC_E_FORMAT);
    CHECK_MSG(strstr(e.msg, "dhCert") && strstr(e.msg, "base64"), "%s", e.msg);
    mc_libvirt_free(d);
}

static void test_vector_direct(void)
{
    struct mc_lv_domain *d = load(LV_DIR "launch-security-sev-direct.xml");
    if (!d)
        return;
    CHECK(d->sec.kernel_hashes == MC_LV_YES);
    CHECK(d->kernel && !strcmp(d->kernel, "/vmlinuz"));
    CHECK(d->initrd && !strcmp(d->initrd, "/initrd"));
    CHECK(d->cmdline && !strcmp(d->cmdline, "runme"));
    CHECK(d->shim && !strcmp(d->shim, "/shim"));
    char *ours = NULL;
    CHECK(mc_libvirt_qemu_args(d, NULL, &ours, NULL) == MC_OK);
    char *theirs = args_file(LV_DIR "launch-security-sev-direct.x86_64-latest.args");
    if (ours && theirs) {
        compare_args(ours, theirs);
        CHECK(has_line(ours, "-m size=219136k"));
        CHECK(strstr(ours, "\"kernel-hashes\":true") != NULL);
    }
    free(ours);
    free(theirs);
    /* The kernel files do not exist here: refused with a clear message when files are checked. */
    struct mc_lv_platform rome = plat("rome");
    struct mc_error e = {0};
    CHECK(mc_libvirt_validate(d, &rome, MC_LV_CHECK_FILES, &e) != MC_OK);
    CHECK_MSG(strstr(e.msg, "OVMF") || strstr(e.msg, "cannot read"), "%s", e.msg);
    mc_libvirt_free(d);
}

static void test_vector_missing_platform_info(void)
{
    struct mc_lv_domain *d = load(LV_DIR "launch-security-sev-missing-platform-info.xml");
    if (!d)
        return;
    CHECK(!d->sec.has_cbitpos && !d->sec.has_reduced_phys_bits);
    struct mc_lv_platform genoa = plat("genoa");
    struct mc_error e = {0};
    /* libvirt fills both from the domain capabilities at start; so do we. */
    CHECK_MSG(mc_libvirt_validate(d, &genoa, 0, &e) == MC_OK, "%s", e.msg);
    CHECK(d->sec.has_cbitpos && d->sec.cbitpos == 51);
    CHECK(d->sec.has_reduced_phys_bits && d->sec.reduced_phys_bits == 1);
    char *ours = NULL;
    CHECK(mc_libvirt_qemu_args(d, "/run/x", &ours, NULL) == MC_OK);
    CHECK(ours && strstr(ours, "\"cbitpos\":51,\"reduced-phys-bits\":1,\"policy\":1,"
                               "\"dh-cert-file\":\"/run/x/dh_cert.base64\"") != NULL);
    free(ours);
    mc_libvirt_free(d);
}

static void test_vector_snp(void)
{
    const char *files[] = {LV_DIR "launch-security-sev-snp.xml", LV_DIR "launch-security-sev-snp.x86_64-latest.xml"};
    for (int i = 0; i < 2; i++) {
        struct mc_lv_domain *d = load(files[i]);
        if (!d)
            continue;
        const struct mc_lv_launch_security *s = &d->sec;
        CHECK(s->type == MC_LV_SEC_SEV_SNP);
        CHECK(s->policy == 0x30000);
        CHECK(s->author_key == MC_LV_YES && s->vcek == MC_LV_NO);
        CHECK(s->gosvw.valid && s->gosvw.len == 16);
        CHECK(s->id_block.valid && s->id_block.len == 96);
        CHECK(s->id_auth.valid && s->id_auth.len == 4096);
        CHECK(s->host_data.valid && s->host_data.len == 32);
        CHECK(d->acpi);
        if (i == 1) {
            CHECK(d->has_current_memory && d->current_memory_kib == 219100);
            CHECK(d->loader && !strcmp(d->loader, "/usr/share/edk2/ovmf/OVMF.amdsev.fd"));
            CHECK(d->loader_readonly == MC_LV_YES && d->loader_stateless == MC_LV_YES);
            CHECK(d->cpu_mode && !strcmp(d->cpu_mode, "custom") && d->cpu_model && !strcmp(d->cpu_model, "qemu64"));
            char *ours = NULL;
            CHECK(mc_libvirt_qemu_args(d, NULL, &ours, NULL) == MC_OK);
            char *theirs = args_file(LV_DIR "launch-security-sev-snp.x86_64-latest.args");
            if (ours && theirs) {
                compare_args(ours, theirs);
                CHECK(strstr(ours, "-blockdev") != NULL);
            }
            free(ours);
            free(theirs);
        } else {
            CHECK(d->loader == NULL && d->os_firmware && !strcmp(d->os_firmware, "efi"));
            CHECK(d->cpu_mode == NULL && d->cpu_model == NULL);
        }
        struct mc_error e = {0};
        struct mc_lv_platform rome = plat("rome"), milan = plat("milan");
        CHECK(mc_libvirt_validate(d, &rome, 0, &e) == MC_E_UNSUPPORTED);
        CHECK_MSG(strstr(e.msg, "'sev-snp' launch security is not supported"), "%s", e.msg);
        CHECK(mc_libvirt_validate(d, &milan, 0, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "cbitpos check failed"));
        /* An SNP platform with C-bit 47: the blobs have the right sizes; only the file is missing. */
        struct mc_lv_platform p47 = milan;
        p47.cbitpos = 47;
        CHECK_MSG(mc_libvirt_validate(d, &p47, MC_LV_CHECK_BLOBS, &e) == MC_OK, "%s", e.msg);
        if (i == 1) {
            CHECK(mc_libvirt_validate(d, &p47, MC_LV_CHECK_FILES, &e) == MC_E_IO);
            CHECK_MSG(strstr(e.msg, "OVMF.amdsev.fd") && strstr(e.msg, "no such file"), "%s", e.msg);
        }
        mc_libvirt_free(d);
    }
}

#define HEAD "<domain type='kvm'><name>g</name>"
#define TAIL "</domain>"

static void test_units(void)
{
    static const struct {
        const char *unit;
        uint64_t value, kib;
    } u[] = {
        {"b", 1, 1},          {"bytes", 2048, 2},  {"k", 3, 3},           {"KiB", 4, 4},
        {"KB", 1024, 1000},   {"M", 1, 1024},      {"MiB", 2, 2048},      {"MB", 1, 977},
        {"G", 1, 1048576},    {"GiB", 1, 1048576}, {"GB", 1, 976563},     {"T", 1, 1ull << 30},
        {"TB", 1, 976562500}, {"P", 1, 1ull << 40}, {"gib", 1, 1048576}, {"", 7, 7},
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        char xml[256];
        snprintf(xml, sizeof xml, HEAD "<memory unit='%s'>%llu</memory>" TAIL, u[i].unit,
                 (unsigned long long)u[i].value);
        struct mc_error e = {0};
        struct mc_lv_domain *d = parse_str(xml, MC_OK, &e);
        if (d) {
            CHECK_MSG(d->memory_kib == u[i].kib, "unit %s: %llu KiB", u[i].unit, (unsigned long long)d->memory_kib);
            mc_libvirt_free(d);
        }
    }
}

static void test_hostile(void)
{
    static const struct {
        const char *xml;
        mc_status want;
        const char *msg;
    } bad[] = {
        {"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;"
         "&lol;&lol;&lol;&lol;&lol;'><!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>"
         "<domain type='kvm'><name>&lol3;</name><memory>1</memory></domain>",
         MC_E_FORMAT, "DOCTYPE"},
        {"<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain type='kvm'><name>&x;</name></domain>",
         MC_E_FORMAT, "DOCTYPE"},
        {"<!DOCTYPE d SYSTEM 'http://example.invalid/x.dtd'><domain/>", MC_E_FORMAT, "DOCTYPE"},
        {"", MC_E_FORMAT, "empty"},
        {"<domain type='kvm'><name>g</name>", MC_E_FORMAT, "well-formed"},
        {"<vm/>", MC_E_FORMAT, "root element"},
        {"<domain><name>g</name><memory>1</memory></domain>", MC_E_FORMAT, "type"},
        {HEAD TAIL, MC_E_FORMAT, "<memory>"},
        {"<domain type='kvm'><memory>1</memory></domain>", MC_E_FORMAT, "<name>"},
        {HEAD "<memory>99999999999999999999999</memory>" TAIL, MC_E_RANGE, "too large"},
        {HEAD "<memory unit='EiB'>1</memory>" TAIL, MC_E_RANGE, "too large"},
        {HEAD "<memory unit='GiB'>4194305</memory>" TAIL, MC_E_RANGE, "too large"},
        {HEAD "<memory unit='furlongs'>1</memory>" TAIL, MC_E_FORMAT, "unit"},
        {HEAD "<memory unit='KiBB'>1</memory>" TAIL, MC_E_FORMAT, "unit"},
        {HEAD "<memory>-1</memory>" TAIL, MC_E_FORMAT, "decimal"},
        {HEAD "<memory>0x10</memory>" TAIL, MC_E_FORMAT, "decimal"},
        {HEAD "<memory>0</memory>" TAIL, MC_E_RANGE, "zero"},
        {HEAD "<memory>1</memory><memory>2</memory>" TAIL, MC_E_FORMAT, "more than once"},
        {HEAD "<memory>4</memory><currentMemory>8</currentMemory>" TAIL, MC_E_RANGE, "larger"},
        {HEAD "<memory>1</memory><vcpu>0</vcpu>" TAIL, MC_E_RANGE, "vcpu"},
        {HEAD "<memory>1</memory><vcpu>100000</vcpu>" TAIL, MC_E_RANGE, "vcpu"},
        {HEAD "<memory>1</memory><launchSecurity/>" TAIL, MC_E_FORMAT, "type"},
        {HEAD "<memory>1</memory><launchSecurity type='tdx'/>" TAIL, MC_E_UNSUPPORTED, "tdx"},
        {HEAD "<memory>1</memory><launchSecurity type='sev'><policy>0x100000000</policy></launchSecurity>" TAIL,
         MC_E_RANGE, "32 bits"},
        {HEAD "<memory>1</memory><launchSecurity type='sev'><policy>xyz</policy></launchSecurity>" TAIL,
         MC_E_FORMAT, "hexadecimal"},
        {HEAD "<memory>1</memory><launchSecurity type='sev-snp'><policy>0x10000000000000000</policy>"
              "</launchSecurity>" TAIL,
         MC_E_RANGE, "64 bits"},
        {HEAD "<memory>1</memory><launchSecurity type='sev'><cbitpos>4294967296</cbitpos></launchSecurity>" TAIL,
         MC_E_RANGE, "cbitpos"},
        {HEAD "<memory>1</memory><launchSecurity type='sev' kernelHashes='maybe'/>" TAIL, MC_E_FORMAT, "yes"},
        {HEAD "<memory>1</memory><launchSecurity type='sev'><idBlock>AA==</idBlock></launchSecurity>" TAIL,
         MC_E_FORMAT, "sev-snp"},
        {HEAD "<memory>1</memory><launchSecurity type='sev-snp'><dhCert>AA==</dhCert></launchSecurity>" TAIL,
         MC_E_FORMAT, "'sev'"},
        {HEAD "<memory>1</memory><launchSecurity type='sev' authorKey='yes'/>" TAIL, MC_E_FORMAT, "sev-snp"},
        {HEAD "<memory>1</memory><launchSecurity type='sev'/><launchSecurity type='sev'/>" TAIL, MC_E_FORMAT,
         "more than once"},
        {HEAD "<memory>1</memory><os><loader type='floppy'>/x</loader></os>" TAIL, MC_E_FORMAT, "loader type"},
        {"<domain type='kvm'><name>a/b</name><memory>1</memory></domain>", MC_E_FORMAT, "'/'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mc_error e = {0};
        struct mc_lv_domain *d = parse_str(bad[i].xml, bad[i].want, &e);
        CHECK_MSG(strstr(e.msg, bad[i].msg) != NULL, "case %zu: message '%s' lacks '%s'", i, e.msg, bad[i].msg);
        mc_libvirt_free(d);
    }
    /* Deep nesting and a too-large document. */
    size_t n = 100000;
    char *deep = malloc(n * 7 + 64);
    char *p = deep;
    p += sprintf(p, "<domain type='kvm'>");
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "<a>");
    *p = 0;
    struct mc_error e = {0};
    struct mc_lv_domain *d = NULL;
    CHECK(mc_libvirt_parse(deep, strlen(deep), &d, &e) == MC_E_FORMAT && d == NULL);
    free(deep);
    char *big = calloc(1, MC_LV_MAX_XML + 2);
    memset(big, ' ', MC_LV_MAX_XML + 1);
    CHECK(mc_libvirt_parse(big, MC_LV_MAX_XML + 1, &d, &e) == MC_E_RANGE);
    free(big);
    CHECK(mc_libvirt_parse(NULL, 5, &d, &e) == MC_E_INVAL);
    CHECK(mc_libvirt_load("/nonexistent/domain.xml", &d, &e) == MC_E_IO);
}

static struct mc_lv_domain *sev_dom(const char *ls_body, const char *attrs, const char *os)
{
    char xml[4096];
    snprintf(xml, sizeof xml,
             HEAD "<memory unit='MiB'>64</memory><os>%s</os><launchSecurity type='sev'%s>%s</launchSecurity>" TAIL,
             os, attrs, ls_body);
    struct mc_error e = {0};
    return parse_str(xml, MC_OK, &e);
}

static void test_policy_and_platform_checks(void)
{
    static const struct {
        const char *platform, *body, *attrs, *msg;
        mc_status want;
    } c[] = {
        {"milan", "<policy>0x1</policy>", "", NULL, MC_OK},
        {"milan", "<policy>0x5</policy>", "", NULL, MC_OK},            /* SEV-ES on Milan */
        {"naples", "<policy>0x4</policy>", "", NULL, MC_OK},          /* every EPYC has SEV-ES (ASIDs 1..4) */
        {"rome", "<policy>0x4</policy>", "", "SEV-ES ASIDs", MC_E_UNSUPPORTED},
        {"milan", "<policy>0x40</policy>", "", "reserved", MC_E_UNSUPPORTED},
        {"milan", "<policy>0x8000</policy>", "", "reserved", MC_E_UNSUPPORTED},
        {"milan", "<policy>0x00020001</policy>", "", "requires firmware API 2.0", MC_E_UNSUPPORTED},
        {"milan", "<policy>0x37010001</policy>", "", NULL, MC_OK},      /* needs 1.55 = exactly Milan's */
        {"milan", "<policy>0x38010001</policy>", "", "1.56", MC_E_UNSUPPORTED},
        {"naples", "<policy>0x18000001</policy>", "", "0.24", MC_E_UNSUPPORTED},
        {"milan", "<cbitpos>47</cbitpos>", "", "host '51' requested '47'", MC_E_UNSUPPORTED},
        {"rome", "<cbitpos>51</cbitpos>", "", "host '47' requested '51'", MC_E_UNSUPPORTED},
        {"milan", "<reducedPhysBits>0</reducedPhysBits>", "", "range of 1 to 63, requested '0'", MC_E_UNSUPPORTED},
        {"milan", "<reducedPhysBits>64</reducedPhysBits>", "", "requested '64'", MC_E_UNSUPPORTED},
        {"milan", "<reducedPhysBits>5</reducedPhysBits>", "", NULL, MC_OK},
        {"milan", "", " kernelHashes='yes'", "direct kernel boot", MC_E_FORMAT},
        {"milan", "<session>AAAA</session>", "", "session", MC_E_FORMAT},
        {"milan", "<dhCert>AAAA</dhCert>", "", "exactly 2084 bytes", MC_E_FORMAT},
        {"milan", "<dhCert>A!==</dhCert>", "", "not valid base64", MC_E_FORMAT},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        struct mc_lv_domain *d = sev_dom(c[i].body, c[i].attrs, "");
        if (!d)
            continue;
        struct mc_lv_platform p = plat(c[i].platform);
        struct mc_error e = {0};
        struct mc_lv_launch_security before = d->sec;
        mc_status st = mc_libvirt_validate(d, &p, MC_LV_CHECK_BLOBS, &e);
        CHECK_MSG(st == c[i].want, "case %zu: %s (%s)", i, mc_status_name(st), e.msg);
        if (c[i].msg)
            CHECK_MSG(strstr(e.msg, c[i].msg) != NULL, "case %zu: '%s' lacks '%s'", i, e.msg, c[i].msg);
        if (st) /* no state change on failure */
            CHECK(!memcmp(&before, &d->sec, sizeof before));
        else
            CHECK(d->sec.has_cbitpos && d->sec.cbitpos == p.cbitpos && d->sec.has_policy);
        mc_libvirt_free(d);
    }
    /* Files: a missing firmware image and a present one. */
    struct mc_lv_platform p = plat("milan");
    struct mc_error e = {0};
    struct mc_lv_domain *d = sev_dom("", "", "<loader readonly='yes' type='pflash'>/nonexistent/OVMF.fd</loader>");
    if (d) {
        CHECK(mc_libvirt_validate(d, &p, MC_LV_CHECK_FILES, &e) == MC_E_IO);
        CHECK_MSG(strstr(e.msg, "cannot read firmware file '/nonexistent/OVMF.fd'"), "%s", e.msg);
        mc_libvirt_free(d);
    }
    d = sev_dom("", "", "<loader readonly='yes' type='pflash'>" MC_OVMF_DIR "/OVMF.fd</loader>");
    if (d) {
        CHECK_MSG(mc_libvirt_validate(d, &p, MC_LV_CHECK_FILES, &e) == MC_OK, "%s", e.msg);
        mc_libvirt_free(d);
    }
    d = sev_dom("", "", "");
    if (d) {
        CHECK(mc_libvirt_validate(d, &p, MC_LV_CHECK_FILES, &e) == MC_E_FORMAT && strstr(e.msg, "OVMF"));
        mc_libvirt_free(d);
    }
    CHECK(mc_libvirt_platform("pentium", &p, &e) == MC_E_NOTFOUND);
}

/* Guest memory against the platform's host address space: the same model as `run`. */
static void test_memory_fits(void)
{
    struct mc_lv_platform milan = plat("milan"), genoa = plat("genoa");
    CHECK_EQ_U64(milan.phys_bits, 48);
    CHECK_EQ_U64(milan.addr_bits, 43); /* MAXPHYADDR 48 less Milan's 5-bit reduction */
    /* 64 MiB guest: 2 MiB low + 64 MiB + NPT (PML4, PDPT, PD) + 64 MiB flash + 16 MiB. */
    CHECK_EQ_U64(mc_libvirt_host_bytes(64ull << 20), (2ull << 20) + (64ull << 20) + 3 * 4096 + (80ull << 20));
    CHECK_EQ_U64(mc_libvirt_host_bytes((64ull << 20) + 1), mc_libvirt_host_bytes(66ull << 20)); /* 2 MiB pages */
    static const struct {
        const char *mem;
        mc_status want;
    } c[] = {
        {"<memory unit='PiB'>4</memory>", MC_E_RANGE},
        {"<memory unit='TiB'>8</memory>", MC_E_RANGE},
        {"<memory unit='MiB'>8388480</memory>", MC_OK},    /* 8 TiB less 128 MiB: fits */
        {"<memory unit='MiB'>8388520</memory>", MC_E_RANGE}, /* its page tables no longer do */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char xml[1024];
        snprintf(xml, sizeof xml, HEAD "%s<launchSecurity type='sev'><policy>0x1</policy></launchSecurity>" TAIL,
                 c[i].mem);
        struct mc_error e = {0};
        struct mc_lv_domain *d = parse_str(xml, MC_OK, &e);
        if (!d)
            continue;
        mc_status st = mc_libvirt_validate(d, &milan, 0, &e);
        CHECK_MSG(st == c[i].want, "%s: %s", c[i].mem, e.msg);
        if (i == 0)
            CHECK_MSG(strstr(e.msg, "4 PiB (4398046511104 KiB)") && strstr(e.msg, "milan"), "%s", e.msg);
        mc_libvirt_free(d);
    }
    CHECK(genoa.addr_bits == genoa.phys_bits - genoa.phys_addr_reduction);
}

static void test_domcaps(void)
{
    static const struct {
        const char *name;
        unsigned cbit, max, maxes;
    } want[] = {{"naples", 47, 11, 4},    {"rome", 47, 509, 0},    {"milan", 51, 382, 127},
                {"genoa", 51, 907, 99},   {"turin", 51, 907, 99}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct mc_lv_platform p = plat(want[i].name);
        char *xml = NULL;
        CHECK(mc_libvirt_domcaps_xml(&p, &xml, NULL) == MC_OK);
        if (!xml)
            continue;
        /* Read it back with libxml2, as a libvirt client would. */
        xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "caps.xml", NULL, XML_PARSE_NONET);
        CHECK(doc != NULL);
        if (doc) {
            xmlNodePtr root = xmlDocGetRootElement(doc);
            CHECK(!strcmp((const char *)root->name, "domainCapabilities"));
            unsigned got_c = 0, got_r = 0, got_m = 0, got_e = 99999;
            for (xmlNodePtr f = root->children; f; f = f->next)
                if (f->type == XML_ELEMENT_NODE && !strcmp((const char *)f->name, "features"))
                    for (xmlNodePtr s = f->children; s; s = s->next)
                        if (s->type == XML_ELEMENT_NODE && !strcmp((const char *)s->name, "sev")) {
                            xmlChar *sup = xmlGetProp(s, (const xmlChar *)"supported");
                            CHECK(sup && !strcmp((const char *)sup, "yes"));
                            xmlFree(sup);
                            for (xmlNodePtr v = s->children; v; v = v->next) {
                                if (v->type != XML_ELEMENT_NODE)
                                    continue;
                                xmlChar *t = xmlNodeGetContent(v);
                                unsigned x = (unsigned)strtoul((const char *)t, NULL, 10);
                                xmlFree(t);
                                if (!strcmp((const char *)v->name, "cbitpos"))
                                    got_c = x;
                                else if (!strcmp((const char *)v->name, "reducedPhysBits"))
                                    got_r = x;
                                else if (!strcmp((const char *)v->name, "maxGuests"))
                                    got_m = x;
                                else if (!strcmp((const char *)v->name, "maxESGuests"))
                                    got_e = x;
                            }
                        }
            CHECK_EQ_U64(got_c, want[i].cbit);
            CHECK_EQ_U64(got_r, 1);
            CHECK_EQ_U64(got_m, want[i].max);
            CHECK_EQ_U64(got_e, want[i].maxes);
            xmlFreeDoc(doc);
        }
        CHECK((strstr(xml, "<value>sev-snp</value>") != NULL) == p.sev_snp);
        free(xml);
    }
}

/* What a real host needs besides <launchSecurity>: each unmet requirement is one sentence. */
static void test_host_requirements(void)
{
    static const char *bad_dom =
        "<domain type='kvm'><name>r</name><memory unit='MiB'>512</memory>"
        "<memtune><hard_limit unit='MiB'>256</hard_limit></memtune>"
        "<os><type arch='x86_64' machine='pc-i440fx-8.2'>hvm</type></os>"
        "<devices><disk type='file' device='disk'><target dev='vda' bus='virtio'/></disk>"
        "<interface type='network'><model type='virtio'/><driver iommu='on'/></interface>"
        "<controller type='scsi' model='virtio-scsi'/><memballoon model='virtio'><driver iommu='off'/></memballoon>"
        "<rng model='virtio-non-transitional'><driver iommu='on'/></rng><input type='tablet' bus='usb'/>"
        "<hostdev mode='subsystem' type='pci'><source><address bus='0x3b'/></source></hostdev>"
        "<hostdev mode='subsystem' type='usb'/></devices>"
        "<launchSecurity type='sev'><policy>0x1</policy></launchSecurity></domain>";
    struct mc_error e = {0};
    struct mc_lv_domain *d = parse_str(bad_dom, MC_OK, &e);
    if (!d)
        return;
    CHECK(d->nvirtio == 5 && d->virtio_no_iommu == 3 && d->pci_hostdevs == 1 && !d->mem_locked && d->has_hard_limit);
    struct mc_lv_requirements r;
    mc_libvirt_requirements(d, &r);
    static const char *const want[] = {"'pc-i440fx-8.2' is not Q35", "OVMF (UEFI)",
                                       ("3 virtio devices without <driver iommu='on'/> (disk vda (bus virtio), "
                                        "controller virtio-scsi, memballoon (model virtio))"),
                                       "hard_limit> of 262144 KiB is below the guest's 524288 KiB",
                                       "1 PCI device is passed through"};
    CHECK_MSG(r.n == sizeof want / sizeof want[0], "%zu requirements", r.n);
    for (size_t i = 0; i < r.n && i < sizeof want / sizeof want[0]; i++)
        CHECK_MSG(strstr(r.msg[i], want[i]), "%zu: '%s' lacks '%s'", i, r.msg[i], want[i]);
    struct mc_lv_platform p = plat("milan");
    CHECK(mc_libvirt_validate(d, &p, MC_LV_CHECK_HOST, &e) == MC_E_UNSUPPORTED && strstr(e.msg, "is not Q35"));
    CHECK(mc_libvirt_validate(d, &p, 0, &e) == MC_OK); /* without the host flag only the launch is checked */
    char *args = NULL;
    CHECK(mc_libvirt_qemu_args(d, NULL, &args, &e) == MC_OK && args && strstr(args, "-overcommit mem-lock=off\n"));
    free(args);
    mc_libvirt_free(d);
    /* Everything in place: q35, UEFI, iommu on, locked memory -> nothing to report, mem-lock=on. */
    d = parse_str("<domain type='kvm'><name>g</name><memory unit='MiB'>512</memory>"
                  "<memoryBacking><locked/></memoryBacking><os firmware='efi'><type machine='q35'>hvm</type></os>"
                  "<devices><interface type='network'><model type='virtio'/><driver iommu='on'/></interface>"
                  "<hostdev mode='subsystem' type='usb'/></devices>"
                  "<launchSecurity type='sev'><policy>0x1</policy></launchSecurity></domain>",
                  MC_OK, &e);
    if (!d)
        return;
    mc_libvirt_requirements(d, &r);
    CHECK_MSG(r.n == 0, "%s", r.n ? r.msg[0] : "");
    CHECK(mc_libvirt_qemu_args(d, NULL, &args, &e) == MC_OK && args && strstr(args, "-overcommit mem-lock=on\n"));
    free(args);
    mc_libvirt_free(d);
    /* No launch security: no requirements. */
    d = parse_str("<domain type='kvm'><name>p</name><memory>1024</memory></domain>", MC_OK, &e);
    if (d) {
        mc_libvirt_requirements(d, &r);
        CHECK(r.n == 0);
        mc_libvirt_free(d);
    }
}

static void test_examples(void)
{
    static const char *const ex[] = {MC_SOURCE_DIR "/examples/sev-guest.xml", MC_SOURCE_DIR "/examples/sev-es-guest.xml",
                                     MC_SOURCE_DIR "/examples/sev-direct-kernel.xml"};
    struct mc_lv_platform p = plat("milan");
    for (size_t i = 0; i < 3; i++) {
        struct mc_lv_domain *d = load(ex[i]);
        if (!d)
            continue;
        struct mc_error e = {0};
        /* The direct-kernel example boots the AmdSev OVMF tail in tests/data (it has the
         * kernel-hashes area Debian's OVMF.fd lacks), by a path relative to the repository root. */
        CHECK(d->loader && !strcmp(d->loader, i == 2 ? "tests/data/snp-measure/ovmf_AmdSev_suffix.bin"
                                                     : "/usr/share/ovmf/OVMF.fd"));
        /* Kernel files of the direct-boot example are made by the run test; check blobs only. */
        unsigned flags = MC_LV_CHECK_BLOBS | MC_LV_CHECK_HOST | (d->kernel ? 0 : MC_LV_CHECK_FILES);
        CHECK_MSG(mc_libvirt_validate(d, &p, flags, &e) == MC_OK, "%s: %s", ex[i], e.msg);
        if (i == 1)
            CHECK(d->sec.policy & 4);
        if (i == 2)
            CHECK(d->sec.kernel_hashes == MC_LV_YES && d->kernel);
        mc_libvirt_free(d);
    }
}

int main(void)
{
    RUN(test_vector_sev);
    RUN(test_vector_direct);
    RUN(test_vector_missing_platform_info);
    RUN(test_vector_snp);
    RUN(test_units);
    RUN(test_hostile);
    RUN(test_policy_and_platform_checks);
    RUN(test_memory_fits);
    RUN(test_host_requirements);
    RUN(test_domcaps);
    RUN(test_examples);
    return check_summary();
}
