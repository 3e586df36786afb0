/* The include graph of src/ and include/memcrypt/ against the layering written in
 * docs/architecture.md: folders ordered from the bottom up, each with the public headers it
 * implements. A file may include headers of its own folder and of earlier folders only.
 *
 * The ordered list after the "<!-- layering:" marker is read as it stands ("N. `folder`: `a.h`,
 * `b.h`"), so a new folder or public header that the document does not place fails here, as
 * does an include of a later folder's header. Includes are read line by line (`#include "x/y.h"`
 * names folder x's internal header, `#include <memcrypt/h.h>` the folder that owns h.h, a bare
 * `"y.h"` the file's own folder); a public header may include only public headers, and so may
 * the CLI (tools/memcrypt, built as any program using the installed library). memcrypt/version.h
 * is generated into the build folder (generated/include/memcrypt/). */
#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "check.h"

#define MAXF 64
#define MAXH 128

struct layer {
    char name[64];
    int rank;
};
static struct layer layers[MAXF];
static int nlayers;
static struct {
    char name[64];
    int rank;
} headers[MAXH];
static int nheaders;
static unsigned files_seen, includes_seen;

static int rank_of_folder(const char *name)
{
    for (int i = 0; i < nlayers; i++)
        if (!strcmp(layers[i].name, name))
            return layers[i].rank;
    return -1;
}

static int rank_of_header(const char *name)
{
    for (int i = 0; i < nheaders; i++)
        if (!strcmp(headers[i].name, name))
            return headers[i].rank;
    return -1;
}

/* "12. `fw`: `psp.h`, `sev_api.h`, `fw_status.h`" -> folder fw at rank 12 owning three headers. */
static void read_order(void)
{
    FILE *f = fopen(MC_SOURCE_DIR "/docs/architecture.md", "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[1024];
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "<!-- layering:")) {
            in = true;
            continue;
        }
        if (!in)
            continue;
        int rank = 0, n = 0;
        if (sscanf(line, "%d. `%n", &rank, &n) != 1 || n == 0) {
            if (nlayers)
                break; /* the list ended */
            continue;
        }
        const char *p = line + n, *e = strchr(p, '`');
        CHECK_MSG(e && e - p < 63 && nlayers < MAXF, "bad layering line: %s", line);
        if (!e || e - p >= 63 || nlayers >= MAXF)
            break;
        CHECK_MSG(rank == nlayers + 1, "layering list out of order at %s", line);
        memcpy(layers[nlayers].name, p, (size_t)(e - p));
        layers[nlayers].name[e - p] = 0;
        layers[nlayers].rank = rank;
        nlayers++;
        /* the folder's public headers: `x.h` items after a colon */
        const char *c = e[1] == ':' ? e + 2 : NULL;
        while (c && (c = strchr(c, '`')) != NULL) {
            const char *he = strchr(c + 1, '`');
            if (!he || he - c - 1 >= 63 || nheaders >= MAXH)
                break;
            if (he - c - 1 > 2 && !strncmp(he - 2, ".h", 2)) {
                memcpy(headers[nheaders].name, c + 1, (size_t)(he - c - 1));
                headers[nheaders].name[he - c - 1] = 0;
                CHECK_MSG(rank_of_header(headers[nheaders].name) < 0, "%s placed twice", headers[nheaders].name);
                headers[nheaders].rank = rank;
                nheaders++;
            }
            c = he + 1;
        }
    }
    fclose(f);
}

/* The rank an include line points at; -2 when it is not one of ours (system headers). */
static int target_rank(const char *inc, bool angle, int own_rank, const char *where, bool *internal)
{
    *internal = false;
    if (angle) {
        if (strncmp(inc, "memcrypt/", 9))
            return -2;
        int r = rank_of_header(inc + 9);
        CHECK_MSG(r >= 0, "%s includes <%s>, a public header docs/architecture.md does not place", where, inc);
        return r;
    }
    const char *slash = strchr(inc, '/');
    if (!slash)
        return own_rank; /* the file's own folder */
    char folder[64];
    size_t n = (size_t)(slash - inc);
    if (n >= sizeof folder)
        return -1;
    memcpy(folder, inc, n);
    folder[n] = 0;
    *internal = true;
    int r = rank_of_folder(folder);
    CHECK_MSG(r >= 0, "%s includes \"%s\" of a folder docs/architecture.md does not place", where, inc);
    return r;
}

