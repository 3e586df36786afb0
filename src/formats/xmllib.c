/* libxml2, loaded on first use (see xmllib.h).
 *
 * State: the process-wide table is ONE static object initialised under pthread_once. It plays the
 * part the dynamic linker plays for a linked library (one copy of a shared object per process),
 * it is written exactly once and only read afterwards. Nothing else here is global; callers that
 * want their own table (tests) use mc_xmllib_open/mc_xmllib_close with a struct they own.
 *
 * Version check: where a program linked against libxml2 would run LIBXML_TEST_VERSION, we read
 * the library's `xmlParserVersion` string ("20914" for 2.9.14) and refuse any major version other
 * than the one the SONAME promises (2). Every function used must resolve, so a library too old to
 * have one of them is refused by name. xmlInitParser() is called once, right after loading, as
 * libxml2 asks of programs that may parse from several threads.
 */
#include "formats/xmllib.h"

#include <memcrypt/libvirt.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Once xmlInitParser() has run, libxml2 owns a pthread key whose destructor is libxml2 code and
 * heap blocks only its own data points to, so unmapping it would leave dangling destructors and
 * leaks. RTLD_NODELETE (glibc, musl, the BSDs) keeps it mapped: dlclose only drops a reference,
 * as with a library linked at build time. */
#ifdef RTLD_NODELETE
#define MC_RTLD_NODELETE RTLD_NODELETE
#else
#define MC_RTLD_NODELETE 0
#endif

_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "dlsym results are copied into function pointers");

static mc_status resolve(const struct mc_xmllib *x, const char *soname, const char *sym, void *slot,
                         struct mc_error *err)
{
    dlerror();
    void *p = dlsym(x->handle, sym);
    if (!p) {
        const char *why = dlerror();
        return mc_seterr(err, MC_E_UNSUPPORTED,
                         "%s does not provide %s (%s); install a libxml2 2.x: apt-get install libxml2", soname,
                         sym, why ? why : "symbol is NULL");
    }
    memcpy(slot, &p, sizeof p);
    return MC_OK;
}

/* The sizeof() operand is never evaluated and makes no reference to the symbol (so nothing links
 * libxml2), but the compiler checks that the libxml2 declaration can be assigned to the field:
 * a wrong pointer type is an incompatible-pointer warning, an error under -Werror. */
