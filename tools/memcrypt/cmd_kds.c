/* memcrypt kds serve — a local AMD Key Distribution Service for the emulated chip.
 *
 * libmicrohttpd (Debian's) speaks HTTP; every request goes to the router in the library
 * (memcrypt/kds_site.h), which answers from the chip of --state FILE and from a folder of real
 * AMD certificates (--cache DIR). One server thread answers the requests in turn (the chip's
 * identity is not thread-safe).
 *
 * libmicrohttpd is dlopen()ed here, when `kds serve` starts, not linked: linked, it and what it
 * needs (GnuTLS, p11-kit, nettle, gmp, libidn2, libunistring, libtasn1, libffi) are loaded,
 * relocated and initialised (GnuTLS seeds its RNG and reads its config) by every memcrypt process,
 * ~2 ms of every `memcrypt measure` (docs/measure.md, "Where the time goes"). The header still
 * gives the types, and each pointer below is checked against its declaration at compile time. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <microhttpd.h>

#include <memcrypt/board.h>
#include <memcrypt/kds_site.h>
#include <memcrypt/psp.h>
#include <memcrypt/sev_identity.h>
#include <memcrypt/snp_identity.h>

#include "cli.h"
#include "cli_dl.h"
#include "cli_util.h"

#ifndef MC_MHD_SONAME
#define MC_MHD_SONAME "libmicrohttpd.so.12"
#endif

/* The libmicrohttpd functions `kds serve` calls, resolved from the library loaded at run time. */
struct mhd_api {
    void *handle;
    int (*get_connection_values)(struct MHD_Connection *, enum MHD_ValueKind, MHD_KeyValueIterator, void *);
    struct MHD_Response *(*create_response_from_buffer)(size_t, void *, enum MHD_ResponseMemoryMode);
    enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *, const char *);
    enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
    void (*destroy_response)(struct MHD_Response *);
    struct MHD_Daemon *(*start_daemon)(unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *,
                                       MHD_AccessHandlerCallback, void *, ...);
    const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *, enum MHD_DaemonInfoType, ...);
    void (*stop_daemon)(struct MHD_Daemon *);
};

/* Loads MC_MHD_SONAME and resolves every function (cli_dl.h); on failure prints why and returns -1. */
static int mhd_load(struct mhd_api *m, const char *prog)
{
    memset(m, 0, sizeof *m);
    const char *so = MC_MHD_SONAME;
    void *h = m->handle = mc_cli_dlopen(prog, so, "libmicrohttpd12");
    if (!h || MC_CLI_DLSYM(prog, h, so, m->get_connection_values, MHD_get_connection_values) ||
        MC_CLI_DLSYM(prog, h, so, m->create_response_from_buffer, MHD_create_response_from_buffer) ||
        MC_CLI_DLSYM(prog, h, so, m->add_response_header, MHD_add_response_header) ||
        MC_CLI_DLSYM(prog, h, so, m->queue_response, MHD_queue_response) ||
        MC_CLI_DLSYM(prog, h, so, m->destroy_response, MHD_destroy_response) ||
        MC_CLI_DLSYM(prog, h, so, m->start_daemon, MHD_start_daemon) ||
        MC_CLI_DLSYM(prog, h, so, m->get_daemon_info, MHD_get_daemon_info) ||
        MC_CLI_DLSYM(prog, h, so, m->stop_daemon, MHD_stop_daemon)) {
        if (h)
            dlclose(h);
        m->handle = NULL;
        return -1;
    }
    return 0;
}

/* What the request handler gets: the router and the library's functions. */
struct serve_ctx {
    struct mc_kds_site *site;
    const struct mhd_api *mhd;
};