static void check_file(const char *path, const char *shown, int own_rank, bool public_header, bool public_only)
{
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot read %s", path);
    if (!f)
        return;
    files_seen++;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p != '#')
            continue;
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "include", 7))
            continue;
        p += 7;
        while (*p == ' ' || *p == '\t')
            p++;
        bool angle = *p == '<';
        if (*p != '<' && *p != '"')
            continue;
        const char *e = strchr(p + 1, angle ? '>' : '"');
        if (!e || e - p - 1 >= 255)
            continue;
        char inc[256];
        memcpy(inc, p + 1, (size_t)(e - p - 1));
        inc[e - p - 1] = 0;
        bool internal;
        int r = target_rank(inc, angle, own_rank, shown, &internal);
        if (r == -2)
            continue;
        includes_seen++;
        CHECK_MSG(!(public_header && internal), "public header %s includes the internal header \"%s\"", shown, inc);
        CHECK_MSG(!(public_only && internal), "%s includes the internal header \"%s\": the CLI uses public headers only",
                  shown, inc);
        CHECK_MSG(r <= own_rank, "%s (layer %d, %s) includes %s%s%s of layer %d (%s): a lower folder includes a higher one",
                  shown, own_rank, layers[own_rank - 1].name, angle ? "<" : "\"", inc, angle ? ">" : "\"", r,
                  r > 0 ? layers[r - 1].name : "?");
    }
    fclose(f);
}

static bool source_name(const char *n)
{
    size_t l = strlen(n);
    return l > 2 && n[l - 2] == '.' && (n[l - 1] == 'c' || n[l - 1] == 'h');
}

/* Every .c/.h under dir (recursively) as a file of the folder at rank. */
static void walk(const char *dir, const char *shown, int rank, bool public_only)
{
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char p[1024], s[512];
        struct stat sb;
        if (snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= (int)sizeof p ||
            snprintf(s, sizeof s, "%s/%s", shown, de->d_name) >= (int)sizeof s || stat(p, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            walk(p, s, rank, public_only);
        else if (source_name(de->d_name))
            check_file(p, s, rank, false, public_only);
    }
    closedir(d);
}

static void test_order_is_written(void)
{
    read_order();
    CHECK(nlayers >= 15);
    CHECK(rank_of_folder("util") == 1);
    CHECK(rank_of_folder("tools/memcrypt") == nlayers);
    CHECK(rank_of_header("error.h") == 1 && rank_of_header("board.h") == rank_of_folder("board"));
}

static void test_every_folder_and_header_is_placed(void)
{
    DIR *d = opendir(MC_SOURCE_DIR "/src");
    CHECK(d != NULL);
    struct dirent *de;
    unsigned folders = 0;
    while (d && (de = readdir(d)) != NULL) {
        char p[1024];
        struct stat sb;
        if (de->d_name[0] == '.' || snprintf(p, sizeof p, "%s/src/%s", MC_SOURCE_DIR, de->d_name) >= (int)sizeof p ||
            stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        folders++;
        CHECK_MSG(rank_of_folder(de->d_name) > 0, "src/%s is not in the layering list of docs/architecture.md",
                  de->d_name);
    }
    if (d)
        closedir(d);
    CHECK(folders >= 15);
    d = opendir(MC_SOURCE_DIR "/include/memcrypt");
    CHECK(d != NULL);
    unsigned hs = 0;
    while (d && (de = readdir(d)) != NULL) {
        if (!source_name(de->d_name))
            continue;
        hs++;
        CHECK_MSG(rank_of_header(de->d_name) > 0,
                  "include/memcrypt/%s belongs to no folder in the layering list of docs/architecture.md", de->d_name);
    }
    if (d)
        closedir(d);
    d = opendir(MC_BINARY_DIR "/generated/include/memcrypt"); /* version.h */
    CHECK(d != NULL);
    while (d && (de = readdir(d)) != NULL) {
        if (!source_name(de->d_name))
            continue;
        hs++;
        CHECK_MSG(rank_of_header(de->d_name) > 0, "generated memcrypt/%s belongs to no folder in the layering list",
                  de->d_name);
    }
    if (d)
        closedir(d);
    CHECK(hs >= 30 && hs == (unsigned)nheaders);
}

static void test_no_lower_folder_includes_a_higher_one(void)
{
    char dir[1024], shown[512];
    for (int i = 0; i < nlayers; i++) {
        bool cli = !strcmp(layers[i].name, "tools/memcrypt");
        if (snprintf(shown, sizeof shown, "%s%s", cli ? "" : "src/", layers[i].name) >= (int)sizeof shown ||
            snprintf(dir, sizeof dir, "%s/%s", MC_SOURCE_DIR, shown) >= (int)sizeof dir)
            continue;
        walk(dir, shown, layers[i].rank, cli);
    }
    for (int i = 0; i < nheaders; i++) {
        if (snprintf(shown, sizeof shown, "include/memcrypt/%s", headers[i].name) >= (int)sizeof shown ||
            snprintf(dir, sizeof dir, "%s/%s", MC_SOURCE_DIR, shown) >= (int)sizeof dir)
            continue;
        struct stat sb;
        if (stat(dir, &sb) != 0 && snprintf(dir, sizeof dir, "%s/generated/%s", MC_BINARY_DIR, shown) >= (int)sizeof dir)
            continue;
        check_file(dir, shown, headers[i].rank, true, false);
    }
    CHECK(files_seen > 150 && includes_seen > 400);
    printf("%u files, %u includes of project headers checked against %d layers\n", files_seen, includes_seen, nlayers);
}

int main(void)
{
    RUN(test_order_is_written);
    RUN(test_every_folder_and_header_is_placed);
    RUN(test_no_lower_folder_includes_a_higher_one);
    return check_summary();
}