#define RESOLVE(field, sym)                                                                        \
    do {                                                                                           \
        (void)sizeof(x->field = sym);                                                              \
        if ((st = resolve(x, soname, #sym, &x->field, err)))                                       \
            goto fail;                                                                             \
    } while (0)

/* "20914" (maybe followed by "-GIT..." or similar) -> "2.9.14". */
static mc_status parse_version(const char *v, char *out, size_t cap, unsigned *major, struct mc_error *err)
{
    unsigned long n = 0;
    size_t i = 0;
    for (; v[i] >= '0' && v[i] <= '9' && i < 9; i++)
        n = n * 10 + (unsigned long)(v[i] - '0');
    if (i < 5 || (v[i] >= '0' && v[i] <= '9'))
        return mc_seterr(err, MC_E_UNSUPPORTED, "libxml2 reports an unreadable version '%.40s'", v);
    *major = (unsigned)(n / 10000);
    snprintf(out, cap, "%lu.%lu.%lu", n / 10000, n / 100 % 100, n % 100);
    return MC_OK;
}

mc_status mc_xmllib_open(const char *soname, struct mc_xmllib *x, struct mc_error *err)
{
    if (!soname || !x)
        return mc_seterr(err, MC_E_INVAL, "mc_xmllib_open: NULL argument");
    memset(x, 0, sizeof *x);
    dlerror();
    x->handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL | MC_RTLD_NODELETE);
    if (!x->handle) {
        const char *why = dlerror();
        return mc_seterr(err, MC_E_UNSUPPORTED, "libxml2 (%s) is not installed: apt-get install libxml2 (%s)",
                         soname, why ? why : "dlopen failed");
    }
    mc_status st;
    const char **pversion = NULL;
    if ((st = resolve(x, soname, "xmlParserVersion", &pversion, err)))
        goto fail;
    unsigned major = 0;
    if (!*pversion) {
        st = mc_seterr(err, MC_E_UNSUPPORTED, "%s reports no version", soname);
        goto fail;
    }
    if ((st = parse_version(*pversion, x->version, sizeof x->version, &major, err)))
        goto fail;
    if (major != LIBXML_VERSION / 10000) {
        st = mc_seterr(err, MC_E_UNSUPPORTED, "%s is libxml2 %s; memcrypt needs libxml2 %d.x", soname, x->version,
                       LIBXML_VERSION / 10000);
        goto fail;
    }

    /* xmlFree is a variable holding a function pointer (with thread-local allocators the headers
     * turn the name into a macro around __xmlFree(), whose per-thread copies start as this
     * variable's value; memcrypt never calls xmlMemSetup, so they stay equal). */
    if ((st = resolve(x, soname, "xmlFree", &x->free_slot, err)))
        goto fail;

    RESOLVE(InitParser, xmlInitParser);
    RESOLVE(NewParserCtxt, xmlNewParserCtxt);
    RESOLVE(CtxtReadMemory, xmlCtxtReadMemory);
    RESOLVE(CtxtGetLastError, xmlCtxtGetLastError);
    RESOLVE(FreeParserCtxt, xmlFreeParserCtxt);
    RESOLVE(FreeDoc, xmlFreeDoc);
    RESOLVE(DocGetRootElement, xmlDocGetRootElement);
    RESOLVE(GetNoNsProp, xmlGetNoNsProp);
    RESOLVE(HasProp, xmlHasProp);
    RESOLVE(NodeGetContent, xmlNodeGetContent);
    RESOLVE(BufferCreate, xmlBufferCreate);
    RESOLVE(BufferContent, xmlBufferContent);
    RESOLVE(BufferFree, xmlBufferFree);
    RESOLVE(NewTextWriterMemory, xmlNewTextWriterMemory);
    RESOLVE(FreeTextWriter, xmlFreeTextWriter);
    RESOLVE(TextWriterSetIndent, xmlTextWriterSetIndent);
    RESOLVE(TextWriterSetIndentString, xmlTextWriterSetIndentString);
    RESOLVE(TextWriterStartElement, xmlTextWriterStartElement);
    RESOLVE(TextWriterEndElement, xmlTextWriterEndElement);
    RESOLVE(TextWriterEndDocument, xmlTextWriterEndDocument);
    RESOLVE(TextWriterWriteAttribute, xmlTextWriterWriteAttribute);
    RESOLVE(TextWriterWriteElement, xmlTextWriterWriteElement);
    RESOLVE(TextWriterWriteComment, xmlTextWriterWriteComment);

    x->InitParser();
    return MC_OK;
fail:
    dlclose(x->handle);
    memset(x, 0, sizeof *x);
    return st;
}

void mc_xmllib_close(struct mc_xmllib *x)
{
    if (!x || !x->handle)
        return;
    dlclose(x->handle);
    memset(x, 0, sizeof *x);
}

/* ------------------------------------------------------ process-wide -- */

static struct {
    pthread_once_t once;
    mc_status st;
    struct mc_error err;
    struct mc_xmllib lib;
} g_xml = {.once = PTHREAD_ONCE_INIT};

static void load_once(void)
{
    g_xml.st = mc_xmllib_open(MC_XMLLIB_SONAME, &g_xml.lib, &g_xml.err);
}

mc_status mc_xmllib_get(const struct mc_xmllib **out, struct mc_error *err)
{
    if (!out)
        return mc_seterr(err, MC_E_INVAL, "mc_xmllib_get: NULL argument");
    *out = NULL;
    pthread_once(&g_xml.once, load_once);
    if (g_xml.st)
        return mc_seterr(err, g_xml.st, "%s", g_xml.err.msg);
    *out = &g_xml.lib;
    return MC_OK;
}

mc_status mc_libvirt_xml_runtime(const char **version, const char **soname, struct mc_error *err)
{
    if (!version || !soname)
        return mc_seterr(err, MC_E_INVAL, "mc_libvirt_xml_runtime: NULL argument");
    const struct mc_xmllib *x = NULL;
    mc_status st = mc_xmllib_get(&x, err);
    *version = st ? NULL : x->version;
    *soname = MC_XMLLIB_SONAME;
    return st;
}