struct args {
    struct mc_kds_arg a[MC_KDS_ARGS_MAX];
    size_t n;
    int over; /* more arguments than the router takes */
};

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct args *a = cls;
    if (a->n == MC_KDS_ARGS_MAX) {
        a->over = 1;
        return MHD_NO;
    }
    a->a[a->n].name = key ? key : "";
    a->a[a->n].value = value ? value : "";
    a->n++;
    return MHD_YES;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_len, void **state)
{
    (void)version;
    (void)upload;
    const struct serve_ctx *ctx = cls;
    struct mc_kds_site *site = ctx->site;
    const struct mhd_api *mhd = ctx->mhd;
    if (!*state) { /* first call for this request: headers only */
        *state = site;
        if (*upload_len == 0 && (!strcmp(method, "GET") || !strcmp(method, "HEAD")))
            goto answer;
        return MHD_YES;
    }
    if (*upload_len) { /* a body nobody asked for: read and drop it */
        *upload_len = 0;
        return MHD_YES;
    }
answer:;
    struct args a = {0};
    mhd->get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &a);
    struct mc_kds_reply r = {0};
    struct mc_error err = {0};
    mc_status st;
    if (a.over) {
        static const char msg[] = "too many query parameters\n";
        r.status = 400;
        r.type = "text/plain; charset=utf-8";
        r.body = malloc(sizeof msg - 1);
        r.len = r.body ? sizeof msg - 1 : 0;
        if (r.body)
            memcpy(r.body, msg, r.len);
        st = MC_OK;
    } else {
        st = mc_kds_answer(site, method, url, a.a, a.n, &r, &err);
    }
    if (st) {
        fprintf(stderr, "memcrypt kds: %s %s: %s\n", method, url, err.msg);
        r.status = 500;
        r.type = "text/plain; charset=utf-8";
        r.body = NULL;
        r.len = 0;
    }
    struct MHD_Response *resp = mhd->create_response_from_buffer(r.len, r.body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(r.body);
        return MHD_NO;
    }
    mhd->add_response_header(resp, "Content-Type", r.type);
    enum MHD_Result ok = mhd->queue_response(c, r.status, resp);
    mhd->destroy_response(resp);
    return ok;
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

enum { K_LISTEN = 1, K_CACHE };

static const struct mc_opt serve_opts[] = {
    {"listen", 0, "ADDR:PORT",
     "IPv4 address and port (default 127.0.0.1:8090; port 0 picks one, printed on the\n"
     "first line)",
     K_LISTEN, 0},
    {"cache", 0, "DIR",
     "real AMD certificates, as files named by their URL path (a VCEK as\n"
     "vcek/v1/{product}/{hwid}/{blSPL}-{teeSPL}-{snpSPL}-{ucodeSPL}, Turin with {fmcSPL}- first)",
     K_CACHE, MC_OPT_DIR},
    {0},
};

