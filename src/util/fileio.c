/* Files: inputs refused unless regular (or a pipe where a stream is allowed), outputs written as
 * a set that appears only at its commit, locks on state files. See memcrypt/fileio.h. */
#define _GNU_SOURCE /* O_TMPFILE, linkat AT_EMPTY_PATH */
#include <memcrypt/fileio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers -- */

static const char *kind_name(mode_t m)
{
    if (S_ISDIR(m))
        return "a folder";
    if (S_ISFIFO(m))
        return "a FIFO or pipe";
    if (S_ISCHR(m))
        return "a character device";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    if (S_ISLNK(m))
        return "a symbolic link";
    return "not a regular file";
}

static bool is_dev_null(const struct stat *st)
{
    return S_ISCHR(st->st_mode) && major(st->st_rdev) == 1 && minor(st->st_rdev) == 3;
}

static char *join(const char *a, const char *sep, const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    char *s = malloc(la + ls + lb + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, sep, ls);
        memcpy(s + la + ls, b, lb + 1);
    }
    return s;
}

/* The folder part of path ("." for a bare name); trailing slashes of the name are not expected. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static const char *base_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static mc_status write_all(int fd, const uint8_t *buf, size_t len, const char *path, struct mc_error *err)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return mc_seterr(err, MC_E_IO, "%s: write failed: %s", path, w < 0 ? strerror(errno) : "no progress");
        off += (size_t)w;
    }
    return MC_OK;
}

static void fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

/* 6 random characters from [A-Za-z0-9], as mkstemp uses. */
static void rand6(char out[7])
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t r[6];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^ (uint64_t)(uintptr_t)out;
        for (int i = 0; i < 6; i++, x = x * 6364136223846793005ull + 1442695040888963407ull)
            r[i] = (uint8_t)(x >> 56);
    }
    for (int i = 0; i < 6; i++)
        out[i] = al[r[i] % 62];
    out[6] = 0;
}

/* ----------------------------------------------------------------- inputs -- */

static mc_status read_sized(int fd, const struct stat *st, const char *path, size_t max_len, uint8_t **buf,
                            size_t *len, struct mc_error *err)
{
    if ((uint64_t)st->st_size > max_len)
        return mc_seterr(err, MC_E_RANGE, "%s: %lld bytes, larger than the %zu allowed", path, (long long)st->st_size,
                         max_len);
    size_t n = (size_t)st->st_size;
    uint8_t *p = malloc(n + 1);
    if (!p)
        return mc_seterr(err, MC_E_NOMEM, "%s: out of memory", path);
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            free(p);
            return mc_seterr(err, MC_E_IO, "%s: read failed: %s", path, r == 0 ? "short file" : strerror(e));
        }
        got += (size_t)r;
    }
    p[n] = 0;
    *buf = p;
    *len = n;
    return MC_OK;
}

