/* memcrypt version — build and dependency versions.
 * libxml2 is not linked (the library loads it when XML is first used), so this command
 * loads it and reports the version it found at run time, or why it could not be loaded. */
#include <stdio.h>
#include <string.h>

#include <memcrypt/json.h>
#include <openssl/opensslv.h>

#include <memcrypt/libvirt.h>

#include "cli.h"

static int run_version(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    struct mc_args a;
    int rc = mc_args_all(&a, cmd, argc, argv);
    if (rc)
        return rc;
    const bool json = a.json;
    struct mc_error e = {0};
    const char *xmlver = NULL, *soname = NULL;
    if (mc_libvirt_xml_runtime(&xmlver, &soname, &e))
        xmlver = NULL;
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "memcrypt", MC_VERSION);
        mc_json_str(&j, "openssl", OPENSSL_VERSION_TEXT);
        mc_json_str(&j, "libxml2", xmlver); /* null when it could not be loaded */
        if (!xmlver)
            mc_json_str(&j, "libxml2_error", e.msg);
        mc_json_finish(&j);
    } else {
        printf("memcrypt %s\n%s\n", MC_VERSION, OPENSSL_VERSION_TEXT);
        if (xmlver)
            printf("libxml2 %s (loaded from %s)\n", xmlver, soname);
        else
            printf("libxml2 not loaded: %s\n", e.msg);
    }
    return MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_version[] = {
    {.path = "version",
     .summary = "print the version of memcrypt and its libraries",
     .synopsis = "[--json]",
     .about = "Prints the memcrypt, OpenSSL and libxml2 versions. libxml2 is loaded when XML is first used;\n"
              "this reports the library found at run time.\n",
     .common = MC_CO_JSON,
     .examples = "memcrypt version --json\n",
     .run = run_version},
    {0},
};
