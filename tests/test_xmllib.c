/* Tests of the on-demand libxml2 loader (src/formats/xmllib.h). This program does not link
 * libxml2 (it includes no <libxml/...> header itself), so it also shows that libmemcrypt works
 * without it until XML is used, and what a missing or wrong library looks like. */
#include <memcrypt/error.h>
#include <memcrypt/libvirt.h>

#include <pthread.h>
#include <stdbool.h>

#include "check.h"
#include "formats/xmllib.h"

/* Whether a shared object whose path contains `name` is mapped into this process. */
static bool mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

static bool all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void test_not_loaded_at_start(void)
{
    CHECK_MSG(!mapped("libxml2.so"), "libxml2 is mapped before any XML was used");
    CHECK(!mapped("libicu"));
}

static void test_missing_library(void)
{
    struct mc_xmllib x;
    memset(&x, 0xA5, sizeof x);
    struct mc_error e = {0};
    CHECK(mc_xmllib_open("libmemcrypt-absent-xml.so.2", &x, &e) == MC_E_UNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "libxml2 (libmemcrypt-absent-xml.so.2) is not installed: apt-get install libxml2") != NULL,
              "%s", e.msg);
    CHECK(all_zero(&x, sizeof x));
    mc_xmllib_close(&x); /* zeroed table: no-op */
    CHECK(mc_xmllib_open(NULL, &x, &e) == MC_E_INVAL);
    CHECK(mc_xmllib_open(MC_XMLLIB_SONAME, NULL, &e) == MC_E_INVAL);
}

static void test_wrong_library(void)
{
    /* A real shared object that is not libxml2: the first symbol is missing, by name. */
    struct mc_xmllib x;
    struct mc_error e = {0};
    CHECK(mc_xmllib_open("libcrypto.so.3", &x, &e) == MC_E_UNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "libcrypto.so.3 does not provide xmlParserVersion") != NULL, "%s", e.msg);
    CHECK(all_zero(&x, sizeof x));
}

static void test_own_table(void)
{
    struct mc_xmllib x;
    struct mc_error e = {0};
    CHECK_MSG(mc_xmllib_open(MC_XMLLIB_SONAME, &x, &e) == MC_OK, "%s", e.msg);
    if (!x.handle)
        return;
    CHECK_MSG(!strncmp(x.version, "2.", 2) && strlen(x.version) >= 5, "version '%s'", x.version);
    CHECK(x.free_slot && *x.free_slot);
    /* Use it: write and read back a small document through the table alone. */
    xmlBufferPtr b = x.BufferCreate();
    xmlTextWriterPtr w = x.NewTextWriterMemory(b, 0);
    CHECK(w != NULL);
    CHECK(x.TextWriterStartElement(w, (const xmlChar *)"a") >= 0);
    CHECK(x.TextWriterWriteAttribute(w, (const xmlChar *)"k", (const xmlChar *)"v<&") >= 0);
    CHECK(x.TextWriterWriteElement(w, (const xmlChar *)"b", (const xmlChar *)"text") >= 0);
    CHECK(x.TextWriterEndDocument(w) >= 0);
    x.FreeTextWriter(w);
    const char *s = (const char *)x.BufferContent(b);
    CHECK_MSG(strstr(s, "<a k=\"v&lt;&amp;\"><b>text</b></a>") != NULL, "%s", s);
    xmlParserCtxtPtr c = x.NewParserCtxt();
    xmlDocPtr d = x.CtxtReadMemory(c, s, (int)strlen(s), "t.xml", NULL, XML_PARSE_NONET);
    CHECK(d != NULL);
    if (d) {
        xmlNodePtr root = x.DocGetRootElement(d);
        xmlChar *v = x.GetNoNsProp(root, (const xmlChar *)"k");
        CHECK(v && !strcmp((const char *)v, "v<&"));
        mc_xmllib_free(&x, v);
        CHECK(x.HasProp(root, (const xmlChar *)"k") != NULL && x.HasProp(root, (const xmlChar *)"z") == NULL);
        xmlChar *t = x.NodeGetContent(root);
        CHECK(t && !strcmp((const char *)t, "text"));
        mc_xmllib_free(&x, t);
        x.FreeDoc(d);
    }
    CHECK(x.CtxtReadMemory(c, "<a>", 3, "t.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR) == NULL);
    const xmlError *er = x.CtxtGetLastError(c);
    CHECK(er && er->message);
    x.FreeParserCtxt(c);
    x.BufferFree(b);
    mc_xmllib_close(&x);
    CHECK(all_zero(&x, sizeof x));
}

static void *get_thread(void *arg)
{
    const struct mc_xmllib **out = arg;
    struct mc_error e = {0};
    if (mc_xmllib_get(out, &e))
        *out = NULL;
    return NULL;
}

static void test_process_table(void)
{
    /* Several threads racing for the first load all get the one table. */
    const struct mc_xmllib *got[4] = {0};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, get_thread, &got[i]) == 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    const struct mc_xmllib *x = NULL;
    struct mc_error e = {0};
    CHECK(mc_xmllib_get(&x, &e) == MC_OK && x != NULL);
    for (int i = 0; i < 4; i++)
        CHECK(got[i] == x);
    CHECK(mc_xmllib_get(NULL, &e) == MC_E_INVAL);
    CHECK(mapped("libxml2.so"));

    /* The libvirt functions work through it. */
    struct mc_lv_platform p;
    CHECK(mc_libvirt_platform("milan", &p, &e) == MC_OK);
    char *caps = NULL;
    CHECK_MSG(mc_libvirt_domcaps_xml(&p, &caps, &e) == MC_OK, "%s", e.msg);
    CHECK(caps && strstr(caps, "<cbitpos>51</cbitpos>"));
    free(caps);
    struct mc_lv_domain *d = NULL;
    const char *xml = "<domain type='kvm'><name>t</name><memory unit='MiB'>2</memory></domain>";
    CHECK_MSG(mc_libvirt_parse(xml, strlen(xml), &d, &e) == MC_OK, "%s", e.msg);
    mc_libvirt_free(d);
}

int main(void)
{
    RUN(test_not_loaded_at_start);
    RUN(test_missing_library);
    RUN(test_wrong_library);
    RUN(test_own_table);
    RUN(test_process_table);
    return check_summary();
}