static int serve(const struct mhd_api *mhd, const char *prog, const struct sockaddr_in *sa, const char *listen,
                 const char *state, const char *cache)
{
    struct mc_kds_site site = {.cache_dir = cache};
    struct serve_ctx ctx = {.site = &site, .mhd = mhd};
    struct mc_board *b = NULL;
    struct mc_error err = {0};
    char platform[32] = "";
    if (state) {
        struct mc_board_config bc;
        if (mc_psp_state_file_platform(state, platform, &err))
            return mc_cli_fail(prog, &err);
        if (mc_board_config_init(&bc, platform, &err))
            return mc_cli_fail(prog, &err);
        bc.machine.dram_size = 16ull << 20;
        bc.hypervisor = false;
        bc.fw.state_path = state;
        bc.fw.state_wait_ms = mc_cli_state_wait_ms();
        if (mc_board_create(&bc, &b, &err))
            return mc_cli_fail(prog, &err);
        struct mc_psp *psp = mc_board_psp(b);
        site.sev = mc_psp_identity(psp, &err); /* made and written now if the chip has none yet */
        if (!site.sev) {
            mc_board_destroy(b);
            return mc_cli_fail(prog, &err);
        }
        site.sev_generation = platform;
        /* A chip with SEV-SNP also answers the SNP routes from its SNP identity (VCEK per TCB,
         * ASK/ASVK/ARK, CRL), made and persisted now if the chip has none yet. */
        if (mc_board_fw_config(b)->snp && !(site.snp = mc_psp_snp_identity(psp, &err))) {
            mc_board_destroy(b);
            return mc_cli_fail(prog, &err);
        }
        mc_psp_state_release(psp);
    }

    /* Signals go to this thread only: the server thread inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    struct MHD_Daemon *d = mhd->start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, &ctx, MHD_OPTION_SOCK_ADDR,
        (const struct sockaddr *)sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)64, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "memcrypt %s: cannot listen on %s: %s\n", prog, listen, strerror(errno));
        mc_board_destroy(b);
        return MC_EXIT_ERROR;
    }
    const union MHD_DaemonInfo *info = mhd->get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa->sin_addr, addr, sizeof addr);
    printf("memcrypt kds: serving http://%s:%u/ for %s%s%s%s (Ctrl-C stops)\n", addr,
           info ? info->port : ntohs(sa->sin_port), state ? "the chip of " : "", state ? state : "",
           state && cache ? " and " : "", cache ? "the certificates in --cache" : "");
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    mhd->stop_daemon(d);
    mc_board_destroy(b);
    return MC_EXIT_OK;
}

static int run_serve(const struct mc_cli_cmd *cmd, int argc, char **argv)
{
    const char *listen = "127.0.0.1:8090", *cache = NULL;
    struct mc_args a;
    int ch;
    mc_args_init(&a, cmd, argc, argv);
    while ((ch = mc_args_next(&a)) > 0) {
        if (ch == K_LISTEN)
            listen = a.val;
        else if (ch == K_CACHE)
            cache = a.val;
    }
    if (ch < 0)
        return a.rc;
    const char *state = a.state;
    if (!state && !cache)
        return mc_cli_usage_error(argv[0], "--state FILE (the chip) or --cache DIR (AMD's certificates) is needed");
    struct sockaddr_in sa;
    if (parse_listen(listen, &sa))
        return mc_cli_usage_error(argv[0], "--listen takes IPv4-ADDRESS:PORT, e.g. 127.0.0.1:8090");
    struct stat st;
    if (cache && (stat(cache, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "memcrypt %s: --cache %s is not a folder\n", argv[0], cache);
        return MC_EXIT_ERROR;
    }

    /* Loaded before the chip is touched: a missing library changes no state. */
    struct mhd_api mhd;
    if (mhd_load(&mhd, argv[0]))
        return MC_EXIT_ERROR;
    int rc = serve(&mhd, argv[0], &sa, listen, state, cache);
    dlclose(mhd.handle);
    return rc;
}

const struct mc_cli_cmd mc_cli_kds[] = {
    {.path = "kds serve",
     .summary = "a local AMD Key Distribution Service for the emulated chip (HTTP)",
     .synopsis = "[--listen ADDR:PORT] [--state FILE] [--cache DIR]",
     .about = "Answers AMD's KDS URLs (kdsintf.amd.com) for the chip of --state FILE (its identities, SEV and,\n"
              "on chips with SEV-SNP, SNP, are made now if it has none) and from --cache DIR:\n"
              "  /vcek/v1/{product}/{hwid}?blSPL=N&teeSPL=N&snpSPL=N&ucodeSPL=N[&fmcSPL=N]   VCEK (DER)\n"
              "  /vcek/v1/{product}/cert_chain, /vlek/v1/{product}/cert_chain   ASK|ASVK, ARK (PEM)\n"
              "  /vcek/v1/{product}/crl, /vlek/v1/{product}/crl                 the ARK's CRL (DER)\n"
              "  /cek/id/{GET_ID}                                   legacy SEV: the ASK-signed CEK\n"
              "  /developer/eula/sev/ask_ark_{platform}.cert        legacy SEV: ASK then ARK\n"
              "Bad requests get a 4xx and a one-line reason. Runs until SIGINT/SIGTERM. It answers once its\n"
              "first line (the URL) is on standard output: a script started in the background waits for it.\n"
              "Exit status: 0 stopped by SIGINT/SIGTERM, 2 usage, 3 error (the state file, the address in use).\n",
     .opts = serve_opts,
     .common = MC_CO_STATE,
     .examples = "d=$(mktemp -d)\n"
                 "memcrypt fw status --platform milan --state $d/ci.state\n"
                 "memcrypt kds serve --state $d/ci.state --listen 127.0.0.1:0 >$d/url &\n"
                 "while kill -0 $! && ! grep -q serving $d/url; do sleep 0.05; done; cat $d/url\n"
                 "curl -sSf \"$(grep -o 'http://[0-9.:]*' $d/url)/vcek/v1/Milan/cert_chain\" -o $d/cert_chain.pem\n"
                 "kill $!\n",
     .run = run_serve},
    {0},
};
