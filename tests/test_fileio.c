/* Files against hostile paths (memcrypt/fileio.h): inputs that are FIFOs, devices or folders are
 * refused without blocking; kernel-style streams are read from pipes with a limit and a timeout;
 * output sets put every file in place at the commit or none; devices and FIFOs are written in
 * place, links followed to their target, dangling links refused; the state-file lock excludes a
 * second holder and says who holds it; stale temporary files are recognised by name. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <memcrypt/fileio.h>

#include "check.h"

static char dir[256];

static const char *P(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void put(const char *name, const char *text)
{
    FILE *f = fopen(P(name), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static int is(const char *path, const char *text)
{
    uint8_t *b = NULL;
    size_t n = 0;
    if (mc_file_read(path, 1 << 20, &b, &n, NULL) != MC_OK)
        return 0;
    int ok = n == strlen(text) && !memcmp(b, text, n);
    free(b);
    return ok;
}

/* Entries of the test folder whose name contains `part` (temporary files, staging folders). */
static int count_names(const char *part)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strstr(e->d_name, part) != NULL;
    if (d)
        closedir(d);
    return n;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void test_inputs(void)
{
    uint8_t *b = NULL;
    size_t n = 0;
    struct mc_error e;
    put("in.txt", "hello");
    CHECK(is(P("in.txt"), "hello"));
    /* Too large: refused from fstat's size, before reading. */
    CHECK(mc_file_read(P("in.txt"), 4, &b, &n, &e) == MC_E_RANGE && strstr(e.msg, "5 bytes"));

    /* A FIFO without a writer: refused at once, never a hang. */
    CHECK(mkfifo(P("fifo"), 0600) == 0);
    double t0 = now();
    CHECK(mc_file_read(P("fifo"), 100, &b, &n, &e) == MC_E_IO && strstr(e.msg, "FIFO"));
    CHECK(now() - t0 < 2.0);
    CHECK(mc_file_read(dir, 100, &b, &n, &e) == MC_E_IO && strstr(e.msg, "folder"));
    CHECK(mc_file_read("/dev/null", 100, &b, &n, &e) == MC_E_IO && strstr(e.msg, "character device"));
    CHECK(mc_file_read(P("missing"), 100, &b, &n, &e) == MC_E_IO && strstr(e.msg, "No such file"));

    /* Streams: /dev/null is empty; /dev/zero and other devices are refused without reading. */
    CHECK(mc_file_read_stream("/dev/null", 100, 1000, &b, &n, &e) == MC_OK && n == 0);
    free(b);
    t0 = now();
    CHECK(mc_file_read_stream("/dev/zero", 1u << 30, 1000, &b, &n, &e) == MC_E_IO &&
          strstr(e.msg, "character device"));
    CHECK(now() - t0 < 1.0);
    /* A FIFO nobody writes: an error after the timeout (and not before it). */
    t0 = now();
    CHECK(mc_file_read_stream(P("fifo"), 100, 30, &b, &n, &e) == MC_E_IO && strstr(e.msg, "no data"));
    CHECK(now() - t0 >= 0.029 && now() - t0 < 5.0);
    /* A FIFO with a writer: read to EOF; past the limit: refused. */
    for (int round = 0; round < 2; round++) {
        pid_t w = fork();
        if (w == 0) {
            int fd = open(P("fifo"), O_WRONLY);
            const char msg[] = "kernel bytes";
            ssize_t k = fd >= 0 ? write(fd, msg, sizeof msg - 1) : -1;
            _exit(k == (ssize_t)sizeof msg - 1 ? 0 : 1);
        }
        size_t max = round == 0 ? 100 : 5;
        mc_status s = mc_file_read_stream(P("fifo"), max, 10000, &b, &n, &e);
        if (round == 0) {
            CHECK(s == MC_OK && n == 12 && !memcmp(b, "kernel bytes", 12));
            if (s == MC_OK)
                free(b);
        } else {
            CHECK(s == MC_E_RANGE);
        }
        int ws;
        waitpid(w, &ws, 0);
    }
    unlink(P("fifo"));
    unlink(P("in.txt"));
}