static mc_status read_pipe(int fd, const char *path, size_t max_len, unsigned timeout_ms, uint8_t **buf, size_t *len,
                           struct mc_error *err)
{
    size_t cap = 0, n = 0;
    uint8_t *b = NULL;
    for (;;) {
        if (n == cap) {
            if (cap > max_len) {
                free(b);
                return mc_seterr(err, MC_E_RANGE, "%s: more than the %zu bytes allowed", path, max_len);
            }
            size_t nc = cap ? cap * 2 : 65536;
            if (nc > max_len + 1)
                nc = max_len + 1; /* one byte past the limit tells "too long" from "exactly the limit" */
            uint8_t *nb = realloc(b, nc + 1);
            if (!nb) {
                free(b);
                return mc_seterr(err, MC_E_NOMEM, "%s: out of memory", path);
            }
            b = nb;
            cap = nc;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            free(b);
            return mc_seterr(err, MC_E_IO, "%s: no data for %u s (a FIFO without a writer?)", path,
                             (timeout_ms + 999) / 1000);
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            return mc_seterr(err, MC_E_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return MC_OK;
}

static mc_status read_any(const char *path, size_t max_len, bool stream, unsigned timeout_ms, uint8_t **buf,
                          size_t *len, struct mc_error *err)
{
    if (!path || !buf || !len)
        return mc_seterr(err, MC_E_INVAL, "file read: NULL argument");
    /* Non-blocking open: a FIFO without a writer must not hang us before we can look at it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return mc_seterr(err, MC_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    mc_status s;
    if (fstat(fd, &st) != 0)
        s = mc_seterr(err, MC_E_IO, "%s: %s", path, strerror(errno));
    else if (S_ISREG(st.st_mode))
        s = read_sized(fd, &st, path, max_len, buf, len, err);
    else if (stream && S_ISFIFO(st.st_mode))
        s = read_pipe(fd, path, max_len, timeout_ms, buf, len, err);
    else if (stream && is_dev_null(&st))
        s = (*buf = calloc(1, 1)) ? (*len = 0, MC_OK) : mc_seterr(err, MC_E_NOMEM, "out of memory");
    else
        s = mc_seterr(err, MC_E_IO, "%s: %s, not a regular file%s", path, kind_name(st.st_mode),
                      stream ? " (only regular files, pipes and /dev/null are read)" : "");
    close(fd);
    return s;
}

mc_status mc_file_read(const char *path, size_t max_len, uint8_t **buf, size_t *len, struct mc_error *err)
{
    return read_any(path, max_len, false, 0, buf, len, err);
}

mc_status mc_file_read_stream(const char *path, size_t max_len, unsigned timeout_ms, uint8_t **buf, size_t *len,
                              struct mc_error *err)
{
    return read_any(path, max_len, true, timeout_ms, buf, len, err);
}

/* ------------------------------------------------------------ resolution -- */

mc_status mc_file_resolve(const char *path, char **out, struct mc_error *err)
{
    struct stat lst, st;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        if (stat(path, &st) != 0)
            return mc_seterr(err, MC_E_IO, "%s is a symbolic link to a missing file (%s); not following it", path,
                             strerror(errno));
        char *r = realpath(path, NULL);
        if (!r)
            return mc_seterr(err, MC_E_IO, "%s: cannot resolve the symbolic link: %s", path, strerror(errno));
        *out = r;
        return MC_OK;
    }
    *out = strdup(path);
    return *out ? MC_OK : mc_seterr(err, MC_E_NOMEM, "out of memory");
}

/* ---------------------------------------------------------------- outputs -- */

enum out_kind {
    OUT_REPLACE, /* temporary file next to dest, renamed over it */
    OUT_DIRECT,  /* device or FIFO: written in place at the commit */
    OUT_STAGED,  /* inside a staged (new) folder */
};

struct out_file {
    enum out_kind kind;
    char *dest;   /* the name to create or replace (a link's target for links) */
    char *tmp;    /* named temporary file, or NULL while it is an unnamed O_TMPFILE */
    int fd;       /* unnamed temporary file, -1 otherwise */
    uint8_t *data; /* OUT_DIRECT: the bytes */
    size_t len;
    int dir;      /* OUT_STAGED: index of the staged folder */
};

struct out_dir {
    char *dest;  /* the highest missing folder: it appears (renamed from stage) at the commit */
    char *stage; /* .NAME.tmpXXXXXX beside it */
    char **sub;  /* folders made inside stage (relative paths, in creation order) */
    size_t nsub;
};

#define OUTSET_MAX_OPEN 64 /* unnamed temporaries kept open; later ones get a name at once */

struct mc_outset {
    struct out_file *f;
    size_t nf, capf;
    struct out_dir *d;
    size_t nd, capd;
    unsigned open_fds;
    bool committed;
};

mc_status mc_outset_create(struct mc_outset **out, struct mc_error *err)
{
    if (!out)
        return mc_seterr(err, MC_E_INVAL, "output set: NULL argument");
    *out = calloc(1, sizeof **out);
    return *out ? MC_OK : mc_seterr(err, MC_E_NOMEM, "out of memory");
}

/* Strip trailing slashes (but keep "/"): "d/" and "d" name the same folder. */
static char *norm_dir(const char *dir)
{
    char *s = strdup(dir);
    if (s)
        for (size_t n = strlen(s); n > 1 && s[n - 1] == '/'; n--)
            s[n - 1] = 0;
    return s;
}

/* The staged folder holding path (which lies strictly below its dest), or -1; *rel receives
 * the part of path after dest (starting with '/'). */
static int staged_at(const struct mc_outset *o, const char *path, const char **rel)
{
    for (size_t i = 0; i < o->nd; i++) {
        size_t n = strlen(o->d[i].dest);
        if (!strncmp(path, o->d[i].dest, n) && path[n] == '/') {
            *rel = path + n;
            return (int)i;
        }
    }
    return -1;
}

/* A new staging folder for the missing folder top (its parent exists). */
static mc_status stage_new(struct mc_outset *o, char *top, unsigned mode, struct mc_error *err)
{
    if (o->nd == o->capd) {
        size_t nc = o->capd ? o->capd * 2 : 4;
        struct out_dir *nd = realloc(o->d, nc * sizeof *nd);
        if (!nd)
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        o->d = nd;
        o->capd = nc;
    }
    char *parent = dir_of(top);
    size_t sl = (parent ? strlen(parent) : 0) + strlen(base_of(top)) + 16;
    char *stage = parent ? malloc(sl) : NULL;
    mc_status s = stage ? MC_OK : mc_seterr(err, MC_E_NOMEM, "out of memory");
    for (int tries = 0; !s; tries++) {
        char r[7];
        rand6(r);
        snprintf(stage, sl, "%s/.%s.tmp%s", parent, base_of(top), r);
        if (mkdir(stage, (mode_t)mode) == 0)
            break;
        if (errno != EEXIST || tries > 100)
            s = mc_seterr(err, MC_E_IO, "cannot create the folder %s: %s", top, strerror(errno));
    }
    free(parent);
    if (s) {
        free(stage);
        return s;
    }
    o->d[o->nd++] = (struct out_dir){.dest = top, .stage = stage};
    return MC_OK;
}

mc_status mc_outset_dir(struct mc_outset *o, const char *dir, unsigned mode, struct mc_error *err)
{
    if (!o || !dir || !*dir || o->committed)
        return mc_seterr(err, MC_E_INVAL, "output set: bad folder argument");
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return mc_seterr(err, MC_E_IO, "%s exists and is %s, not a folder", dir, kind_name(st.st_mode));
        return MC_OK;
    }
    if (errno == ENOTDIR)
        return mc_seterr(err, MC_E_IO, "%s: a name on its path is not a folder", dir);
    if (errno != ENOENT)
        return mc_seterr(err, MC_E_IO, "%s: %s", dir, strerror(errno));
    char *d = norm_dir(dir);
    if (!d)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    /* Like mkdir -p: the highest missing folder is staged beside it, the rest made inside. */
    char *top = strdup(d);
    mc_status s = top ? MC_OK : mc_seterr(err, MC_E_NOMEM, "out of memory");
    const char *rel = NULL;
    int k = -1;
    while (!s) {
        for (size_t i = 0; k < 0 && i < o->nd; i++)
            if (!strcmp(o->d[i].dest, top))
                k = (int)i;
        if (k >= 0 || (k = staged_at(o, top, &rel)) >= 0)
            break; /* already staged by this set */
        if (lstat(top, &st) == 0) {
            s = mc_seterr(err, MC_E_IO, "%s is a symbolic link to a missing folder; not following it", top);
            break;
        }
        char *parent = dir_of(top);
        if (!parent) {
            s = mc_seterr(err, MC_E_NOMEM, "out of memory");
        } else if (stat(parent, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                s = mc_seterr(err, MC_E_IO, "%s is %s, not a folder", parent, kind_name(st.st_mode));
            free(parent);
            break; /* top is the highest missing folder */
        } else if (errno != ENOENT) {
            s = mc_seterr(err, MC_E_IO, "%s: %s", parent, strerror(errno));
            free(parent);
        } else {
            free(top);
            top = parent;
        }
    }
    if (!s && k < 0) {
        s = stage_new(o, top, mode, err);
        if (!s) {
            k = (int)o->nd - 1;
            top = NULL; /* owned by the staging entry now */
        }
    }
    /* The folders between the staged one and d, made inside the staging folder. */
    if (!s) {
        struct out_dir *od = &o->d[k];
        size_t n = strlen(od->dest);
        for (const char *p = d + n; !s && *p == '/';) {
            const char *next = strchr(p + 1, '/');
            size_t end = next ? (size_t)(next - d) : strlen(d);
            char *sub = strndup(d + n, end - n);
            char *full = sub ? join(od->stage, "", sub) : NULL;
            char **ns = full ? realloc(od->sub, (od->nsub + 1) * sizeof *ns) : NULL;
            if (!ns) {
                free(sub);
                free(full);
                s = mc_seterr(err, MC_E_NOMEM, "out of memory");
                break;
            }
            od->sub = ns;
            if (mkdir(full, (mode_t)mode) == 0)
                od->sub[od->nsub++] = sub;
            else if (errno == EEXIST)
                free(sub);
            else {
                s = mc_seterr(err, MC_E_IO, "cannot create the folder %s: %s", d, strerror(errno));
                free(sub);
            }
            free(full);
            if (!next)
                break;
            p = next;
        }
    }
    free(top);
    free(d);
    return s;
}

/* A named temporary file dest.tmpXXXXXX; *fd open for writing. */
static mc_status tmp_named(const char *dest, char **tmp, int *fd, struct mc_error *err)
{
    *tmp = join(dest, ".tmp", "XXXXXX");
    if (!*tmp)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    *fd = mkostemp(*tmp, O_CLOEXEC);
    if (*fd < 0) {
        int e = errno;
        free(*tmp);
        *tmp = NULL;
        return mc_seterr(err, MC_E_IO, "%s: cannot create a temporary file beside it: %s", dest, strerror(e));
    }
    return MC_OK;
}

/* Give an unnamed temporary file the name dest.tmpXXXXXX; copies it when linking is impossible. */
static mc_status tmp_link(struct out_file *f, struct mc_error *err)
{
    char *name = join(f->dest, ".tmp", "XXXXXX");
    if (!name)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", f->fd);
    size_t nl = strlen(name);
    for (int tries = 0; tries < 100; tries++) {
        char r[7];
        rand6(r);
        memcpy(name + nl - 6, r, 6);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 ||
            (errno != EEXIST && linkat(f->fd, "", AT_FDCWD, name, AT_EMPTY_PATH) == 0)) {
            close(f->fd);
            f->fd = -1;
            f->tmp = name;
            return MC_OK;
        }
        if (errno != EEXIST)
            break;
    }
    free(name);
    /* No /proc and no CAP_DAC_READ_SEARCH: copy the bytes to a named temporary file. */
    struct stat st;
    if (fstat(f->fd, &st) != 0)
        return mc_seterr(err, MC_E_IO, "%s: %s", f->dest, strerror(errno));
    uint8_t *b = malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!b)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status s = MC_OK;
    if (pread(f->fd, b, (size_t)st.st_size, 0) != st.st_size)
        s = mc_seterr(err, MC_E_IO, "%s: cannot read back the temporary file", f->dest);
    char *tmp = NULL;
    int fd = -1;
    if (!s)
        s = tmp_named(f->dest, &tmp, &fd, err);
    if (!s) {
        s = write_all(fd, b, (size_t)st.st_size, f->dest, err);
        if (!s && (fchmod(fd, st.st_mode & 07777) != 0 || fsync(fd) != 0))
            s = mc_seterr(err, MC_E_IO, "%s: %s", f->dest, strerror(errno));
        close(fd);
        if (s)
            unlink(tmp);
    }
    memset(b, 0, (size_t)st.st_size); /* outputs may be keys */
    free(b);
    if (s) {
        free(tmp);
        return s;
    }
    close(f->fd);
    f->fd = -1;
    f->tmp = tmp;
    return MC_OK;
}

static mc_status add_entry(struct mc_outset *o, struct out_file *nf, struct mc_error *err)
{
    for (size_t i = 0; i < o->nf; i++)
        if (!strcmp(o->f[i].dest, nf->dest))
            return mc_seterr(err, MC_E_INVAL, "%s is written twice by one command", nf->dest);
    if (o->nf == o->capf) {
        size_t nc = o->capf ? o->capf * 2 : 8;
        struct out_file *n = realloc(o->f, nc * sizeof *n);
        if (!n)
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        o->f = n;
        o->capf = nc;
    }
    o->f[o->nf++] = *nf;
    return MC_OK;
}

static void entry_discard(struct mc_outset *o, struct out_file *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        o->open_fds--;
    }
    if (f->tmp)
        unlink(f->tmp);
    if (f->data) {
        memset(f->data, 0, f->len);
        free(f->data);
    }
    free(f->tmp);
    free(f->dest);
    f->fd = -1;
    f->tmp = NULL;
    f->data = NULL;
    f->dest = NULL;
}

