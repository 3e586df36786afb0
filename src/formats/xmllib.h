/* libxml2, loaded on first use (internal).
 *
 * Only the libvirt reader/writer needs libxml2, and libxml2 pulls ICU and libstdc++ into every
 * process that links it (about 3 ms of start-up on a small machine). So libmemcrypt does not link
 * it: the libvirt code asks for the table below, which dlopen()s "libxml2.so.2" the first time it
 * is needed and resolves exactly the functions that code calls.
 *
 * The pointer types are written from libxml2's own prototypes (the headers are still used for
 * types), and xmllib.c checks every one against the real declaration at compile time.
 */
#ifndef MC_FORMATS_XMLLIB_H
#define MC_FORMATS_XMLLIB_H

#include <stddef.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>
#include <libxml/xmlwriter.h>

#include <memcrypt/error.h>

/* The shared object we load (its SONAME: ABI major version 2). */
#define MC_XMLLIB_SONAME "libxml2.so.2"

struct mc_xmllib {
    void *handle;          /* dlopen() handle */
    char version[24];      /* dotted version of the loaded library, e.g. "2.9.14" */

    void (*InitParser)(void);
    xmlParserCtxtPtr (*NewParserCtxt)(void);
    xmlDocPtr (*CtxtReadMemory)(xmlParserCtxtPtr ctxt, const char *buffer, int size, const char *URL,
                                const char *encoding, int options);
    xmlErrorPtr (*CtxtGetLastError)(void *ctx);
    void (*FreeParserCtxt)(xmlParserCtxtPtr ctxt);
    void (*FreeDoc)(xmlDocPtr cur);
    xmlNodePtr (*DocGetRootElement)(const xmlDoc *doc);
    xmlChar *(*GetNoNsProp)(const xmlNode *node, const xmlChar *name);
    xmlAttrPtr (*HasProp)(const xmlNode *node, const xmlChar *name);
    xmlChar *(*NodeGetContent)(const xmlNode *cur);

    xmlBufferPtr (*BufferCreate)(void);
    const xmlChar *(*BufferContent)(const xmlBuffer *buf);
    void (*BufferFree)(xmlBufferPtr buf);
    xmlTextWriterPtr (*NewTextWriterMemory)(xmlBufferPtr buf, int compression);
    void (*FreeTextWriter)(xmlTextWriterPtr writer);
    int (*TextWriterSetIndent)(xmlTextWriterPtr writer, int indent);
    int (*TextWriterSetIndentString)(xmlTextWriterPtr writer, const xmlChar *str);
    int (*TextWriterStartElement)(xmlTextWriterPtr writer, const xmlChar *name);
    int (*TextWriterEndElement)(xmlTextWriterPtr writer);
    int (*TextWriterEndDocument)(xmlTextWriterPtr writer);
    int (*TextWriterWriteAttribute)(xmlTextWriterPtr writer, const xmlChar *name, const xmlChar *content);
    int (*TextWriterWriteElement)(xmlTextWriterPtr writer, const xmlChar *name, const xmlChar *content);
    int (*TextWriterWriteComment)(xmlTextWriterPtr writer, const xmlChar *content);

    /* libxml2's `xmlFree` is a global VARIABLE holding the deallocator (xmlMemSetup can change
     * it), so we keep its address and read it at every call: use mc_xmllib_free(). */
    xmlFreeFunc *free_slot;
};

/* Frees memory that libxml2 handed out (xmlNodeGetContent, xmlGetNoNsProp); NULL is allowed. */
static inline void mc_xmllib_free(const struct mc_xmllib *x, void *p)
{
    if (p)
        (*x->free_slot)(p);
}

/* The process-wide table: loads libxml2.so.2 on the first call (thread-safe) and sets *out to the
 * table, which lives until the process exits. When the library cannot be used, returns
 * MC_E_UNSUPPORTED with err saying why ("libxml2 (libxml2.so.2) is not installed: apt-get install
 * libxml2", or which symbol is missing) and leaves *out NULL; every later call fails the same way. */
mc_status mc_xmllib_get(const struct mc_xmllib **out, struct mc_error *err);

/* Loads `soname` into *x (a caller-owned table; the process-wide one uses MC_XMLLIB_SONAME).
 * On failure *x is left zeroed and err says why. Release with mc_xmllib_close(). */
mc_status mc_xmllib_open(const char *soname, struct mc_xmllib *x, struct mc_error *err);

/* dlclose()s a table filled by mc_xmllib_open and zeroes it; a zeroed table is a no-op. The
 * library itself stays mapped (RTLD_NODELETE): libxml2 cannot be unloaded once initialised. */
void mc_xmllib_close(struct mc_xmllib *x);

#endif