static void test_output_set(void)
{
    struct mc_error e;
    struct mc_outset *o;
    /* All or nothing: the second name is a folder, so neither file appears, and no temporary
     * file is left. */
    CHECK(mkdir(P("vcek.der"), 0755) == 0);
    CHECK(mc_outset_create(&o, &e) == MC_OK);
    CHECK(mc_outset_add(o, P("ark-key.pem"), (const uint8_t *)"key", 3, &e) == MC_OK);
    CHECK(mc_outset_add(o, P("vcek.der"), (const uint8_t *)"cert", 4, &e) == MC_E_IO && strstr(e.msg, "folder"));
    mc_outset_destroy(o);
    CHECK(access(P("ark-key.pem"), F_OK) != 0);
    CHECK(count_names(".tmp") == 0);
    rmdir(P("vcek.der"));

    /* Committed: both appear; new files are 0600; an existing file keeps its mode. */
    put("old.txt", "old");
    chmod(P("old.txt"), 0644);
    CHECK(mc_outset_create(&o, &e) == MC_OK);
    CHECK(mc_outset_add(o, P("a.bin"), (const uint8_t *)"A", 1, &e) == MC_OK);
    CHECK(mc_outset_add(o, P("old.txt"), (const uint8_t *)"new", 3, &e) == MC_OK);
    CHECK(mc_outset_add(o, P("a.bin"), (const uint8_t *)"B", 1, &e) == MC_E_INVAL); /* twice */
    CHECK(access(P("a.bin"), F_OK) != 0 && is(P("old.txt"), "old"));           /* not yet */
    CHECK(mc_outset_commit(o, &e) == MC_OK);
    mc_outset_destroy(o);
    struct stat st;
    CHECK(is(P("a.bin"), "A") && is(P("old.txt"), "new"));
    CHECK(stat(P("a.bin"), &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(stat(P("old.txt"), &st) == 0 && (st.st_mode & 0777) == 0644);
    CHECK(count_names(".tmp") == 0);

    /* A new folder is staged beside its destination and appears whole at the commit. */
    CHECK(mc_outset_create(&o, &e) == MC_OK);
    CHECK(mc_outset_dir(o, P("out"), 0755, &e) == MC_OK);
    CHECK(mc_outset_add_in(o, P("out"), "x", (const uint8_t *)"x", 1, &e) == MC_OK);
    CHECK(access(P("out"), F_OK) != 0 && count_names(".out.tmp") == 1);
    mc_outset_destroy(o); /* not committed: nothing */
    CHECK(access(P("out"), F_OK) != 0 && count_names(".out.tmp") == 0);
    CHECK(mc_outset_create(&o, &e) == MC_OK);
    CHECK(mc_outset_dir(o, P("out/"), 0755, &e) == MC_OK);
    CHECK(mc_outset_add_in(o, P("out"), "x", (const uint8_t *)"x", 1, &e) == MC_OK);
    CHECK(mc_outset_add_in(o, P("out"), "y", (const uint8_t *)"y", 1, &e) == MC_OK);
    CHECK(mc_outset_commit(o, &e) == MC_OK);
    mc_outset_destroy(o);
    CHECK(is(P("out/x"), "x") && is(P("out/y"), "y") && count_names(".out.tmp") == 0);
    CHECK(mc_outset_create(&o, &e) == MC_OK);
    CHECK(mc_outset_dir(o, P("a.bin"), 0755, &e) == MC_E_IO && strstr(e.msg, "not a folder"));
    CHECK(mc_outset_dir(o, P("a.bin/deeper"), 0755, &e) == MC_E_IO && strstr(e.msg, "not a folder"));
    mc_outset_destroy(o);
    /* Several levels (mkdir -p): only the highest missing folder shows, as a staging folder,
     * until the commit; without one nothing is left. */
    for (int commit = 0; commit < 2; commit++) {
        CHECK(mc_outset_create(&o, &e) == MC_OK);
        CHECK(mc_outset_dir(o, P("p/q/r"), 0700, &e) == MC_OK);
        CHECK(mc_outset_dir(o, P("p/q/s"), 0700, &e) == MC_OK); /* same staging folder */
        CHECK(mc_outset_add_in(o, P("p/q/r"), "k", (const uint8_t *)"k", 1, &e) == MC_OK);
        CHECK(mc_outset_add_in(o, P("p/q/s"), "l", (const uint8_t *)"l", 1, &e) == MC_OK);
        CHECK(mc_outset_add_in(o, P("p"), "top", (const uint8_t *)"t", 1, &e) == MC_OK);
        CHECK(access(P("p"), F_OK) != 0 && count_names(".p.tmp") == 1);
        if (commit)
            CHECK(mc_outset_commit(o, &e) == MC_OK);
        mc_outset_destroy(o);
        CHECK(count_names(".p.tmp") == 0);
    }
    CHECK(is(P("p/q/r/k"), "k") && is(P("p/q/s/l"), "l") && is(P("p/top"), "t"));
    struct stat sq;
    CHECK(stat(P("p/q"), &sq) == 0 && S_ISDIR(sq.st_mode) && (sq.st_mode & 0777) == 0700);
    unlink(P("p/q/r/k"));
    unlink(P("p/q/s/l"));
    unlink(P("p/top"));
    rmdir(P("p/q/r"));
    rmdir(P("p/q/s"));
    rmdir(P("p/q"));
    rmdir(P("p"));
    /* A dangling link on the way is refused. */
    CHECK(symlink("gone", P("dl")) == 0);
    CHECK(mc_outset_create(&o, &e) == MC_OK);
    CHECK(mc_outset_dir(o, P("dl/x"), 0755, &e) == MC_E_IO && strstr(e.msg, "symbolic link"));
    mc_outset_destroy(o);
    CHECK(access(P("gone"), F_OK) != 0);
    unlink(P("dl"));
    unlink(P("out/x"));
    unlink(P("out/y"));
    rmdir(P("out"));
    unlink(P("a.bin"));
    unlink(P("old.txt"));
}

static void test_output_kinds(void)
{
    struct mc_error e;
    struct stat st;
    /* Device nodes of our own where we may make them (root): a regression must never replace the
     * system's /dev/null or /dev/full. Elsewhere /dev is not writable, so it cannot. */
    char null_dev[512], full_dev[512];
    snprintf(null_dev, sizeof null_dev, "%s", P("null"));
    snprintf(full_dev, sizeof full_dev, "%s", P("full"));
    if (mknod(null_dev, S_IFCHR | 0666, makedev(1, 3)) != 0 || mknod(full_dev, S_IFCHR | 0666, makedev(1, 7)) != 0) {
        unlink(null_dev);
        snprintf(null_dev, sizeof null_dev, "/dev/null");
        snprintf(full_dev, sizeof full_dev, "/dev/full");
    }
    /* A device is written in place, never replaced by a regular file. */
    CHECK(mc_file_write_atomic(null_dev, (const uint8_t *)"x", 1, &e) == MC_OK);
    CHECK(stat(null_dev, &st) == 0 && S_ISCHR(st.st_mode));
    /* ... and its errors are reported; the other files of the set do not appear. */
    struct mc_outset *o;
    CHECK(mc_outset_create(&o, &e) == MC_OK);
    CHECK(mc_outset_add(o, P("f.bin"), (const uint8_t *)"f", 1, &e) == MC_OK);
    CHECK(mc_outset_add(o, full_dev, (const uint8_t *)"x", 1, &e) == MC_OK);
    CHECK(mc_outset_commit(o, &e) == MC_E_IO && strstr(e.msg, "No space"));
    mc_outset_destroy(o);
    CHECK(stat(full_dev, &st) == 0 && S_ISCHR(st.st_mode));
    if (strncmp(null_dev, "/dev/", 5)) {
        unlink(null_dev);
        unlink(full_dev);
    }
    CHECK(access(P("f.bin"), F_OK) != 0 && count_names(".tmp") == 0);

    /* A FIFO without a reader: an error, not a hang. With a reader: the bytes arrive. */
    CHECK(mkfifo(P("out.fifo"), 0600) == 0);
    CHECK(mc_file_write_atomic(P("out.fifo"), (const uint8_t *)"x", 1, &e) == MC_E_IO && strstr(e.msg, "reading"));
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t r = fork();
    if (r == 0) {
        close(p[0]);
        int fd = open(P("out.fifo"), O_RDONLY);
        char b[16] = {0};
        ssize_t k = fd >= 0 ? read(fd, b, sizeof b) : -1;
        _exit(k == 5 && !memcmp(b, "hello", 5) ? 0 : 1);
    }
    int ok = -1, ws = 0;
    for (int i = 0; i < 200 && ok != MC_OK; i++) { /* until the reader has opened its end */
        ok = mc_file_write_atomic(P("out.fifo"), (const uint8_t *)"hello", 5, NULL);
        if (ok != MC_OK)
            usleep(10000);
    }
    CHECK(ok == MC_OK);
    CHECK(waitpid(r, &ws, 0) == r && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    close(p[0]);
    close(p[1]);
    CHECK(stat(P("out.fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
    unlink(P("out.fifo"));

    /* A link to a file: the target is replaced, the link stays a link. */
    put("target", "one");
    chmod(P("target"), 0640);
    CHECK(symlink("target", P("link")) == 0);
    CHECK(mc_file_write_atomic(P("link"), (const uint8_t *)"two", 3, &e) == MC_OK);
    CHECK(lstat(P("link"), &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(is(P("target"), "two"));
    CHECK(stat(P("target"), &st) == 0 && (st.st_mode & 0777) == 0640);
    char *res = NULL;
    CHECK(mc_file_resolve(P("link"), &res, &e) == MC_OK && res && strstr(res, "/target"));
    free(res);
    /* A dangling link is refused (nothing is created behind it). */
    CHECK(symlink("nowhere", P("dangling")) == 0);
    CHECK(mc_file_write_atomic(P("dangling"), (const uint8_t *)"x", 1, &e) == MC_E_IO && strstr(e.msg, "missing"));
    CHECK(access(P("nowhere"), F_OK) != 0);
    CHECK(mc_file_resolve(P("dangling"), &res, &e) == MC_E_IO);
    /* A folder as output. */
    CHECK(mc_file_write_atomic(dir, (const uint8_t *)"x", 1, &e) == MC_E_IO && strstr(e.msg, "folder"));
    unlink(P("link"));
    unlink(P("dangling"));
    unlink(P("target"));
}

static void test_lock(void)
{
    struct mc_error e;
    int a = -1, b = -1;
    CHECK(mc_file_lock(P("state"), 0, &a, &e) == MC_OK);
    /* A second holder (another open file description, as another process has) is refused... */
    double t0 = now();
    CHECK(mc_file_lock(P("state"), 20, &b, &e) == MC_E_BUSY);
    CHECK(now() - t0 >= 0.019);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    CHECK_MSG(strstr(e.msg, "busy") && strstr(e.msg, pid) && strstr(e.msg, "waited 0.020 s"), "%s", e.msg);
    /* ... until the first lets go. */
    mc_file_unlock(a);
    CHECK(mc_file_lock(P("state"), 0, &b, &e) == MC_OK);
    mc_file_unlock(b);
    /* A waiter gets the lock once another process lets go of it (here a child that holds it until
     * the parent has started waiting, give or take: the result is the same either way). */
    int go[2];
    CHECK(pipe(go) == 0);
    pid_t kid = fork();
    if (kid == 0) {
        int k = -1;
        char c = mc_file_lock(P("state"), 0, &k, NULL) == MC_OK ? 'y' : 'n';
        if (write(go[1], &c, 1) != 1)
            _exit(1);
        usleep(20000);
        mc_file_unlock(k);
        _exit(c == 'y' ? 0 : 1);
    }
    char held = 0;
    CHECK(read(go[0], &held, 1) == 1 && held == 'y');
    CHECK(mc_file_lock(P("state"), 10000, &b, &e) == MC_OK);
    mc_file_unlock(b);
    int ws = 0;
    CHECK(waitpid(kid, &ws, 0) == kid && WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    close(go[0]);
    close(go[1]);
    /* A link planted at the lock's name is not followed. */
    unlink(P("state.lock"));
    CHECK(symlink("elsewhere", P("state.lock")) == 0);
    CHECK(mc_file_lock(P("state"), 0, &a, &e) == MC_E_IO);
    CHECK(access(P("elsewhere"), F_OK) != 0);
    unlink(P("state.lock"));
}

static void test_stale_temps(void)
{
    put("st", "state");
    put("st.tmpAbC123", "old secret");
    put("st.tmpZZZZZ9", "old secret");
    put("st.tmpAbC12", "not ours: 5 characters");
    put("st.tmpAbC12-", "not ours: 7 characters");
    put("other.tmpAbC123", "another file's");
    CHECK(mkdir(P("st.tmpDIRxyz"), 0755) == 0); /* not a regular file: left alone */
    CHECK(mc_file_remove_stale_temps(P("st")) == 2);
    CHECK(access(P("st.tmpAbC123"), F_OK) != 0 && access(P("st.tmpZZZZZ9"), F_OK) != 0);
    CHECK(is(P("st.tmpAbC12"), "not ours: 5 characters") && is(P("st.tmpAbC12-"), "not ours: 7 characters"));
    CHECK(is(P("other.tmpAbC123"), "another file's") && is(P("st"), "state"));
    rmdir(P("st.tmpDIRxyz"));
    unlink(P("st.tmpAbC12"));
    unlink(P("st.tmpAbC12-"));
    unlink(P("other.tmpAbC123"));
    unlink(P("st"));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof dir, "%s/fileio-XXXXXX", MC_BINARY_DIR);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_inputs);
    RUN(test_output_set);
    RUN(test_output_kinds);
    RUN(test_lock);
    RUN(test_stale_temps);
    if (rmdir(dir) != 0)
        fprintf(stderr, "left over in %s\n", dir);
    return check_summary();
}