static mc_status add_replace(struct mc_outset *o, struct out_file *f, const struct stat *old, const uint8_t *buf,
                             size_t len, struct mc_error *err)
{
    char *dir = dir_of(f->dest);
    if (!dir)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    int fd = -1;
    if (o->open_fds < OUTSET_MAX_OPEN)
        fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    mc_status s = MC_OK;
    if (fd >= 0) {
        f->fd = fd;
        o->open_fds++;
    } else {
        s = tmp_named(f->dest, &f->tmp, &fd, err);
    }
    free(dir);
    if (s)
        return s;
    s = write_all(fd, buf, len, f->dest, err);
    if (!s && old && fchmod(fd, old->st_mode & 07777) != 0)
        s = mc_seterr(err, MC_E_IO, "%s: cannot keep its permissions: %s", f->dest, strerror(errno));
    if (!s && fsync(fd) != 0)
        s = mc_seterr(err, MC_E_IO, "%s: fsync failed: %s", f->dest, strerror(errno));
    if (f->tmp)
        close(fd);
    return s;
}

mc_status mc_outset_add(struct mc_outset *o, const char *path, const uint8_t *buf, size_t len, struct mc_error *err)
{
    if (!o || !path || !*path || (!buf && len) || o->committed)
        return mc_seterr(err, MC_E_INVAL, "output set: bad file argument");
    struct out_file f = {.kind = OUT_REPLACE, .fd = -1, .dir = -1};
    struct stat lst, st;
    bool have_old = false;
    mc_status s = MC_OK;
    const char *rel = NULL;
    int sd = staged_at(o, path, &rel);
    if (sd >= 0) {
        f.kind = OUT_STAGED;
        f.dir = sd;
        f.dest = join(o->d[sd].stage, "", rel);
    } else if (lstat(path, &lst) != 0) {
        if (errno != ENOENT)
            return mc_seterr(err, MC_E_IO, "%s: %s", path, strerror(errno));
        f.dest = strdup(path);
    } else {
        if (S_ISLNK(lst.st_mode)) {
            if (stat(path, &st) != 0)
                return mc_seterr(err, MC_E_IO, "%s is a symbolic link to a missing file; not following it", path);
        } else {
            st = lst;
        }
        if (S_ISREG(st.st_mode)) {
            have_old = true;
            f.dest = S_ISLNK(lst.st_mode) ? realpath(path, NULL) : strdup(path);
        } else if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
            f.kind = OUT_DIRECT;
            f.dest = strdup(path);
        } else {
            return mc_seterr(err, MC_E_IO, "%s is %s; refusing to write to it", path, kind_name(st.st_mode));
        }
    }
    if (!f.dest)
        return mc_seterr(err, MC_E_NOMEM, "%s: out of memory or unresolvable link", path);
    if (f.kind == OUT_STAGED) {
        int fd = open(f.dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            s = mc_seterr(err, MC_E_IO, "%s: %s", path, errno == EEXIST ? "written twice by one command" : strerror(errno));
        } else {
            s = write_all(fd, buf, len, path, err);
            if (!s && fsync(fd) != 0)
                s = mc_seterr(err, MC_E_IO, "%s: fsync failed: %s", path, strerror(errno));
            close(fd);
            if (s)
                unlink(f.dest);
        }
        if (s) {
            free(f.dest);
            return s;
        }
    } else if (f.kind == OUT_DIRECT) {
        f.data = malloc(len ? len : 1);
        if (!f.data) {
            free(f.dest);
            return mc_seterr(err, MC_E_NOMEM, "out of memory");
        }
        if (len)
            memcpy(f.data, buf, len);
        f.len = len;
    } else if ((s = add_replace(o, &f, have_old ? &st : NULL, buf, len, err))) {
        entry_discard(o, &f);
        return s;
    }
    s = add_entry(o, &f, err);
    if (s) {
        if (f.kind == OUT_STAGED)
            unlink(f.dest);
        entry_discard(o, &f);
    }
    return s;
}

