/* configfs-tsm folder listings (mc_tsm_list): the root holds report, the report folder its items
 * most recently made first (an rmdir keeps the others' order), an item Linux 6.7's seven
 * attributes in configfs's readdir order; an attribute is not a folder, a missing item is not
 * there, a damaged state file is -EIO; two trees on one state file (two processes) agree. */
#include <errno.h>
#include <unistd.h>

#include <memcrypt/tsm.h>

#include "check.h"

static char dir[] = "/tmp/mc-tsm-list-XXXXXX";
static char state[64];

/* The listing as "a b c" (or "-ERRNO"). */
static const char *listing(struct mc_tsm *t, const char *path)
{
    static char out[2048];
    char *b = NULL;
    size_t n = 0;
    int rc = mc_tsm_list(t, path, &b, &n);
    if (rc) {
        snprintf(out, sizeof out, "%d", rc);
        return out;
    }
    size_t o = 0;
    for (size_t i = 0; i < n && o + 2 < sizeof out; i++)
        out[o++] = b[i] ? b[i] : ' ';
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = 0;
    free(b);
    return out;
}

static void test_list(void)
{
    struct mc_tsm_config c = {.state_path = state};
    struct mc_tsm *t = NULL, *t2 = NULL;
    CHECK(mc_tsm_create(&c, &t, NULL) == MC_OK && mc_tsm_create(&c, &t2, NULL) == MC_OK);
    if (!t || !t2)
        return;
    CHECK(!strcmp(listing(t, MC_TSM_ROOT), "report"));
    CHECK(!strcmp(listing(t, MC_TSM_ROOT "/report"), ""));
    CHECK(mc_tsm_mkdir(t, "a") == 0 && mc_tsm_mkdir(t2, "b") == 0 && mc_tsm_mkdir(t, "c") == 0);
    CHECK_MSG(!strcmp(listing(t, MC_TSM_ROOT "/report"), "c b a"), "%s", listing(t, MC_TSM_ROOT "/report"));
    CHECK(mc_tsm_rmdir(t2, "b") == 0);
    CHECK(!strcmp(listing(t, MC_TSM_ROOT "/report"), "c a"));
    CHECK(mc_tsm_mkdir(t, "d") == 0);
    CHECK(!strcmp(listing(t2, MC_TSM_ROOT "/report"), "d c a"));
    CHECK_MSG(!strcmp(listing(t, MC_TSM_ROOT "/report/a"),
                      "auxblob outblob inblob privlevel_floor privlevel provider generation"),
              "%s", listing(t, MC_TSM_ROOT "/report/a"));
    CHECK(atoi(listing(t, MC_TSM_ROOT "/report/a/outblob")) == -ENOTDIR);
    CHECK(atoi(listing(t, MC_TSM_ROOT "/report/b")) == -ENOENT);
    CHECK(atoi(listing(t, MC_TSM_ROOT "/other")) == -ENOENT);
    CHECK(atoi(listing(t, "/sys/kernel/config")) == -ENOENT);
    char *b = NULL;
    size_t n = 0;
    CHECK(mc_tsm_list(NULL, MC_TSM_ROOT, &b, &n) == -EINVAL && mc_tsm_list(t, NULL, &b, &n) == -EINVAL);
    /* a damaged state file */
    FILE *f = fopen(state, "wb");
    if (f) {
        fputs("MCTSM001garbage", f);
        fclose(f);
    }
    CHECK(atoi(listing(t, MC_TSM_ROOT "/report")) == -EIO);
    CHECK(!strcmp(listing(t, MC_TSM_ROOT), "report")); /* the root needs no state */
    mc_tsm_destroy(t);
    mc_tsm_destroy(t2);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(state, sizeof state, "%s/g.tsm", dir);
    RUN(test_list);
    unlink(state);
    char lock[80];
    snprintf(lock, sizeof lock, "%s.lock", state);
    unlink(lock);
    rmdir(dir);
    return check_summary();
}
