#include <memcrypt/fileio.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

mc_status mc_file_read(const char *path, size_t max_len, uint8_t **buf, size_t *len, struct mc_error *err)
{
    if (!path || !buf || !len)
        return mc_seterr(err, MC_E_INVAL, "file read: NULL argument");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mc_seterr(err, MC_E_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mc_seterr(err, MC_E_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_len) {
        close(fd);
        return mc_seterr(err, MC_E_RANGE, "%s: %lld bytes, larger than the %zu allowed", path,
                         (long long)st.st_size, max_len);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n + 1);
    if (!p) {
        close(fd);
        return mc_seterr(err, MC_E_NOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = errno;
            free(p);
            close(fd);
            return mc_seterr(err, MC_E_IO, "%s: read failed: %s", path, r == 0 ? "short file" : strerror(e));
        }
        got += (size_t)r;
    }
    close(fd);
    p[n] = 0;
    *buf = p;
    *len = n;
    return MC_OK;
}

mc_status mc_file_write_atomic(const char *path, const uint8_t *buf, size_t len, struct mc_error *err)
{
    if (!path || (!buf && len))
        return mc_seterr(err, MC_E_INVAL, "file write: NULL argument");
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    char *dircopy = strdup(path);
    if (!tmp || !dircopy) {
        free(tmp);
        free(dircopy);
        return mc_seterr(err, MC_E_NOMEM, "out of memory");
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
    mc_status rc = MC_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = mc_seterr(err, MC_E_IO, "%s: cannot create temporary file: %s", path, strerror(errno));
        goto out;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = mc_seterr(err, MC_E_IO, "%s: write failed: %s", path, strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    if (rc == MC_OK && fsync(fd) != 0)
        rc = mc_seterr(err, MC_E_IO, "%s: fsync failed: %s", path, strerror(errno));
    close(fd);
    if (rc == MC_OK && rename(tmp, path) != 0)
        rc = mc_seterr(err, MC_E_IO, "%s: rename failed: %s", path, strerror(errno));
    if (rc != MC_OK) {
        unlink(tmp);
        goto out;
    }
    int dfd = open(dirname(dircopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    free(tmp);
    free(dircopy);
    return rc;
}