mc_status mc_outset_add_in(struct mc_outset *o, const char *dir, const char *name, const uint8_t *buf, size_t len,
                           struct mc_error *err)
{
    if (!dir || !name)
        return mc_seterr(err, MC_E_INVAL, "output set: bad file argument");
    char *p = join(dir, "/", name);
    if (!p)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    mc_status s = mc_outset_add(o, p, buf, len, err);
    free(p);
    return s;
}

static mc_status write_direct(const struct out_file *f, struct mc_error *err)
{
    /* Non-blocking open: a FIFO nobody reads is an error, not a hang. Blocking writes after. */
    int fd = open(f->dest, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return mc_seterr(err, MC_E_IO, "%s: %s", f->dest,
                         errno == ENXIO ? "no process is reading this FIFO" : strerror(errno));
    struct stat st;
    mc_status s = MC_OK;
    if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)))
        s = mc_seterr(err, MC_E_IO, "%s changed while the command ran; not writing to it", f->dest);
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
        s = mc_seterr(err, MC_E_IO, "%s: %s", f->dest, strerror(errno));
    if (!s)
        s = write_all(fd, f->data, f->len, f->dest, err);
    if (close(fd) != 0 && !s)
        s = mc_seterr(err, MC_E_IO, "%s: %s", f->dest, strerror(errno));
    return s;
}

