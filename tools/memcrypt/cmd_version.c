/* memcrypt version — build and dependency versions. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <memcrypt/json.h>
#include <openssl/opensslv.h>
#include <libxml/xmlversion.h>

#include "cli.h"

static int run_version(int argc, char **argv)
{
    int json = 0;
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return mc_cli_usage_error(argv[0], "unknown option");
    }
    if (optind < argc)
        return mc_cli_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
    if (json) {
        struct mc_json j;
        mc_json_begin(&j, stdout);
        mc_json_obj(&j, NULL);
        mc_json_str(&j, "memcrypt", MC_VERSION);
        mc_json_str(&j, "openssl", OPENSSL_VERSION_TEXT);
        mc_json_str(&j, "libxml2", LIBXML_DOTTED_VERSION);
        mc_json_finish(&j);
    } else {
        printf("memcrypt %s\n%s\nlibxml2 %s\n", MC_VERSION, OPENSSL_VERSION_TEXT, LIBXML_DOTTED_VERSION);
    }
    return MC_EXIT_OK;
}

const struct mc_cli_cmd mc_cli_version[] = {
    {"version", "print the version of memcrypt and its libraries",
     "usage: memcrypt version [--json]\n\nPrints the memcrypt, OpenSSL and libxml2 versions.\n", run_version},
    {0},
};