static void stage_remove(struct mc_outset *o, size_t di)
{
    struct out_dir *d = &o->d[di];
    for (size_t i = 0; i < o->nf; i++)
        if (o->f[i].kind == OUT_STAGED && o->f[i].dir == (int)di && o->f[i].dest)
            unlink(o->f[i].dest);
    for (size_t i = d->nsub; i-- > 0;) {
        char *full = join(d->stage, "", d->sub[i]);
        if (full)
            rmdir(full);
        free(full);
    }
    rmdir(d->stage);
}

mc_status mc_outset_commit(struct mc_outset *o, struct mc_error *err)
{
    if (!o || o->committed)
        return mc_seterr(err, MC_E_INVAL, "output set: nothing to commit");
    /* 1. Check again what each name is now: nothing may have become a folder meanwhile. */
    for (size_t i = 0; i < o->nf; i++) {
        struct stat st;
        if (o->f[i].kind == OUT_REPLACE && lstat(o->f[i].dest, &st) == 0 && !S_ISREG(st.st_mode))
            return mc_seterr(err, MC_E_IO, "%s became %s while the command ran; nothing written", o->f[i].dest,
                             kind_name(st.st_mode));
    }
    for (size_t i = 0; i < o->nd; i++) {
        struct stat st;
        if (lstat(o->d[i].dest, &st) == 0)
            return mc_seterr(err, MC_E_IO, "%s appeared while the command ran; nothing written", o->d[i].dest);
    }
    /* 2. Devices and FIFOs, then names for the unnamed temporaries. */
    mc_status s = MC_OK;
    for (size_t i = 0; !s && i < o->nf; i++)
        if (o->f[i].kind == OUT_DIRECT)
            s = write_direct(&o->f[i], err);
    for (size_t i = 0; !s && i < o->nf; i++)
        if (o->f[i].kind == OUT_REPLACE && o->f[i].fd >= 0) {
            s = tmp_link(&o->f[i], err);
            if (!s)
                o->open_fds--;
        }
    if (s)
        return s;
    /* 3. Folders, then files. */
    o->committed = true;
    for (size_t i = 0; !s && i < o->nd; i++) {
        fsync_dir(o->d[i].stage);
        if (rename(o->d[i].stage, o->d[i].dest) != 0) {
            s = mc_seterr(err, MC_E_IO, "cannot create the folder %s: %s", o->d[i].dest, strerror(errno));
            o->committed = i > 0; /* nothing in place yet when the first one fails */
            break;
        }
        free(o->d[i].stage);
        o->d[i].stage = NULL;
        char *parent = dir_of(o->d[i].dest);
        if (parent)
            fsync_dir(parent);
        free(parent);
    }
    for (size_t i = 0; !s && i < o->nf; i++) {
        struct out_file *f = &o->f[i];
        if (f->kind != OUT_REPLACE)
            continue;
        if (rename(f->tmp, f->dest) != 0) {
            s = mc_seterr(err, MC_E_IO, "%s: rename failed: %s", f->dest, strerror(errno));
            break;
        }
        free(f->tmp);
        f->tmp = NULL;
        char *dir = dir_of(f->dest);
        if (dir)
            fsync_dir(dir);
        free(dir);
    }
    return s;
}

void mc_outset_destroy(struct mc_outset *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nd; i++) {
        if (o->d[i].stage)
            stage_remove(o, i);
        for (size_t k = 0; k < o->d[i].nsub; k++)
            free(o->d[i].sub[k]);
        free(o->d[i].sub);
        free(o->d[i].stage);
        free(o->d[i].dest);
    }
    for (size_t i = 0; i < o->nf; i++) {
        if (o->f[i].kind == OUT_STAGED) {
            free(o->f[i].dest);
            o->f[i].dest = NULL;
        }
        entry_discard(o, &o->f[i]);
    }
    free(o->d);
    free(o->f);
    free(o);
}

mc_status mc_file_write_atomic(const char *path, const uint8_t *buf, size_t len, struct mc_error *err)
{
    struct mc_outset *o = NULL;
    mc_status s = mc_outset_create(&o, err);
    if (!s)
        s = mc_outset_add(o, path, buf, len, err);
    if (!s)
        s = mc_outset_commit(o, err);
    mc_outset_destroy(o);
    return s;
}

/* ------------------------------------------------------------------ locks -- */

mc_status mc_file_lock(const char *path, unsigned wait_ms, int *out, struct mc_error *err)
{
    if (!path || !out)
        return mc_seterr(err, MC_E_INVAL, "file lock: NULL argument");
    char *lp = join(path, ".lock", "");
    if (!lp)
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    /* O_NOFOLLOW: a link planted at the lock's name cannot make us create or truncate elsewhere. */
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        mc_status s = mc_seterr(err, MC_E_IO, "cannot open the lock file %s: %s", lp,
                                fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        free(lp);
        return s;
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* Waiting: the holder lets go when it closes its descriptor, which inotify reports as a close
     * of the lock file, so a waiter wakes at once instead of at its next poll. Any close wakes it
     * (other waiters come and go) and it tries again; a wake-up inotify cannot see (a lock dropped
     * without a close, a watch that cannot be made) comes from the poll interval, as before. */
    int ino = -1;
    bool watch_tried = false;
    long nap_us = 1000;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            mc_status s = mc_seterr(err, MC_E_IO, "cannot lock %s: %s", lp, strerror(errno));
            if (ino >= 0)
                close(ino);
            close(fd);
            free(lp);
            return s;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long waited = (now.tv_sec - t0.tv_sec) * 1000ll + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (waited >= (long long)wait_ms) {
            char pid[24] = {0};
            ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
            pid[n > 0 ? n : 0] = 0;
            pid[strcspn(pid, "\n")] = 0;
            mc_status s = mc_seterr(err, MC_E_BUSY, "%s is busy: another process%s%s%s holds its lock %s (waited %u.%03u s)",
                                    path, pid[0] ? " (pid " : "", pid, pid[0] ? ")" : "", lp, wait_ms / 1000,
                                    wait_ms % 1000);
            if (ino >= 0)
                close(ino);
            close(fd);
            free(lp);
            return s;
        }
        if (!watch_tried) { /* the first wait: watch the lock file, then try again */
            watch_tried = true;
            ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
            if (ino >= 0 && inotify_add_watch(ino, lp, IN_CLOSE | IN_DONT_FOLLOW) < 0) {
                close(ino);
                ino = -1;
            }
            if (ino >= 0)
                continue; /* a close before the watch existed is not lost: the lock is tried again */
        }
        long left_us = (long)((long long)wait_ms - waited) * 1000;
        long us = nap_us < left_us ? nap_us : left_us;
        if (ino >= 0) {
            struct pollfd p = {.fd = ino, .events = POLLIN};
            if (poll(&p, 1, (int)((us + 999) / 1000)) > 0) {
                char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
                while (read(ino, ev, sizeof ev) > 0) {
                    /* drained: any close is a reason to try again */
                }
            }
        } else {
            struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
        if (nap_us < 50000)
            nap_us *= 2;
    }
    if (ino >= 0)
        close(ino);
    /* Who holds it, for the message another process prints while waiting. */
    char pid[24];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) != n) {
        /* only informative */
    }
    free(lp);
    *out = fd;
    return MC_OK;
}

void mc_file_unlock(int fd)
{
    if (fd >= 0)
        close(fd); /* the last descriptor of the open file description drops the flock */
}

unsigned mc_file_remove_stale_temps(const char *path)
{
    char *dir = dir_of(path);
    const char *base = base_of(path);
    size_t bl = strlen(base);
    unsigned removed = 0;
    DIR *d = dir ? opendir(dir) : NULL;
    if (d) {
        int dfd = dirfd(d);
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            const char *n = e->d_name;
            if (strlen(n) != bl + 10 || strncmp(n, base, bl) != 0 || strncmp(n + bl, ".tmp", 4) != 0)
                continue;
            bool ok = true;
            for (int i = 0; i < 6; i++) {
                char c = n[bl + 4 + i];
                ok &= (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            }
            struct stat st;
            if (ok && fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
                unlinkat(dfd, n, 0) == 0)
                removed++;
        }
        closedir(d);
    }
    free(dir);
    return removed;
}
